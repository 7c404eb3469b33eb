"""Architectures by name: build the device part (encoder + entropy bottleneck) and, where one exists, the decoder.

Names (used by checkpoints in the `fsplit-checkpoint/1` format and by export recipes):
- ``frankensplit-fp``: FrankenSplit's shallow FP encoder; config ``channels`` (3 ints, default 48, 64, 48).
- ``entropic-student``: SC2-benchmark FP-based ResNet bottleneck encoder; config ``num_channels`` (96, 48, 24).
- ``bmshj2018-factorized``: CompressAI FactorizedPrior g_a (and g_s as decoder); config ``N`` (128), ``M`` (192).
- ``frankensplit-lite0``: head distillation onto EfficientNet-Lite0 at block 5 (:mod:`.frankensplit_lite0`): the
  FrankenSplit encoder (``encoder_channels``, whose last entry is ``latent_channels``) or, with ``encoder``
  ``{"kind": "light", ...}``, the lightweight encoder of :mod:`.light_encoder`, FeatureSynthesis decoder (``decoder``), and
  what its server tail and inputs are (``teacher``, ``split_block``, ``input_size``, ``mean``, ``std``, ``model_id``).
- ``bottleneck-unit-lite0``: frozen EfficientNet-Lite0 head + a bottleneck unit (:mod:`.bottleneck_unit`); config
  ``split_block``, ``latent_channels``, ``width``, ``stride``. Its checkpoints have their own layout (units by name).
Every architecture also takes ``in_channels`` (3) and ``eb_filters`` (the entropy bottleneck's filters, 3,3,3,3).
New architectures are added with :func:`register`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..entropy.bottleneck import EntropyBottleneck
from .decoders import FeatureSynthesis
from .entropic_student import EntropicStudentEncoder
from .factorized_prior import FactorizedPriorDecoder, FactorizedPriorEncoder
from .frankensplit import FrankenSplitEncoder
from .light_encoder import LightEncoder
from .split import DeviceModel


class ArchitectureError(ValueError):
    """Unknown architecture name or a config it does not accept."""


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    defaults: dict[str, Any]
    make_encoder: Callable[[dict[str, Any]], nn.Module]
    make_decoder: Callable[[dict[str, Any]], nn.Module] | None = None
    # ImageNet normalisation for task models; CompressAI image codecs take pixel/255 as is.
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)


_COMMON_DEFAULTS: dict[str, Any] = {"in_channels": 3, "eb_filters": (3, 3, 3, 3)}

LITE0_CONFIG: dict[str, Any] = {
    "model_id": "frankensplit-lite0",
    "encoder_channels": [48, 64, 48],
    "latent_channels": 48,
    "decoder": {"in_channels": 48, "out_channels": 40, "width": 96, "blocks": 1},
    # {"kind": "frankensplit"}: the FrankenSplit encoder of ``encoder_channels``; {"kind": "light", ...}: the
    # lightweight encoder of :mod:`.light_encoder` (its keys; its ``latent_channels`` must equal the top-level one)
    "encoder": {"kind": "frankensplit"},
    "teacher": "efficientnet-lite0",
    "split_block": 5,
    "input_size": [224, 224],
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}


def _lite0_encoder(c: dict[str, Any]) -> nn.Module:
    kind = c["encoder"].get("kind")
    if kind == "light":
        if c["encoder"].get("latent_channels", c["latent_channels"]) != c["latent_channels"]:
            raise ValueError(
                f"encoder latent_channels {c['encoder']['latent_channels']} != latent_channels {c['latent_channels']}"
            )
        return LightEncoder({**c["encoder"], "latent_channels": c["latent_channels"]}, in_channels=c["in_channels"])
    if kind != "frankensplit":
        raise ValueError(f"encoder kind must be 'frankensplit' or 'light', got {kind!r}")
    channels = tuple(c["encoder_channels"])
    if len(channels) != 3 or channels[-1] != c["latent_channels"]:
        raise ValueError(
            f"encoder_channels {list(channels)} must be 3 widths ending in latent_channels {c['latent_channels']}"
        )
    return FrankenSplitEncoder(channels, in_channels=c["in_channels"])


def _bottleneck_unit(name: str) -> Callable[[dict[str, Any]], nn.Module]:
    """A builder from :mod:`.bottleneck_unit`, imported on first use (it loads the teacher package)."""

    def make(c: dict[str, Any]) -> nn.Module:
        from . import bottleneck_unit

        return getattr(bottleneck_unit, name)(c)

    return make


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            "frankensplit-fp",
            "FrankenSplit shallow variational bottleneck encoder (3 strided residual blocks)",
            {"channels": (48, 64, 48)},
            lambda c: FrankenSplitEncoder(tuple(c["channels"]), in_channels=c["in_channels"]),
        ),
        Architecture(
            "entropic-student",
            "SC2-benchmark entropic student encoder (FPBasedResNetBottleneck, GDN1)",
            {"num_channels": (96, 48, 24)},
            lambda c: EntropicStudentEncoder(tuple(c["num_channels"]), in_channels=c["in_channels"]),
        ),
        Architecture(
            "bmshj2018-factorized",
            "CompressAI FactorizedPrior (Balle et al. 2018) analysis transform; g_s as the server decoder",
            {"N": 128, "M": 192},
            lambda c: FactorizedPriorEncoder(c["N"], c["M"], in_channels=c["in_channels"]),
            lambda c: FactorizedPriorDecoder(c["N"], c["M"], out_channels=c["in_channels"]),
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
        ),
        Architecture(
            "frankensplit-lite0",
            "bundled default model: FrankenSplit encoder, FeatureSynthesis decoder, EfficientNet-Lite0 tail (server)",
            LITE0_CONFIG,
            _lite0_encoder,
            lambda c: FeatureSynthesis(**c["decoder"]),
            mean=(0.485, 0.456, 0.406),
            std=(0.229, 0.224, 0.225),
        ),
        Architecture(
            "bottleneck-unit-lite0",
            "bottleneck unit (Datta et al. 2022) after split_block blocks of the frozen EfficientNet-Lite0; "
            "checkpoints hold one unit per rate point (models/bottleneck_unit.py)",
            {"split_block": 15, "latent_channels": 32, "width": 128, "stride": 1, "act": "gdn"},
            _bottleneck_unit("registry_encoder"),
            _bottleneck_unit("registry_decoder"),
        ),
    )
}


def register(arch: Architecture) -> Architecture:
    """Add an architecture under its name (refusing a second one of the same name); returns it."""
    if arch.name in ARCHITECTURES:
        raise ArchitectureError(f"architecture {arch.name!r} is already registered")
    ARCHITECTURES[arch.name] = arch
    return arch


def architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ArchitectureError(f"unknown architecture {name!r} (known: {known})") from None


def resolve_config(name: str, config: dict | None = None) -> dict:
    """The architecture's defaults overridden by `config`; unknown keys raise ArchitectureError."""
    arch = architecture(name)
    full = copy.deepcopy({**_COMMON_DEFAULTS, **arch.defaults})  # nested defaults must not be shared
    unknown = sorted(set(config or {}) - set(full))
    if unknown:
        raise ArchitectureError(
            f"architecture {name!r} does not take config key(s) {', '.join(unknown)} (it takes: {', '.join(sorted(full))})"
        )
    full.update(copy.deepcopy(config or {}))
    return full


def _latent_channels(encoder: nn.Module) -> int:
    """The width of the encoder's latent, which every encoder declares as `latent_channels`."""
    channels: object = getattr(encoder, "latent_channels", None)
    if not isinstance(channels, int):
        raise ArchitectureError(f"encoder {type(encoder).__name__} does not declare an int latent_channels")
    return channels


def build_device_model(name: str, config: dict | None = None) -> DeviceModel:
    """Freshly initialised encoder + EntropyBottleneck(latent channels) for architecture `name`."""
    cfg = resolve_config(name, config)
    try:
        encoder = architecture(name).make_encoder(cfg)
        eb = EntropyBottleneck(_latent_channels(encoder), filters=tuple(cfg["eb_filters"]))
    except (TypeError, ValueError) as exc:
        raise ArchitectureError(f"cannot build {name!r} with config {cfg}: {exc}") from exc
    return DeviceModel(encoder, eb)


def build_decoder(name: str, config: dict | None = None) -> nn.Module | None:
    """The server-side decoder of `name`, or None when the architecture has none built in."""
    arch = architecture(name)
    if arch.make_decoder is None:
        return None
    cfg = resolve_config(name, config)
    try:
        return arch.make_decoder(cfg)
    except (TypeError, ValueError) as exc:
        raise ArchitectureError(f"cannot build the decoder of {name!r} with config {cfg}: {exc}") from exc
