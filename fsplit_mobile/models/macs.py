"""Device compute, SC2's first criterion: multiply-accumulates counted from the exported graph.

The count walks the ATen graph that ``torch.export`` captures (the same capture every exporter starts from), so it
sees what the exported encoder computes, not what a module tree declares: convolutions (grouped and depthwise
included, GDN's baked 1x1 convolution included), linear layers and matrix products. Elementwise work (activations,
normalisation, rounding) is not counted, as is usual for MAC figures. The share is against the full teacher
(EfficientNet-Lite0, 385.2 M MACs at 224x224), counted the same way.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import nn

_CONV = ("aten.convolution.default", "aten.conv2d.default", "aten.conv1d.default", "aten._convolution.default")
_MATMUL = ("aten.mm.default", "aten.addmm.default", "aten.bmm.default", "aten.matmul.default", "aten.linear.default")


def _shape(node: Any) -> tuple[int, ...] | None:
    val = node.meta.get("val") if hasattr(node, "meta") else None
    return tuple(int(d) for d in val.shape) if isinstance(val, torch.Tensor) else None


def graph_macs(program: torch.export.ExportedProgram) -> int:
    """MACs of one run of an exported program (per batch as exported)."""
    total = 0
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        name = str(node.target)
        out = _shape(node)
        if out is None:
            continue
        if name in _CONV:
            weight = _shape(node.args[1])
            if weight is None:
                continue
            # out (N, Cout, *spatial) x weight (Cout, Cin/groups, *kernel): each output takes Cin/groups x kernel MACs
            total += math.prod(out) * math.prod(weight[1:])
        elif name in _MATMUL:
            if name == "aten.linear.default":
                k = _shape(node.args[1])
                inner = k[-1] if k else 0
            else:
                a = _shape(node.args[-2])
                inner = a[-1] if a else 0
            total += math.prod(out) * inner
    return total


def count_macs(module: nn.Module, input_size: tuple[int, int] = (224, 224), in_channels: int = 3) -> int:
    """MACs of `module` on one (1, in_channels, H, W) input, counted from its torch.export graph."""
    x = torch.zeros(1, in_channels, *input_size)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            program = torch.export.export(module, (x,))
    finally:
        module.train(was_training)
    return graph_macs(program)


@functools.lru_cache(maxsize=4)
def teacher_macs(input_size: tuple[int, int] = (224, 224)) -> int:
    """MACs of the full EfficientNet-Lite0 teacher (local inference on the device)."""
    from .teacher import load_efficientnet_lite0

    return count_macs(load_efficientnet_lite0(), input_size)


def device_share(encoder: nn.Module, input_size: tuple[int, int] = (224, 224)) -> dict[str, Any]:
    """{"device_macs", "network_macs", "share"}: the encoder's MACs and their share of the full teacher's."""
    size = (int(input_size[0]), int(input_size[1]))
    device, network = count_macs(encoder, size), teacher_macs(size)
    return {"device_macs": device, "network_macs": network, "share": device / network}


def describe(share: dict[str, Any], short: bool = False) -> str:
    """'21.0 M MACs (5.5 % of the network)', or with short=True '21.0 M MACs (5.5 %)'."""
    tail = " %)" if short else " % of the network)"
    return f"{share['device_macs'] / 1e6:.1f} M MACs ({100 * share['share']:.1f}{tail}"
