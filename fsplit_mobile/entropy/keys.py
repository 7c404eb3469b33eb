"""The entropy bottleneck's parameter names, old and new: the one place where they are mapped.

CompressAI before 1.2.6 registered the density model's parameters as ``_matrix{i}``, ``_bias{i}``, ``_factor{i}``
(FrankenSplit's checkpoints carry these); later versions use the parameter lists ``matrices.{i}``, ``biases.{i}``,
``factors.{i}``. :class:`~fsplit_mobile.entropy.bottleneck.EntropyBottleneck` loads either spelling, and the
checkpoint importer names a missing key the way the checkpoint spells it; both go through these functions.
"""

from __future__ import annotations

import re

_LEGACY = re.compile(r"^_(matrix|bias|factor)(\d+)$")
_CURRENT = re.compile(r"^(matrices|biases|factors)\.(\d+)$")
_LEGACY_TO_CURRENT = {"matrix": "matrices", "bias": "biases", "factor": "factors"}
_CURRENT_TO_LEGACY = {v: k for k, v in _LEGACY_TO_CURRENT.items()}


def is_legacy_name(name: str) -> bool:
    """True for a pre-1.2.6 parameter name (``_matrix0``), relative to the bottleneck."""
    return _LEGACY.match(name) is not None


def current_name(name: str) -> str:
    """``_matrix0`` -> ``matrices.0``; any other name unchanged."""
    m = _LEGACY.match(name)
    return f"{_LEGACY_TO_CURRENT[m.group(1)]}.{m.group(2)}" if m else name


def legacy_name(name: str) -> str:
    """``matrices.0`` -> ``_matrix0``; any other name unchanged."""
    m = _CURRENT.match(name)
    return f"_{_CURRENT_TO_LEGACY[m.group(1)]}{m.group(2)}" if m else name


def matrix_index(name: str) -> int | None:
    """i for the i-th density-model matrix under either spelling, else None."""
    m = _CURRENT.match(current_name(name))
    return int(m.group(2)) if m and m.group(1) == "matrices" else None
