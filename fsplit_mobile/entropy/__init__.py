"""Factorized-prior entropy model and its integer CDF tables (CompressAI-compatible)."""

from .bottleneck import EntropyBottleneck
from .cdf import TableBuildError, pmf_to_quantized_cdf

__all__ = ["EntropyBottleneck", "TableBuildError", "pmf_to_quantized_cdf"]
