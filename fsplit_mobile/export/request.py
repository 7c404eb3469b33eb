"""What one export is asked to do: ExportRequest (one target, one quantization), checked when it is made.

Conventions (the stages are in stages.py, the backend contract in backends/base.py, what the stages return in
results.py):
- The *canonical input* is what the eager ExportableEncoder takes: NCHW float32 images, pixel/255 in [0, 1]
  when `req.normalization_in_graph`, otherwise already (x - mean) / std. Calibration and verify inputs are
  canonical (torch tensors for calibration, float32 numpy arrays of shape (1, 3, H, W) for verify).
- The *canonical output* is NCHW, int32 symbols (req.output == "symbols") or float32 latent ("latent"),
  one array per input, de-quantized/transposed back from the file's own layout if needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Every quantization any target knows: from the one description of the targets (runtime/targets.py).
from ..runtime.targets import QUANTIZATIONS
from .errors import ExportError

OUTPUT_KINDS = ("symbols", "latent")


def check_quantization(quantization: str) -> None:
    if quantization not in QUANTIZATIONS:
        raise ExportError(f"unknown quantization {quantization!r}; choose one of: {', '.join(QUANTIZATIONS)}")


@dataclass
class ExportRequest:
    """Everything a target needs to know about one export (one target, one quantization)."""

    model_id: str
    target: str
    quantization: str = "none"
    input_size: tuple[int, int] = (224, 224)  # (H, W)
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    normalization_in_graph: bool = True
    output: str = "symbols"  # symbols | latent
    latent_shape: tuple[int, int, int] = (0, 0, 0)  # (C, H, W) of the encoder output
    options: dict = field(default_factory=dict)  # per-target options from the recipe ([targets.<name>])

    def __post_init__(self):
        check_quantization(self.quantization)
        if self.output not in OUTPUT_KINDS:
            raise ExportError(f"unknown output kind {self.output!r}; choose one of: {', '.join(OUTPUT_KINDS)}")
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Canonical (NCHW) input shape."""
        return (1, 3, *self.input_size)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        """Canonical (NCHW) output shape."""
        return (1, *self.latent_shape)

    @property
    def output_dtype(self) -> str:
        return "int32" if self.output == "symbols" else "float32"
