"""Bottleneck-unit checkpoints (architecture ``bottleneck-unit-lite0``, :mod:`fsplit_mobile.models.bottleneck_unit`):
write (:func:`save_units`), read strictly (:func:`units_from_payload`, :func:`load_units`,
:func:`load_bottleneck_units`), merge several into one multi-rate file (:func:`combine_units`), and the layout
pair the layout registry lists (:func:`match_units_layout`, :func:`load_units_layout`).

The unit I/O lives here, beside the other layouts, and imports the architecture module; the architecture module
imports nothing of the checkpoint package (so the registry, which builds units, sits below every layout).
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import bottleneck_unit as bu
from ..split import SplitModel
from .errors import MissingKeysError, ShapeMismatchError, UnexpectedKeysError
from .io import check_envelope, read_checkpoint, save_atomically


def save_units(path, config: dict, units: list[bu.Unit], meta: dict | None = None) -> Path:
    """Write the checkpoint atomically. Every unit's entropy bottleneck must have its tables (update())."""
    state = {}
    for unit in units:
        if not unit.entropy_bottleneck.has_tables():
            raise bu.BottleneckUnitError(f"unit {unit.name!r}: entropy bottleneck has no CDF tables (call update())")
        for part, module in unit.modules().items():
            for key, value in module.state_dict().items():
                state[f"units.{unit.name}.{part}.{key}"] = value.detach().cpu().clone()
    payload = {
        "format": bu.FORMAT,
        "architecture": bu.ARCHITECTURE,
        "config": config,
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    path = save_atomically(payload, path)
    os.chmod(path, 0o644)  # mkstemp creates 0600; a checkpoint is data others read
    return path


def units_from_payload(payload: dict, context: str = "") -> tuple[dict, list[bu.Unit]]:
    """(config, units) from a loaded checkpoint dict, strictly: a unit named in the config but absent from the
    state dict, or keys that belong to no unit, are refused with their names."""
    config = payload.get("config")
    state = payload.get("state_dict")
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise bu.BottleneckUnitError(f"{context}'config' and 'state_dict' must be dicts")
    if not config.get("units"):
        raise bu.BottleneckUnitError(f"{context}config lists no units")
    units = [bu.build_unit(config["split_block"], u) for u in config["units"]]
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
            raise bu.BottleneckUnitError(f"{context}unit {unit.name!r} has no stored CDF tables")
    known = tuple(f"units.{u.name}.{p}." for u in units for p in ("encoder", "entropy_bottleneck", "decoder"))
    extra = sorted(k for k in state if not k.startswith(known))
    if extra:
        raise UnexpectedKeysError(extra, f"{context}keys of no listed unit: ")
    for unit in units:
        for module in unit.modules().values():
            module.eval()
    return config, units


def load_units(path, with_server: bool = True) -> dict[str, SplitModel]:
    """Every rate point of a bottleneck-unit checkpoint, in config order."""
    payload = read_checkpoint(path)
    context = f"{path}: "
    if not isinstance(payload, dict) or payload.get("architecture") != bu.ARCHITECTURE:
        raise bu.BottleneckUnitError(f"{context}not a {bu.ARCHITECTURE} checkpoint")
    config, units = units_from_payload(payload, context)
    return bu.split_models(config, units, with_server, payload.get("meta"), str(path))


def load_bottleneck_units(path, unit: str | None = None, with_server: bool = True) -> SplitModel:
    """One rate point (default: the config's `default_unit`) as a SplitModel."""
    models = load_units(path, with_server)
    config = next(iter(models.values())).meta["config"]
    name = unit or config.get("default_unit") or next(iter(models))
    if name not in models:
        raise bu.BottleneckUnitError(f"{path}: no rate point {name!r} (has: {', '.join(models)})")
    return models[name]


# ---- checkpoint layout (listed in layouts.py) ------------------------------------------------------------------
def match_units_layout(src) -> str | None:
    """The checkpoint Layout's match: an fsplit-checkpoint/1 envelope of this architecture."""
    obj = src.obj
    return "" if obj.get("format") == bu.FORMAT and obj.get("architecture") == bu.ARCHITECTURE else None


def load_units_layout(src, prefix: str) -> SplitModel:
    """The checkpoint Layout's load: the default rate point (load_units gives all of them)."""
    payload = check_envelope(src.obj, src.context, bu.ARCHITECTURE)
    config, units = units_from_payload(payload, src.context)
    models = bu.split_models(config, units, True, payload.get("meta"), str(src.path))
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
    units, split, metas = [], None, {}
    for path in paths:
        config, loaded = units_from_payload(read_checkpoint(path), f"{path}: ")
        if split is not None and config["split_block"] != split:
            raise bu.BottleneckUnitError(f"{path}: split_block {config['split_block']} differs from {split}")
        split = config["split_block"]
        for unit in loaded:
            metas[str(path)] = read_checkpoint(path).get("meta", {})
            units.append(unit)
    names = names or [f"r{i}" for i in range(len(units))]
    if len(names) != len(units):
        raise bu.BottleneckUnitError(f"{len(names)} names for {len(units)} units")
    for unit, name in zip(units, names):
        unit.name = name
        unit.config = dict(unit.config, name=name)
    if split is None:
        raise bu.BottleneckUnitError("no checkpoints given to combine")
    config = bu.model_config(split, [u.config for u in units], model_id, default_unit)
    return save_units(out, config, units, {**(meta or {}), "sources": metas})
