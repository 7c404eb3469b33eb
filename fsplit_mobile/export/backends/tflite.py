"""TFLite/LiteRT target: litert_torch conversion -> encoder.tflite, verified in the ai_edge_litert Interpreter.

- I/O: the file takes NHWC `image` (litert_torch.to_channel_last_io) and gives the NCHW output named after
  req.output (`symbols` int32 by default), so symbols come out in C order as the coder wants them.
- int8 (static): litert_torch's PT2E quantizer, per-channel symmetric int8 weights, per-tensor int8
  activations calibrated on real images; the layer producing the latent stays float by default (option
  keep_float, default ["auto"]). With normalisation in the graph the I/O stays float32; without it the
  converter makes the input int8 (scale ~1/255, zero point -128): the interpreter's I/O quantization is then
  recorded in the manifest and the runners apply it (fsplit_mobile.runtime.preprocess).
- int8-dynamic: dynamic-range int8 (int8 weights, activations quantized at run time, float latent).
- Delegation is checked after lowering: XNNPACK should take the whole graph in one partition except the
  final int32 CAST/TRANSPOSE. BakedGDN uses sqrt/div (int8 RSQRT is not delegated); a simplified GDN (|x|,
  div) is kept in float under static int8, since its int8 ABS/DIV are not delegated either.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...runtime.targets import TARGETS
from ..errors import ExportError, ToolMissingError
from ..options import COMMON_OPTIONS, Option
from ..request import ExportRequest
from ..results import LoweredModel, TensorSpec
from .base import Backend, Captured, Graph, Program, PT2EQuantizer
from .pt2e import module_filter

ENCODER_FILE = TARGETS["tflite"].encoder_file
INPUT_NAME = "image"
SIGNATURE_PREFIX = "io.wrapped."  # where LiteRTSignature puts the ExportableEncoder (module paths)
SIGNATURE = "serving_default"
_HINT = (
    "litert_torch has no lowering for it; rewrite the layer with conv/add/mul/div/sqrt/relu, or export "
    "with --target executorch or onnx"
)


class LiteRTSignature(nn.Module):
    """NHWC `image` in, {output_name: NCHW output} out: names the TFLite signature's input and output."""

    def __init__(self, module: nn.Module, output_name: str):
        super().__init__()
        import litert_torch

        self.io = litert_torch.to_channel_last_io(module, args=[0])
        self.output_name = output_name

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.output_name: self.io(image)}


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


def _signature_inputs(x: torch.Tensor) -> tuple[tuple, dict]:
    """Canonical NCHW batch -> the signature's keyword input (NHWC `image`)."""
    return (), {INPUT_NAME: _nhwc(x)}


def _as_eval(module: nn.Module) -> nn.Module:
    """Mark a captured graph as the eval-mode graph it is. ExportedProgram.module() and PT2E's convert output come
    back with training=True and refuse .eval() ("Calling eval() is not supported yet"), so litert_torch warned
    "Your model is converted in training mode" on every export. The graph was captured from an eval-mode module, so
    only the flag litert_torch reads is set. torchao's move_exported_model_to_eval must not be applied to such a
    graph: it rewrites batch-norm patterns as if they had been captured in training mode and changes what an
    eval-mode batch norm computes (on EfficientNet-Lite0's head: up to 0.25 absolute error in the features, 3.5 %
    of the symbols of a block-16 bottleneck unit; tests/export/test_export_tflite.py checks a batch-norm model)."""
    module.training = False
    return module


@contextlib.contextmanager
def _quiet_litert():
    """litert_torch prints a progress tree to stdout by default; the CLI shows its own progress."""
    old = os.environ.get("LITERT_TORCH_SHOW_PROGRESS")
    os.environ["LITERT_TORCH_SHOW_PROGRESS"] = "n"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LITERT_TORCH_SHOW_PROGRESS", None)
        else:
            os.environ["LITERT_TORCH_SHOW_PROGRESS"] = old


def litert_quantizer(
    dynamic: bool, per_channel: bool = True, float_types: Sequence[str] = (), float_modules: Sequence[str] = ()
):
    """litert_torch's PT2E quantizer (int8 symmetric weights; static or dynamic-range activations) that
    leaves modules of `float_types` and the modules named in `float_modules` unannotated, so in float."""
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.pt2e_quantizer_utils import propagate_annotation

    class FilteredQuantizer(PT2EQuantizer):
        # the stock class only takes a filter through set_module_name, which refuses None (= keep float)
        def annotate(self, model):
            config, keep = self.global_config, module_filter(float_modules, float_types)
            if config.input_activation is None:
                self._annotate_all_dynamic_patterns(model, config, keep)
            else:
                self._annotate_all_static_patterns(model, config, keep)
            propagate_annotation(model)
            return model

    quantizer = FilteredQuantizer()
    quantizer.set_global(get_symmetric_quantization_config(is_per_channel=per_channel, is_dynamic=dynamic))
    return quantizer


def tensor_quantization(detail: dict) -> dict | None:
    """Manifest `quantization` entry of an interpreter input/output detail (None for float tensors)."""
    dtype = np.dtype(detail["dtype"])
    if dtype not in (np.dtype(np.int8), np.dtype(np.uint8)):
        return None
    scale, zero_point = detail["quantization"]
    if scale == 0.0:
        return None  # integer tensor that is not a quantized real value (e.g. int32 symbols)
    return {"scale": float(scale), "zero_point": int(zero_point), "dtype": dtype.name}


def delegation_summary(interpreter) -> dict:
    """Which ops XNNPACK took: number of delegate partitions and the ops left to the builtin CPU kernels.

    A DELEGATE node replaces the nodes that produce its outputs from its inputs; every other node runs on
    the builtin kernels.
    """
    ops = interpreter._get_ops_details()
    delegates = [op for op in ops if op["op_name"] == "DELEGATE"]
    originals = [op for op in ops if op["op_name"] != "DELEGATE"]
    producer = {int(t): op for op in originals for t in op["outputs"]}
    delegated: set[int] = set()
    for delegate in delegates:
        boundary = {int(t) for t in delegate["inputs"]}
        stack = [int(t) for t in delegate["outputs"]]
        while stack:
            op = producer.get(stack.pop())
            if op is None or op["index"] in delegated:
                continue
            delegated.add(op["index"])
            stack.extend(int(t) for t in op["inputs"] if int(t) >= 0 and int(t) not in boundary)
    on_cpu = Counter(op["op_name"] for op in originals if op["index"] not in delegated)
    return {
        "ops": dict(Counter(op["op_name"] for op in originals)),
        "xnnpack_partitions": len(delegates),
        "ops_on_cpu": dict(on_cpu),
    }


def float_module_types(module: nn.Module, float_gdn="auto") -> tuple[str, ...]:
    """Module types to leave in float under static int8 (recipe option `float_gdn`: auto | true | false).

    auto: GDN layers in float only when some GDN is the simplified kind (1x1 conv on |x|, then a division).
    With int8 around them the converter turns its ABS and DIV into int8 kernels that XNNPACK does not take,
    splitting the graph into 5 partitions and making int8 3x slower than fp32 (measured on the entropic
    student at 224x224). The full GDN's sqrt keeps its division in float, so it stays int8 around it.
    """
    from ...models.gdn import BakedGDN

    if float_gdn not in ("auto", True, False):
        raise ExportError(f"option float_gdn must be auto, true or false, got {float_gdn!r}")
    gdns = [m for m in module.modules() if isinstance(m, BakedGDN)]
    if float_gdn == "auto":
        float_gdn = any(getattr(m, "simplified", False) for m in gdns)
    return (f"{BakedGDN.__module__}.{BakedGDN.__qualname__}",) if float_gdn and gdns else ()


class LiteRTBackend(Backend):
    name = "tflite"
    layout = "NHWC"
    tools = ("litert-torch", "ai-edge-litert", "torchao")
    options = {**COMMON_OPTIONS, "float_gdn": Option((str, bool), "auto", choices=("auto", True, False))}
    op_patterns = (re.compile(r"Lowering not found:\s*(\S+)"), re.compile(r"failed to legalize operation '([^']+)'"))
    op_hints = {"lower": _HINT}
    lower_failure = "LiteRT conversion failed"

    def graph(self, module: nn.Module, req: ExportRequest) -> Graph:
        try:
            import litert_torch  # noqa: F401
        except ImportError as e:
            raise ToolMissingError(f"litert_torch is not importable ({e}); pip install litert-torch") from None
        return Graph(LiteRTSignature(module, req.output).eval(), inputs=_signature_inputs, prefix=SIGNATURE_PREFIX)

    def quantizer(self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]) -> PT2EQuantizer:
        per_channel = req.options["per_channel"]
        granularity = "per-channel" if per_channel else "per-tensor"
        if req.quantization == "int8-dynamic":  # float activations (and a float latent) anyway: no keep_float
            return PT2EQuantizer(
                litert_quantizer(True, per_channel),
                fold_quantize=False,
                keeps_float=False,
                notes=[
                    f"int8-dynamic: litert_torch PT2E dynamic-range quantization, int8 {granularity} weights, "
                    "activations quantized at run time"
                ],
            )
        float_types = float_module_types(captured.graph.module, req.options["float_gdn"])
        notes = [
            f"int8: litert_torch PT2E static quantization, symmetric {granularity} int8 weights, "
            "per-tensor int8 activations calibrated on {samples} images"
        ]
        if float_types:
            notes.append("GDN layers kept in float (int8 ABS/DIV of a simplified GDN are not taken by XNNPACK)")
        return PT2EQuantizer(
            litert_quantizer(False, per_channel, float_types, keep_float), notes=notes, fold_quantize=False
        )

    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        import litert_torch
        from ai_edge_litert.interpreter import Interpreter
        from litert_torch.quantize.quant_config import QuantConfig

        quantized = program.quantized
        source = quantized.module if quantized is not None else None
        module = _as_eval(source if source is not None else program.captured.program.module())
        quant_config = QuantConfig(pt2e_quantizer=quantized.quantizer) if quantized is not None else None
        path = stage_dir / ENCODER_FILE
        _, kwargs = program.captured.example_inputs()
        with _quiet_litert():
            model = litert_torch.convert(module, sample_kwargs=kwargs, quant_config=quant_config)
            model.export(str(path))

        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        signature = interpreter.get_signature_list().get(SIGNATURE, {})
        if signature.get("inputs") != [INPUT_NAME] or signature.get("outputs") != [req.output]:
            raise ExportError(
                f"LiteRT file has signature {signature}, expected input {INPUT_NAME!r} and output {req.output!r}"
            )
        in_detail = interpreter.get_input_details()[0]
        out_detail = interpreter.get_output_details()[0]
        h, w = req.input_size
        if tuple(in_detail["shape"]) != (1, h, w, 3) or tuple(out_detail["shape"]) != req.output_shape:
            raise ExportError(
                f"LiteRT file has input {tuple(in_detail['shape'])} / output "
                f"{tuple(out_detail['shape'])}, expected {(1, h, w, 3)} / {req.output_shape}"
            )
        in_q, out_q = tensor_quantization(in_detail), tensor_quantization(out_detail)
        details = delegation_summary(interpreter)
        notes = program.notes
        if in_q or out_q:
            notes.append(f"quantized I/O: input {in_q}, output {out_q} (recorded in the manifest; runners apply it)")
        if "RSQRT" in details["ops_on_cpu"]:
            notes.append("RSQRT runs outside XNNPACK (int8 RSQRT is not delegated): use sqrt + div (BakedGDN)")
        if details["xnnpack_partitions"] != 1:
            notes.append(
                f"XNNPACK partitions: {details['xnnpack_partitions']} (1 expected for a fully delegated graph)"
            )
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec(INPUT_NAME, (1, h, w, 3), np.dtype(in_detail["dtype"]).name, "NHWC", in_q),
            output=TensorSpec(req.output, req.output_shape, np.dtype(out_detail["dtype"]).name, "NCHW", out_q),
            notes=notes,
            details=details,
        )

    def checks(self, path: Path, lowered: LoweredModel, req: ExportRequest) -> dict:
        return {
            "xnnpack_partitions": lowered.details.get("xnnpack_partitions"),
            "ops_on_cpu": lowered.details.get("ops_on_cpu"),
        }


def conversion_error(err: BaseException) -> ExportError:
    """What the lower stage raises for a LiteRT converter failure (UnsupportedOpError when it names an op)."""
    from .base import converter_error

    return converter_error(LiteRTBackend(), "lower", err)
