"""The errors export raises and the data its stages pass around (requests, tensor specs, lowered files).

The stages themselves are in stages.py, the backend contract in backends/base.py. Conventions:
- The *canonical input* is what the eager ExportableEncoder takes: NCHW float32 images, pixel/255 in [0, 1]
  when `req.normalization_in_graph`, otherwise already (x - mean) / std. Calibration and verify inputs are
  canonical (torch tensors for calibration, float32 numpy arrays of shape (1, 3, H, W) for verify).
- The *canonical output* is NCHW, int32 symbols (req.output == "symbols") or float32 latent ("latent"),
  one array per input, de-quantized/transposed back from the file's own layout if needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# A missing, unreadable or unusable checkpoint raises the checkpoint reader's own error (its one definition; a
# ValueError, not an ExportError), re-exported here for the code that imports it from the export package.
from ..models.checkpoint.errors import CheckpointError as CheckpointError

# Every quantization any target knows: from the one description of the targets (runtime/targets.py).
from ..runtime.targets import QUANTIZATIONS as QUANTIZATIONS

OUTPUT_KINDS = ("symbols", "latent")


# ---- errors -------------------------------------------------------------------------------------------------
class ExportError(Exception):
    """Any export failure. `str(err)` is one clear line meant for the user."""


class UnknownTargetError(ExportError):
    def __init__(self, target: str, known: Sequence[str]):
        self.target = target
        self.known = tuple(known)
        super().__init__(f"unknown export target {target!r}; choose one of: {', '.join(self.known)}, all")


class UnsupportedQuantizationError(ExportError):
    def __init__(self, target: str, quantization: str, supported: Sequence[str]):
        self.target = target
        self.quantization = quantization
        super().__init__(
            f"target {target!r} does not support quantization {quantization!r}; supported: {', '.join(supported)}"
        )


class UnsupportedOpError(ExportError):
    """An operator the target cannot lower. Names the op, the target and what to do about it."""

    def __init__(self, op: str, target: str, hint: str = ""):
        self.op = op
        self.target = target
        self.hint = hint
        msg = f"operator {op!r} is not supported by target {target!r}"
        super().__init__(f"{msg}; hint: {hint}" if hint else msg)


class RecipeError(ExportError):
    """A recipe file that cannot be read or has a bad field (the message names file and field)."""


class CalibrationError(ExportError):
    """No usable calibration images (missing folder, no images, unreadable files)."""


class VerificationError(ExportError):
    """The exported file ran but its outputs do not match the eager model closely enough."""


class ToolMissingError(ExportError):
    """A runtime/converter package the target needs is not importable."""


def check_quantization(quantization: str) -> None:
    if quantization not in QUANTIZATIONS:
        raise ExportError(f"unknown quantization {quantization!r}; choose one of: {', '.join(QUANTIZATIONS)}")


# ---- data passed between the steps ---------------------------------------------------------------------------
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


@dataclass
class TensorSpec:
    """Input/output of a written model file, as recorded in manifest.json."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # float32 | int32 | int8 | uint8
    layout: str = "NCHW"  # NCHW | NHWC
    quantization: dict | None = None  # {"scale": s, "zero_point": z, "dtype": "int8"} when the I/O is quantized

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "layout": self.layout,
            "quantization": self.quantization,
        }


@dataclass
class LoweredModel:
    """Files written by `lower` (role -> path relative to stage_dir) and the I/O spec of the encoder file."""

    files: dict[str, str]  # at least {"encoder": "encoder.<ext>"}
    input: TensorSpec
    output: TensorSpec
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # target facts for the report (ops, delegated nodes, ...)
    accelerator: dict | None = None  # manifest "accelerator" block (kind, name, SoC, versions, placement)

    @property
    def encoder_file(self) -> str:
        return self.files["encoder"]


@dataclass
class VerifyResult:
    """Outputs of the written file in its runtime (canonical layout), or why it could not run."""

    executed: bool
    outputs: list[np.ndarray] | None = None
    reason: str | None = None  # required when executed is False ("not executed on this platform")
    runtime: str | None = None  # e.g. "executorch.runtime", "onnxruntime CPUExecutionProvider"
    checks: dict = field(default_factory=dict)  # what was validated instead (spec checks for Core ML)

    def __post_init__(self):
        if not self.executed and not self.reason:
            raise ValueError("VerifyResult(executed=False) needs a reason")
        if self.executed and self.outputs is None:
            raise ValueError("VerifyResult(executed=True) needs outputs")


def package_version(dist: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"
