"""Every error the checkpoint reader and writer raise; all derive from :class:`CheckpointError`.

These are the only definitions: ``fsplit_mobile.export`` and ``fsplit_mobile.models.frankensplit_lite0`` re-export
them rather than wrapping them in look-alikes. Bad stored CDF tables raise :class:`StoredTablesError`, which is
both a CheckpointError and the coder's :class:`~fsplit_mobile.codec.errors.InvalidTablesError`, so either
``except`` catches it.
"""

from __future__ import annotations

from ...codec.errors import InvalidTablesError

_MAX_NAMED = 20

__all__ = [
    "CheckpointError",
    "CheckpointReadError",
    "InvalidTablesError",
    "MissingKeysError",
    "ShapeMismatchError",
    "StoredTablesError",
    "UnexpectedKeysError",
    "UnknownLayoutError",
    "UnsafeCheckpointError",
    "name_list",
]


def name_list(keys: list[str]) -> str:
    """The first keys, comma-separated, and how many there are in all when some are left out."""
    shown = ", ".join(keys[:_MAX_NAMED])
    return shown + (f" ... ({len(keys)} in all)" if len(keys) > _MAX_NAMED else "")


class CheckpointError(ValueError):
    """Base class of every checkpoint error (a ValueError: the file's content is not what the loader needs)."""


class CheckpointReadError(CheckpointError):
    """The file is missing, unreadable, or not a PyTorch checkpoint."""


class UnsafeCheckpointError(CheckpointReadError):
    """The file needs arbitrary unpickling (a class outside torch's weights-only allowlist)."""

    def __init__(self, message: str, global_name: str):
        super().__init__(message)
        self.global_name = global_name


class UnknownLayoutError(CheckpointError):
    """A readable checkpoint whose layout (or architecture) is not one this loader knows."""


class MissingKeysError(CheckpointError):
    """Keys the model needs are absent; `keys` lists them (and `unexpected` the surplus found alongside)."""

    def __init__(self, keys: list[str], context: str = "", unexpected: list[str] | None = None):
        self.keys = list(keys)
        self.unexpected = list(unexpected or [])
        extra = f"; unexpected key(s): {name_list(self.unexpected)}" if self.unexpected else ""
        super().__init__(f"{context}missing key(s): {name_list(self.keys)}{extra}")


class UnexpectedKeysError(CheckpointError):
    """Keys no part of the model takes; `keys` lists them."""

    def __init__(self, keys: list[str], context: str = ""):
        self.keys = list(keys)
        super().__init__(f"{context}unexpected key(s): {name_list(self.keys)}")


class ShapeMismatchError(CheckpointError):
    """Tensors whose shape differs from the model's; `mismatches` holds (key, expected, found)."""

    def __init__(self, mismatches: list[tuple[str, tuple, tuple]], context: str = ""):
        self.mismatches = list(mismatches)
        text = "; ".join(
            f"{k}: expected {tuple(e)}, checkpoint has {tuple(a)}" for k, e, a in self.mismatches[:_MAX_NAMED]
        )
        super().__init__(f"{context}wrong tensor shape(s): {text}")


class StoredTablesError(CheckpointError, InvalidTablesError):
    """Entropy-coder tables stored in the checkpoint that cannot be valid CDFs (or are absent where required)."""
