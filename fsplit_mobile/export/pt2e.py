"""PT2E int8 quantization with the XNNPACK quantizer (used by the ExecuTorch target, reusable by others).

Weights int8 symmetric per output channel, activations int8 per tensor, observers calibrated on real images.
Modules named in `keep_float` (qualified names in the ExportableEncoder, e.g. "encoder.layers.0.conv1"; "auto"
= the layer producing the latent) are left in float, the usual fix when the first or last layer loses too
much precision. Keeping the latent layer in float matters most here: an int8 latent has a step of
range/255 (0.1-0.2 for typical latents) right before round(y - median), which flips many symbols.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch

from .base import CalibrationError, ExportError


def module_names(module: torch.nn.Module) -> list[str]:
    return [name for name, _ in module.named_modules() if name]


def latent_module(module: torch.nn.Module, example_input: torch.Tensor) -> str:
    """Qualified name of the innermost module that produces the encoder's output (the latent).

    That is the module holding the last operator executed inside `module.encoder`, e.g. the last residual
    block of FrankenSplit (its final add) or the last conv of the entropic student / factorized prior.
    """
    program = torch.export.export(module, (example_input,))
    last = None
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack") or {}
        paths = [v[0] for v in stack.values()]
        if node.op == "call_function" and any(p == "encoder" or p.startswith("encoder.") for p in paths):
            last = paths[-1]
    if last is None:
        raise ExportError("cannot find the encoder's output layer in the captured graph")
    return last


def resolve_keep_float(module: torch.nn.Module, example_input: torch.Tensor, keep_float) -> list[str]:
    """Module names to keep in float; "auto" stands for the latent-producing module (see latent_module)."""
    names = []
    for name in keep_float:
        name = latent_module(module, example_input) if name == "auto" else name
        if name not in names:
            names.append(name)
    known = set(module_names(module))
    for name in names:
        if name not in known:
            raise ExportError(f"keep_float names unknown module {name!r}; modules: {', '.join(sorted(known))}")
    return names


def _outside(names: Sequence[str]):
    def keep_quantizing(node) -> bool:
        stack = node.meta.get("nn_module_stack") or {}
        return not any(p == n or p.startswith(n + ".") for _, (p, *_rest) in stack.items() for n in names)

    return keep_quantizing


def xnnpack_quantizer(module: torch.nn.Module, keep_float: Sequence[str] = (), per_channel: bool = True):
    """XNNPACKQuantizer (symmetric, per-channel weights) that leaves the modules in `keep_float` in float."""
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
    if keep_float:
        quantizer.set_filter_function(_outside(list(keep_float)))
    return quantizer


def _capture_for_calibration(module: torch.nn.Module, example_input: torch.Tensor, batch: int):
    """Graph for prepare_pt2e with a dynamic batch dimension (so observers see `batch` images per call);
    falls back to the static batch-1 graph for models that are not batch-polymorphic."""
    if batch > 1:
        try:
            dim = torch.export.Dim("batch", min=1, max=1024)
            x = example_input.expand(batch, *example_input.shape[1:]).contiguous()
            return torch.export.export(module, (x,), dynamic_shapes=({0: dim},)).module(), batch
        except Exception:  # data-dependent or batch-specialised graphs: calibrate one image at a time
            pass
    return torch.export.export(module, (example_input,)).module(), 1


def quantize_pt2e(module: torch.nn.Module, example_input: torch.Tensor, calib_batches: Iterable[torch.Tensor],
                  quantizer, batch: int = 8) -> torch.fx.GraphModule:
    """Capture, insert observers, run the calibration images (`batch` per call), convert.

    Observers (histograms for activations) cost per call, so batching calibration images cuts the time
    several-fold without changing what they observe.
    """
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    images = [b for b in calib_batches]
    if not images:
        raise CalibrationError("int8 quantization needs calibration images, got none")
    graph, batch = _capture_for_calibration(module, example_input, batch)
    prepared = prepare_pt2e(graph, quantizer)
    flat = torch.cat(images, dim=0)
    with torch.no_grad():
        for start in range(0, flat.shape[0], batch):
            prepared(flat[start:start + batch])
    return convert_pt2e(prepared)


def int8_pt2e_program(module: torch.nn.Module, example_input: torch.Tensor, calib_batches, keep_float=(),
                      per_channel: bool = True) -> torch.export.ExportedProgram:
    """XNNPACK-quantized module re-exported as an ExportedProgram (Q/DQ nodes around float ops)."""
    quantizer = xnnpack_quantizer(module, resolve_keep_float(module, example_input, keep_float), per_channel)
    quantized = quantize_pt2e(module, example_input, calib_batches, quantizer)
    return torch.export.export(quantized, (example_input,))
