"""What every export target implements, and the errors export raises.

An export runs four steps per target, in order (api.py drives them):

    captured = exporter.capture(module, example_input, req)          # graph capture (torch.export, ONNX, ...)
    captured = exporter.quantize(captured, module, calib_batches, req)  # identity when req.quantization == "none"
    lowered  = exporter.lower(captured, stage_dir, req)              # writes the model file(s) into stage_dir
    result   = exporter.verify(stage_dir, lowered, inputs, req)      # runs the written file in its real runtime

Conventions shared by all targets:
- `module` is the eager `ExportableEncoder` (GDN already baked). It takes NCHW float32 images; when
  `req.normalization_in_graph` is true they are pixel/255 in [0, 1], otherwise already (x - mean) / std.
  Call this layout the *canonical input*.
- `calib_batches` and verify `inputs` are canonical inputs (torch tensors for calibration, float32 numpy
  arrays of shape (1, 3, H, W) for verify). A target whose file wants another layout or quantized I/O converts
  them itself (fsplit_mobile.runtime.preprocess.to_model_input does it from the input spec).
- `verify` returns outputs in the *canonical output* layout: NCHW, int32 symbols (req.output == "symbols") or
  float32 latent (req.output == "latent"), one array per input, de-quantized/transposed back if needed.
  A target that cannot run its file on this host returns `VerifyResult(executed=False,
  reason="not executed on this platform", ...)` and never fakes outputs.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

QUANTIZATIONS = ("none", "int8", "int8-dynamic", "int8-weights")
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


class CheckpointError(ExportError):
    """A missing or unreadable checkpoint (export-side wrapper; the models package may raise its own)."""


class VerificationError(ExportError):
    """The exported file ran but its outputs do not match the eager model closely enough."""


class ToolMissingError(ExportError):
    """A runtime/converter package the target needs is not importable."""


# ---- data passed between the steps ---------------------------------------------------------------------------
@dataclass
class ExportRequest:
    """Everything a target needs to know about one export (one target, one quantization)."""

    model_id: str
    target: str
    quantization: str = "none"
    input_size: tuple[int, int] = (224, 224)          # (H, W)
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    normalization_in_graph: bool = True
    output: str = "symbols"                          # symbols | latent
    latent_shape: tuple[int, int, int] = (0, 0, 0)   # (C, H, W) of the encoder output
    options: dict = field(default_factory=dict)      # per-target options from the recipe ([targets.<name>])

    def __post_init__(self):
        if self.quantization not in QUANTIZATIONS:
            raise ExportError(f"unknown quantization {self.quantization!r}; choose one of: {', '.join(QUANTIZATIONS)}")
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
class Captured:
    """Result of capture/quantize. `program` is whatever the target works on (ExportedProgram, ONNX model...)."""

    program: Any
    quantized: bool = False
    notes: list[str] = field(default_factory=list)   # what was done (e.g. "first conv kept in fp32")
    extra: dict = field(default_factory=dict)


@dataclass
class TensorSpec:
    """Input/output of a written model file, as recorded in manifest.json."""

    name: str
    shape: tuple[int, ...]
    dtype: str                      # float32 | int32 | int8 | uint8
    layout: str = "NCHW"            # NCHW | NHWC
    quantization: dict | None = None  # {"scale": s, "zero_point": z, "dtype": "int8"} when the I/O is quantized

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "layout": self.layout,
                "quantization": self.quantization}


@dataclass
class LoweredModel:
    """Files written by `lower` (role -> path relative to stage_dir) and the I/O spec of the encoder file."""

    files: dict[str, str]           # at least {"encoder": "encoder.<ext>"}
    input: TensorSpec
    output: TensorSpec
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)     # target facts for the report (ops, delegated nodes, ...)

    @property
    def encoder_file(self) -> str:
        return self.files["encoder"]


@dataclass
class VerifyResult:
    """Outputs of the written file in its runtime (canonical layout), or why it could not run."""

    executed: bool
    outputs: list[np.ndarray] | None = None
    reason: str | None = None       # required when executed is False ("not executed on this platform")
    runtime: str | None = None      # e.g. "executorch.runtime", "onnxruntime CPUExecutionProvider"
    checks: dict = field(default_factory=dict)      # what was validated instead (spec checks for Core ML)

    def __post_init__(self):
        if not self.executed and not self.reason:
            raise ValueError("VerifyResult(executed=False) needs a reason")
        if self.executed and self.outputs is None:
            raise ValueError("VerifyResult(executed=True) needs outputs")


# ---- the exporter interface ----------------------------------------------------------------------------------
class TargetExporter(abc.ABC):
    """One export target. Subclasses set the class attributes and implement the four steps."""

    name: str = ""                               # executorch | coreml | tflite | onnx
    file_ext: str = ""                           # ".pte" | ".mlpackage" | ".tflite" | ".onnx"
    quantizations: tuple[str, ...] = ("none",)   # supported values of ExportRequest.quantization
    layout: str = "NCHW"                         # input layout of the written file

    def check_request(self, req: ExportRequest) -> None:
        """Raise a clear error when this target cannot do what `req` asks."""
        if req.quantization not in self.quantizations:
            raise UnsupportedQuantizationError(self.name, req.quantization, self.quantizations)

    @abc.abstractmethod
    def capture(self, module: torch.nn.Module, example_input: torch.Tensor, req: ExportRequest) -> Captured:
        ...

    @abc.abstractmethod
    def quantize(self, captured: Captured, module: torch.nn.Module, calib_batches: Iterable[torch.Tensor],
                 req: ExportRequest) -> Captured:
        """Return `captured` unchanged when req.quantization == 'none'."""

    @abc.abstractmethod
    def lower(self, captured: Captured, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        ...

    @abc.abstractmethod
    def verify(self, stage_dir: Path, lowered: LoweredModel, inputs: Sequence[np.ndarray],
               req: ExportRequest) -> VerifyResult:
        ...

    def needs_calibration(self, req: ExportRequest) -> bool:
        """Whether `quantize` uses calibration images (static activation quantization)."""
        return req.quantization == "int8"

    def tool_versions(self) -> dict[str, str]:
        """Versions of the converter/runtime packages this target used (for the manifest)."""
        return {}

    def can_execute(self) -> bool:
        """Whether this host can run the written file (Core ML on Linux cannot)."""
        return True


def package_version(dist: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"
