"""The errors export raises: ExportError and its kinds. `str(err)` is one clear line meant for the user.

A leaf module (it imports nothing of the export package), so every stage, backend and the CLI can import it.
"""

from __future__ import annotations

from collections.abc import Sequence

# A missing, unreadable or unusable checkpoint raises the checkpoint reader's own error (its one definition; a
# ValueError, not an ExportError), re-exported here for the code that imports it from the export package.
from ..models.checkpoint.errors import CheckpointError as CheckpointError


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
