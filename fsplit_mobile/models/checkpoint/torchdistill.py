"""torchdistill training checkpoints (``{"model": state_dict, ...}``) of FrankenSplit and sc2bench.

- FrankenSplit: ``compression_module.g_a.rb{1,2,3}.*`` (the QuantizableSimpleAnalysisNetwork2 encoder) and
  ``compression_module.entropy_bottleneck.*`` (CompressAI 1.2.2 names) form the device part;
  ``compression_module.g_s.*``, ``backbone.*`` ... are the server's (named in ``meta["server_keys"]``).
- sc2bench: ``bottleneck_layer.encoder.*`` (FPBasedResNetBottleneck) and ``bottleneck_layer.entropy_bottleneck.*``;
  ``bottleneck_layer.decoder.*``, ``layer2.*`` ... are the server's. A detection model nests them under
  ``backbone.body.``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .. import registry
from ..split import SplitModel
from .errors import UnknownLayoutError
from .source import Source, key_groups, split_model
from .strict import Part, anchor, eb_filters, eb_part, finish_tables, load_parts


def _find_prefix(keys: Iterable[str], marker: str) -> str | None:
    """The text before `marker` in the first key containing it at a module boundary."""
    for key in keys:
        i = key.find(marker)
        if i == 0 or (i > 0 and key[i - 1] == "."):
            return key[:i]
    return None


def _server_meta(src: Source, layout: str, tables: str, device_prefixes: tuple[str, ...]) -> dict:
    server_keys = sorted(k for k in src.keys() if not k.startswith(device_prefixes))
    return {
        "layout": layout,
        "tables": tables,
        "server_keys": server_keys,
        "server_key_groups": key_groups(server_keys),
    }


def match_frankensplit(src: Source) -> str | None:
    outer = _find_prefix(src.keys(), "compression_module.g_a.")
    return None if outer is None else outer + "compression_module."


def load_frankensplit(src: Source, outer: str) -> SplitModel:
    state, context = src.state or {}, src.context
    g_a, eb_prefix = outer + "g_a.", outer + "entropy_bottleneck."
    for other in ("h_a.", "h_s.", "gaussian_conditional."):
        if any(k.startswith(outer + other) for k in state):
            raise UnknownLayoutError(
                f"{context}FrankenSplit checkpoint with a hyperprior ({outer}{other}* keys): only the "
                "factorized-prior (FP) FrankenSplit encoder is supported"
            )
    channels = tuple(anchor(state, f"{g_a}rb{i}.conv1.weight", 4, context)[0] for i in (1, 2, 3))
    in_channels = anchor(state, f"{g_a}rb1.conv1.weight", 4, context)[1]
    cfg = registry.resolve_config(
        "frankensplit-fp",
        {"channels": channels, "in_channels": in_channels, "eb_filters": eb_filters(state, eb_prefix, context)},
    )
    device = registry.build_device_model("frankensplit-fp", cfg)

    def to_ours(s: str) -> str | None:
        m = re.match(r"^rb([1-9]\d*)\.(.+)$", s)
        return f"layers.{int(m.group(1)) - 1}.{m.group(2)}" if m else None

    def to_source(s: str) -> str:
        m = re.match(r"^layers\.(\d+)\.(.+)$", s)
        return f"rb{int(m.group(1)) + 1}.{m.group(2)}" if m else s

    load_parts(
        state,
        [Part(device.encoder, g_a, to_ours, to_source), eb_part(device.entropy_bottleneck, eb_prefix, state)],
        context,
    )
    tables = finish_tables(device.entropy_bottleneck, eb_prefix, context)
    return split_model(
        src, "frankensplit-fp", cfg, device, None, _server_meta(src, "frankensplit", tables, (g_a, eb_prefix))
    )


def match_sc2bench(src: Source) -> str | None:
    keys = src.keys()
    outer = _find_prefix(keys, "bottleneck_layer.encoder.")
    if outer is None:
        outer = _find_prefix(keys, "bottleneck_layer.entropy_bottleneck.")
    return None if outer is None else outer + "bottleneck_layer."


def load_sc2bench(src: Source, outer: str) -> SplitModel:
    state, context = src.state or {}, src.context
    enc, eb_prefix = outer + "encoder.", outer + "entropy_bottleneck."
    if any(k.startswith(outer + "g_a.") or k.startswith(outer + "gaussian_conditional.") for k in state):
        raise UnknownLayoutError(
            f"{context}sc2bench checkpoint with a hyperprior bottleneck ({outer}g_a/h_a keys): only the "
            "FP-based (factorized prior) entropic student is supported"
        )
    shapes = [anchor(state, f"{enc}{i}.weight", 4, context) for i in (0, 2, 4)]
    cfg = registry.resolve_config(
        "entropic-student",
        {
            "num_channels": tuple(s[0] for s in shapes),
            "in_channels": shapes[0][1],
            "eb_filters": eb_filters(state, eb_prefix, context),
        },
    )
    device = registry.build_device_model("entropic-student", cfg)
    load_parts(
        state,
        [
            Part(device.encoder, enc, lambda s: "layers." + s, lambda s: s[len("layers.") :]),
            eb_part(device.entropy_bottleneck, eb_prefix, state),
        ],
        context,
    )
    tables = finish_tables(device.entropy_bottleneck, eb_prefix, context)
    return split_model(
        src, "entropic-student", cfg, device, None, _server_meta(src, "sc2bench", tables, (enc, eb_prefix))
    )
