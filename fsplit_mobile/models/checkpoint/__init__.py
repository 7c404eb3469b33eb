"""The one checkpoint reader and writer: load a split-computing checkpoint into a :class:`SplitModel`.

:func:`load_checkpoint` reads the file safely (:mod:`.io`), recognises its layout through the layout registry
(:mod:`.layouts`) and fills the model strictly (:mod:`.strict`). Layouts:

- ``fsplit-checkpoint/1`` (ours, :mod:`.fsplit`), written by :func:`save_checkpoint`, for every registry
  architecture including the bundled default model ``frankensplit-lite0``;
- FrankenSplit and sc2bench torchdistill checkpoints (:mod:`.torchdistill`);
- CompressAI's bmshj2018-factorized state dict (:mod:`.compressai`).

Every error derives from :class:`CheckpointError` (:mod:`.errors`).
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ..split import DeviceModel
from .errors import (
    CheckpointError,
    CheckpointReadError,
    InvalidTablesError,
    MissingKeysError,
    ShapeMismatchError,
    StoredTablesError,
    UnexpectedKeysError,
    UnknownLayoutError,
    UnsafeCheckpointError,
)
from .fsplit import DEFAULT_MODEL_ARCHITECTURE
from .io import FORMAT, read_checkpoint, save_atomically, write_checkpoint
from .layouts import LAYOUTS, load_checkpoint, register_layout
from .source import Layout, Source

__all__ = [
    "DEFAULT_MODEL_ARCHITECTURE",
    "FORMAT",
    "LAYOUTS",
    "CheckpointError",
    "CheckpointReadError",
    "InvalidTablesError",
    "Layout",
    "MissingKeysError",
    "ShapeMismatchError",
    "Source",
    "StoredTablesError",
    "UnexpectedKeysError",
    "UnknownLayoutError",
    "UnsafeCheckpointError",
    "load_checkpoint",
    "read_checkpoint",
    "register_layout",
    "save_atomically",
    "save_checkpoint",
    "write_checkpoint",
]


def save_checkpoint(
    path: str | os.PathLike,
    architecture: str,
    config: dict,
    device: DeviceModel,
    decoder: nn.Module | None = None,
    meta: dict | None = None,
) -> Path:
    """Write an ``fsplit-checkpoint/1`` file (atomically) that :func:`load_checkpoint` reads back."""
    parts = {"encoder": device.encoder, "entropy_bottleneck": device.entropy_bottleneck, "decoder": decoder}
    return write_checkpoint(path, architecture, config, parts, meta)
