"""The layout registry: every checkpoint layout :func:`load_checkpoint` knows, tried in order.

Adding a layout means writing its ``match``/``load`` pair (see :class:`~.source.Layout`) and listing it here or
passing it to :func:`register_layout`. Envelopes of our own format come first (they are recognised by their
``format`` entry), then the foreign state-dict layouts, most specific prefix first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .. import bottleneck_unit
from ..split import SplitModel
from . import compressai, fsplit, point_set, torchdistill, units
from .errors import UnknownLayoutError, name_list
from .io import read_checkpoint
from .source import Layout, Source, key_groups

LAYOUTS: list[Layout] = [
    Layout(
        "rate-point-set",
        f"a rate-point set ({point_set.POINT_SET_FORMAT}, one checkpoint per rate point)",
        point_set.match_point_set,
        point_set.load_point_set_layout,
    ),
    Layout(
        "default-model",
        f"the bundled default model ({fsplit.DEFAULT_MODEL_ARCHITECTURE})",
        fsplit.match_default_model,
        fsplit.load_default_model_layout,
    ),
    Layout(
        "bottleneck-units",
        f"bottleneck units ({bottleneck_unit.ARCHITECTURE}, one unit per rate point)",
        units.match_units_layout,
        units.load_units_layout,
    ),
    Layout("fsplit-checkpoint/1", "fsplit-checkpoint/1", fsplit.match_fsplit, fsplit.load_fsplit),
    Layout(
        "frankensplit",
        "FrankenSplit (compression_module.g_a.*)",
        torchdistill.match_frankensplit,
        torchdistill.load_frankensplit,
    ),
    Layout(
        "sc2bench", "sc2bench (bottleneck_layer.encoder.*)", torchdistill.match_sc2bench, torchdistill.load_sc2bench
    ),
    Layout(
        "compressai",
        "CompressAI bmshj2018-factorized (g_a.*, entropy_bottleneck.*)",
        compressai.match_compressai,
        compressai.load_compressai,
    ),
]


def register_layout(layout: Layout, before: str | None = None) -> None:
    """Add a layout, at the end or ahead of the layout named `before` (a more specific one must come first)."""
    if any(known.name == layout.name for known in LAYOUTS):
        raise ValueError(f"checkpoint layout {layout.name!r} is already registered")
    names = [known.name for known in LAYOUTS]
    LAYOUTS.insert(names.index(before) if before is not None else len(LAYOUTS), layout)


def detect(src: Source) -> tuple[Layout, str]:
    """The first registered layout matching `src`, with the key prefix it matched under."""
    for layout in LAYOUTS:
        prefix = layout.match(src)
        if prefix is not None:
            return layout, prefix
    if src.state is None:
        keys = ", ".join(sorted(map(str, src.obj))[:20])
        raise UnknownLayoutError(f"{src.context}no state dict found (top-level keys: {keys or 'none'})")
    raise UnknownLayoutError(
        f"{src.context}unknown checkpoint layout (key groups: {name_list(list(key_groups(src.keys())))}); "
        f"known: {', '.join(layout.known_as for layout in LAYOUTS)}"
    )


def load_checkpoint(path: str | os.PathLike, trust_pickle: bool = False) -> SplitModel:
    """Read `path`, detect its layout, and return the split model (device part with tables; server if known)."""
    p = Path(path)
    obj = read_checkpoint(p, trust_pickle=trust_pickle)
    if not isinstance(obj, Mapping):
        raise UnknownLayoutError(
            f"{p}: expected a dict (a state dict or a training checkpoint), found {type(obj).__name__}"
        )
    src = Source.of(p, obj)
    layout, prefix = detect(src)
    return layout.load(src, prefix)
