"""What a backend's stages return: the files `lower` wrote with their I/O specs, and what `verify` found.

LoweredModel (files, TensorSpec of the encoder's input and output, notes, report details, accelerator block) and
VerifyResult (the written file's outputs in the canonical layout of request.py, or why it could not run here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
