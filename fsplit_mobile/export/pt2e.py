"""PT2E int8 quantization with the XNNPACK quantizer (used by the ExecuTorch target, reusable by others).

Weights int8 symmetric per output channel, activations int8 per tensor, observers calibrated on real images.
Modules named in `keep_float` (qualified names in the ExportableEncoder, e.g. "encoder.layers.0.conv1") are
left in float, the usual fix when the first or last layer loses too much precision.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch

from .base import CalibrationError, ExportError


def module_names(module: torch.nn.Module) -> list[str]:
    return [name for name, _ in module.named_modules() if name]


def xnnpack_quantizer(module: torch.nn.Module, keep_float: Sequence[str] = (), per_channel: bool = True):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    quantizer = XNNPACKQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
    known = set(module_names(module))
    for name in keep_float:
        if name not in known:
            raise ExportError(f"keep_float names unknown module {name!r}; modules: {', '.join(sorted(known))}")
        quantizer.set_module_name(name, None)
    return quantizer


def quantize_pt2e(module: torch.nn.Module, example_input: torch.Tensor, calib_batches: Iterable[torch.Tensor],
                  quantizer) -> torch.fx.GraphModule:
    """Capture, insert observers, run the calibration batches, convert. Returns the quantized GraphModule."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph = torch.export.export(module, (example_input,)).module()
    prepared = prepare_pt2e(graph, quantizer)
    seen = 0
    with torch.no_grad():
        for batch in calib_batches:
            prepared(batch)
            seen += 1
    if seen == 0:
        raise CalibrationError("int8 quantization needs calibration images, got none")
    return convert_pt2e(prepared)


def int8_pt2e_program(module: torch.nn.Module, example_input: torch.Tensor, calib_batches, keep_float=(),
                      per_channel: bool = True) -> torch.export.ExportedProgram:
    """XNNPACK-quantized module re-exported as an ExportedProgram (Q/DQ nodes around float ops)."""
    quantizer = xnnpack_quantizer(module, keep_float, per_channel)
    quantized = quantize_pt2e(module, example_input, calib_batches, quantizer)
    return torch.export.export(quantized, (example_input,))
