"""Rate-point sets: several single-rate checkpoints of one model, shipped as one file (issue 20).

A bottleneck-unit checkpoint holds its rate points natively (one unit each, :mod:`.units`). Any other model of our
format gets variable rate by a set::

    {"format": "fsplit-rate-points/1", "default": "r0", "meta": {...},
     "points": [{"name": "r0", "checkpoint": <an fsplit-checkpoint/1 envelope>}, ...]}

Every point is a complete checkpoint of the same architecture, input size and normalisation (for the lightweight
encoder: the same transform with another quantisation step and its own entropy model, or a fine-tuned copy).
Loading the file as one model (:func:`~.layouts.load_checkpoint`) gives the default point; :func:`load_point_set`
gives all of them, and ``fsplit-export`` exports them as the rate points of one artifact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..bottleneck_unit import ARCHITECTURE as UNITS_ARCHITECTURE
from ..split import SplitModel
from .errors import CheckpointError
from .io import FORMAT, read_checkpoint, save_atomically

POINT_SET_FORMAT = "fsplit-rate-points/1"
SHARED_CONFIG = ("input_size", "mean", "std")  # what every point must agree on (the device sees one input)


def is_point_set(obj: Any) -> bool:
    return isinstance(obj, Mapping) and obj.get("format") == POINT_SET_FORMAT


def points_of(obj: Any, context: str) -> tuple[str, dict[str, dict]]:
    """(default name, {name: checkpoint envelope}) of a set, in file order, after checking its structure."""
    if not is_point_set(obj):
        raise CheckpointError(f"{context}not a {POINT_SET_FORMAT} file")
    points = obj.get("points")
    if not isinstance(points, list) or not points:
        raise CheckpointError(f"{context}'points' must be a non-empty list")
    named: dict[str, dict] = {}
    for i, point in enumerate(points):
        if not isinstance(point, Mapping) or not isinstance(point.get("name"), str) or not point["name"]:
            raise CheckpointError(f"{context}point {i} has no name")
        name = point["name"]
        if name in named:
            raise CheckpointError(f"{context}rate point name {name!r} appears twice")
        ckpt = point.get("checkpoint")
        if not isinstance(ckpt, Mapping) or ckpt.get("format") != FORMAT:
            raise CheckpointError(f"{context}point {name!r} does not hold a {FORMAT} checkpoint")
        if ckpt.get("architecture") == UNITS_ARCHITECTURE:
            raise CheckpointError(
                f"{context}point {name!r} is a bottleneck-unit checkpoint: units are combined into one unit "
                "checkpoint (train combine), not into a set"
            )
        named[name] = dict(ckpt)
    first = next(iter(named.values()))
    for name, ckpt in named.items():
        if ckpt.get("architecture") != first.get("architecture"):
            raise CheckpointError(
                f"{context}point {name!r} is a {ckpt.get('architecture')!r}, the set's first point a "
                f"{first.get('architecture')!r}: one set holds one architecture"
            )
        for key in SHARED_CONFIG:
            a, b = (c.get("config", {}).get(key) for c in (first, ckpt))
            if list(a or []) != list(b or []):
                raise CheckpointError(f"{context}point {name!r} has {key} {b}, the first point {a}")
    default = obj.get("default", next(iter(named)))
    if default not in named:
        raise CheckpointError(f"{context}default rate point {default!r} is not in the set ({', '.join(named)})")
    return default, named


def combine_points(
    paths: list[str | os.PathLike],
    out: str | os.PathLike,
    names: list[str] | None = None,
    default: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """One set file from single-rate checkpoints of our format (named `names`, default r0, r1, ...)."""
    names = names or [f"r{i}" for i in range(len(paths))]
    if len(names) != len(paths):
        raise CheckpointError(f"{len(paths)} checkpoints but {len(names)} names")
    points = []
    for path, name in zip(paths, names):
        ckpt = read_checkpoint(path)
        if not isinstance(ckpt, Mapping) or ckpt.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not a {FORMAT} checkpoint (a set holds checkpoints of our format)")
        points.append({"name": name, "checkpoint": dict(ckpt)})
    obj = {"format": POINT_SET_FORMAT, "default": default or names[0], "points": points, "meta": dict(meta or {})}
    points_of(obj, f"{out}: ")  # the same checks a reader makes
    return save_atomically(obj, out)


def _load(path: Path, ckpt: dict, name: str, with_server: bool) -> SplitModel:
    """One point: the bundled-model architecture with its server part, any other registry architecture as an
    fsplit-checkpoint/1 file is loaded (points_of refused everything else)."""
    from .fsplit import DEFAULT_MODEL_ARCHITECTURE, default_model_from, load_fsplit
    from .source import Source

    if ckpt.get("architecture") == DEFAULT_MODEL_ARCHITECTURE:
        model = default_model_from(path, ckpt, with_server=with_server)
    else:
        model = load_fsplit(Source.of(path, ckpt), "")
    model.meta["rate_point"] = name
    return model


def load_point_set(path: str | os.PathLike, with_server: bool = True) -> dict[str, SplitModel]:
    """Every point of a set file as a SplitModel, default point first."""
    p = Path(path)
    default, named = points_of(read_checkpoint(p), f"{p}: ")
    order = [default, *(n for n in named if n != default)]
    return {name: _load(p, named[name], name, with_server) for name in order}


def single_checkpoint(path: str | os.PathLike, name: str, out: str | os.PathLike) -> Path:
    """Write point `name` of a set as an ordinary single-rate checkpoint file (for a per-point export)."""
    p = Path(path)
    _, named = points_of(read_checkpoint(p), f"{p}: ")
    if name not in named:
        raise CheckpointError(f"{p}: no rate point {name!r} (has: {', '.join(named)})")
    return save_atomically(named[name], out)


# ---- checkpoint layout (listed in layouts.py) ------------------------------------------------------------------
def match_point_set(src) -> str | None:
    return "" if is_point_set(src.obj) else None


def load_point_set_layout(src, prefix: str) -> SplitModel:
    """Loaded as one model, a set is its default point."""
    default, named = points_of(src.obj, src.context)
    return _load(src.path, named[default], default, True)
