"""CompressAI's bmshj2018-factorized state dict: ``g_a.*``, ``entropy_bottleneck.*`` and optionally ``g_s.*``.

N and M are read from the tensor shapes; ``g_s`` becomes the server part (a decoder with no task tail).
Hyperprior and autoregressive models are refused by name.
"""

from __future__ import annotations

from .. import registry
from ..split import ServerModel, SplitModel
from .errors import UnknownLayoutError
from .source import Source, split_model
from .strict import Part, anchor, eb_filters, eb_part, finish_tables, load_parts, refuse_unclaimed

_ARCH = "bmshj2018-factorized"
_OTHER_MODELS = ("h_a.", "h_s.", "gaussian_conditional.", "context_prediction.", "entropy_parameters.")


def match_compressai(src: Source) -> str | None:
    keys = src.keys()
    if any(k.startswith("g_a.") for k in keys) and any(k.startswith("entropy_bottleneck.") for k in keys):
        return ""
    return None


def load_compressai(src: Source, prefix: str) -> SplitModel:
    state, context = src.state or {}, src.context
    for other in _OTHER_MODELS:
        if any(k.startswith(other) for k in state):
            raise UnknownLayoutError(
                f"{context}CompressAI model with {other}* keys (a hyperprior or autoregressive model): only "
                "bmshj2018-factorized (g_a, g_s, entropy_bottleneck) is supported"
            )
    first = anchor(state, "g_a.0.weight", 4, context)
    last = anchor(state, "g_a.6.weight", 4, context)
    cfg = registry.resolve_config(
        _ARCH,
        {
            "N": first[0],
            "M": last[0],
            "in_channels": first[1],
            "eb_filters": eb_filters(state, "entropy_bottleneck.", context),
        },
    )
    device = registry.build_device_model(_ARCH, cfg)
    parts = [
        Part(device.encoder, "g_a.", lambda s: "g_a." + s, lambda s: s[len("g_a.") :]),
        eb_part(device.entropy_bottleneck, "entropy_bottleneck.", state),
    ]
    decoder = registry.build_decoder(_ARCH, cfg) if any(k.startswith("g_s.") for k in state) else None
    if decoder is not None:
        parts.append(Part(decoder, "g_s.", lambda s: "g_s." + s, lambda s: s[len("g_s.") :]))
    refuse_unclaimed(state, parts, context)
    load_parts(state, parts, context)
    tables = finish_tables(device.entropy_bottleneck, "entropy_bottleneck.", context)
    server = None if decoder is None else ServerModel(decoder, None, device.entropy_bottleneck.medians())
    return split_model(src, _ARCH, cfg, device, server, {"layout": "compressai", "tables": tables})
