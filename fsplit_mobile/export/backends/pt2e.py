"""PT2E int8 on the captured program: keep_float resolution, the module filter, XNNPACK's quantizer, and the
one calibration loop every PT2E backend uses (ExecuTorch, LiteRT, Core ML W8A8).

Modules named in `keep_float` (qualified names in the ExportableEncoder, e.g. "encoder.layers.0.conv1";
"auto" = the layer producing the latent) are left in float, the usual fix when the first or last layer loses
too much precision. Keeping the latent layer in float matters most here: an int8 latent has a step of
range/255 (0.1-0.2 for typical latents) right before round(y - median), which flips many symbols.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence

import torch

from ..errors import CalibrationError, ExportError
from .base import Captured, PT2EQuantizer, Quantized

CALIB_BATCH = 8  # calibration images per observer call


def latent_module(captured: Captured) -> str:
    """Qualified name (in the ExportableEncoder) of the innermost module producing the encoder's output.

    That is the module holding the last operator executed inside `encoder` in the captured graph, e.g. the
    last residual block of FrankenSplit (its final add) or the last conv of the entropic student.
    """
    encoder = captured.graph.prefix + "encoder"
    last = None
    for node in captured.program.graph.nodes:
        stack = node.meta.get("nn_module_stack") or {}
        paths = [v[0] for v in stack.values()]
        if node.op == "call_function" and any(p == encoder or p.startswith(encoder + ".") for p in paths):
            last = paths[-1]
    if last is None:
        raise ExportError("cannot find the encoder's output layer in the captured graph")
    return last[len(captured.graph.prefix) :]


def resolve_keep_float(captured: Captured, keep_float: Sequence[str]) -> list[str]:
    """Validated module names to keep in float ("auto" -> the latent layer), in the ExportableEncoder."""
    names: list[str] = []
    for name in keep_float:
        name = latent_module(captured) if name == "auto" else name
        if name not in names:
            names.append(name)
    for name in names:
        if name not in captured.module_names:
            raise ExportError(
                f"keep_float names unknown module {name!r}; modules: {', '.join(sorted(captured.module_names))}"
            )
    return names


def module_filter(float_modules: Sequence[str] = (), float_types: Sequence[str] = ()):
    """Annotation filter: True (quantize) unless the node comes from a module named in `float_modules` (or
    inside one) or of a type in `float_types`. torch.export records (path, qualified type name) per module."""

    def keep_quantizing(node) -> bool:
        for path, type_name in (node.meta.get("nn_module_stack") or {}).values():
            if type_name in float_types or any(path == n or path.startswith(n + ".") for n in float_modules):
                return False
        return True

    return keep_quantizing


def xnnpack_quantizer(keep_float: Sequence[str] = (), per_channel: bool = True):
    """XNNPACKQuantizer (symmetric weights, per-tensor activations) that leaves `keep_float` in float."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )

    quantizer = XNNPACKQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=per_channel))
    if keep_float:
        quantizer.set_filter_function(module_filter(list(keep_float)))
    return quantizer


def _batched_graph(captured: Captured):
    """The captured program with a dynamic batch dimension, so observers see CALIB_BATCH images per call.

    Histogram observers cost per call (1.5 s per 224x224 image one at a time, 0.4 s in batches of 8), so the
    captured graph is exported once more with a symbolic batch; models that are not batch-polymorphic
    (batch-specialised reshapes) calibrate on the captured graph itself, one image per call."""
    module = captured.program.module(check_guards=False)
    args, kwargs = captured.graph.inputs(captured.example.expand(2, *captured.example.shape[1:]).contiguous())
    batch = torch.export.Dim("batch", min=1, max=CALIB_BATCH)
    try:
        names = list(inspect.signature(module.forward).parameters)
        dynamic = {**{names[i]: {0: batch} for i in range(len(args))}, **{k: {0: batch} for k in kwargs}}
        return torch.export.export(module, args, kwargs, dynamic_shapes=dynamic).module(), CALIB_BATCH
    except Exception:  # data-dependent or batch-specialised graphs
        return captured.program.module(), 1


def quantize_pt2e(
    captured: Captured, plan: PT2EQuantizer, calib_batches: Iterable[torch.Tensor], calibrate: bool
) -> Quantized:
    """Observers on the captured graph, calibration (or one pass for dynamic/weight-only), convert."""
    from torchao.quantization.pt2e import move_exported_model_to_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    images = [item for batch in calib_batches for item in batch.split(1)]
    with torch.no_grad():
        if calibrate:
            if not images:
                raise CalibrationError("int8 quantization needs calibration images, got none")
            graph, step = _batched_graph(captured)
            prepared = prepare_pt2e(graph, plan.quantizer)
            for start in range(0, len(images), step):
                args, kwargs = captured.graph.inputs(torch.cat(images[start : start + step]))
                prepared(*args, **kwargs)
        else:  # weight observers only: one pass records the weights
            prepared = prepare_pt2e(captured.program.module(), plan.quantizer)
            args, kwargs = captured.example_inputs()
            prepared(*args, **kwargs)
    module = move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=plan.fold_quantize))
    samples = len(images) if calibrate else 0
    return Quantized(
        module=module,
        quantizer=plan.quantizer,
        samples=samples,
        notes=[n.replace("{samples}", str(samples)) for n in plan.notes],
    )
