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
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..runtime.encoders import RUNTIME_NAMES, open_backend
from ..runtime.preprocess import from_model_output, to_model_input
from .base import (
    CalibrationError,
    Captured,
    ExportError,
    ExportRequest,
    LoweredModel,
    TargetExporter,
    TensorSpec,
    ToolMissingError,
    UnsupportedOpError,
    VerifyResult,
    package_version,
)
from .pt2e import resolve_keep_float

ENCODER_FILE = "encoder.tflite"
INPUT_NAME = "image"
CALIB_BATCH = 8
SIGNATURE_PREFIX = "io.wrapped."    # where LiteRTSignature puts the ExportableEncoder (module paths)
# Static int8 keeps the layer producing the latent in float by default: an int8 latent has a step of
# range/255 right before round(y - median) (bundled model: 1.93 % symbol flips all-int8, 1.37 % so; README).
DEFAULT_KEEP_FLOAT = ("auto",)
SIGNATURE = "serving_default"
_NO_LOWERING = re.compile(r"Lowering not found:\s*(\S+)")
_NOT_LEGALIZED = re.compile(r"failed to legalize operation '([^']+)'")
_HINT = ("litert_torch has no lowering for it; rewrite the layer with conv/add/mul/div/sqrt/relu, or export "
         "with --target executorch or onnx")


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


def conversion_error(err: BaseException, target: str = "tflite") -> ExportError:
    """An UnsupportedOpError when the converter names an op it cannot lower, else a one-line ExportError."""
    text = str(err)
    for pattern in (_NO_LOWERING, _NOT_LEGALIZED):
        match = pattern.search(text)
        if match:
            return UnsupportedOpError(match.group(1), target, _HINT)
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return ExportError(f"LiteRT conversion failed: {first}")


def _quantize_filter(float_types: Sequence[str], float_modules: Sequence[str]):
    """Node filter: True (quantize) unless the node comes from a module named in `float_modules` (or inside
    one) or of a type in `float_types`. torch.export records (path, qualified type name) per module."""
    def keep_quantizing(node) -> bool:
        for path, type_name in (node.meta.get("nn_module_stack") or {}).values():
            if type_name in float_types or any(path == n or path.startswith(n + ".") for n in float_modules):
                return False
        return True

    return keep_quantizing


def litert_quantizer(dynamic: bool, per_channel: bool = True, float_types: Sequence[str] = (),
                     float_modules: Sequence[str] = ()):
    """litert_torch's PT2E quantizer (int8 symmetric weights; static or dynamic-range activations) that
    leaves modules of `float_types` and the modules named in `float_modules` unannotated, so in float."""
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.pt2e_quantizer_utils import propagate_annotation

    class FilteredQuantizer(PT2EQuantizer):
        # the stock class only takes a filter through set_module_name, which refuses None (= keep float)
        def annotate(self, model):
            config, keep = self.global_config, _quantize_filter(float_types, float_modules)
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
    from ..models.gdn import BakedGDN

    if float_gdn not in ("auto", True, False):
        raise ExportError(f"option float_gdn must be auto, true or false, got {float_gdn!r}")
    gdns = [m for m in module.modules() if isinstance(m, BakedGDN)]
    if float_gdn == "auto":
        float_gdn = any(getattr(m, "simplified", False) for m in gdns)
    return (f"{BakedGDN.__module__}.{BakedGDN.__qualname__}",) if float_gdn and gdns else ()


class LiteRTExporter(TargetExporter):
    name = "tflite"
    file_ext = ".tflite"
    quantizations = ("none", "int8", "int8-dynamic")
    layout = "NHWC"

    def tool_versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, "litert-torch": package_version("litert-torch"),
                "ai-edge-litert": package_version("ai-edge-litert"), "torchao": package_version("torchao")}

    def needs_calibration(self, req: ExportRequest) -> bool:
        return req.quantization == "int8"

    # ---- capture --------------------------------------------------------------------------------------------
    def capture(self, module, example_input, req: ExportRequest) -> Captured:
        try:
            import litert_torch  # noqa: F401
        except ImportError as e:
            raise ToolMissingError(f"litert_torch is not importable ({e}); pip install litert-torch") from None
        signature = LiteRTSignature(module, req.output).eval()
        example = _nhwc(example_input)
        try:
            program = torch.export.export(signature, (), {INPUT_NAME: example})
        except Exception as e:
            raise ExportError(f"torch.export failed for target {self.name}: {str(e).strip().splitlines()[0]}") from e
        return Captured(program=program, extra={"module": signature, "example": example,
                                                "example_input": example_input})

    # ---- quantize -------------------------------------------------------------------------------------------
    def quantize(self, captured: Captured, module, calib_batches: Iterable[torch.Tensor],
                 req: ExportRequest) -> Captured:
        if req.quantization == "none":
            return captured
        from torchao.quantization.pt2e import move_exported_model_to_eval
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        dynamic = req.quantization == "int8-dynamic"
        per_channel = bool(req.options.get("per_channel", True))
        float_types, keep_float = (), []
        if not dynamic:   # dynamic-range int8 has float activations (and a float latent) anyway
            float_types = float_module_types(module, req.options.get("float_gdn", "auto"))
            keep_float = resolve_keep_float(module, captured.extra["example_input"],
                                            req.options.get("keep_float", DEFAULT_KEEP_FLOAT))
        quantizer = litert_quantizer(dynamic, per_channel, float_types,
                                     [f"{SIGNATURE_PREFIX}{name}" for name in keep_float])
        example = captured.extra["example"]
        with torch.no_grad():
            if dynamic:  # weight observers only; one pass records the weights
                prepared = prepare_pt2e(captured.program.module(), quantizer)
                prepared(**{INPUT_NAME: example})
                seen = 0
            else:
                prepared, seen = self._calibrate(captured, quantizer, calib_batches)
        quantized = move_exported_model_to_eval(convert_pt2e(prepared, fold_quantize=False))
        granularity = "per-channel" if per_channel else "per-tensor"
        if dynamic:
            notes = [f"int8-dynamic: litert_torch PT2E dynamic-range quantization, int8 {granularity} weights, "
                     "activations quantized at run time"]
        else:
            notes = [f"int8: litert_torch PT2E static quantization, symmetric {granularity} int8 weights, "
                     f"per-tensor int8 activations calibrated on {seen} images"]
        if keep_float:
            notes.append(f"kept in float (fp32 weights and activations): {', '.join(keep_float)}")
        if float_types:
            notes.append("GDN layers kept in float (int8 ABS/DIV of a simplified GDN are not taken by XNNPACK)")
        return Captured(program=captured.program, quantized=True, notes=notes,
                        extra={**captured.extra, "module": quantized, "quantizer": quantizer})

    @staticmethod
    def _calibrate(captured: Captured, quantizer, calib_batches: Iterable[torch.Tensor]):
        """Insert observers and run the calibration images through them, CALIB_BATCH at a time.

        Histogram observers have a large cost per call (1.5 s per 224x224 image one at a time here, 0.4 s in batches of 8), so the graph
        is captured once more with a dynamic batch size for calibration; the converted graph is specialised
        back to batch 1 when litert_torch exports it. Falls back to one image per call when that capture fails.
        """
        from torchao.quantization.pt2e.quantize_pt2e import prepare_pt2e

        images = [item for batch in calib_batches for item in batch.split(1)]
        if not images:
            raise CalibrationError("int8 quantization needs calibration images, got none")
        example = captured.extra["example"]
        try:
            batch = torch.export.Dim("batch", min=1, max=max(2, CALIB_BATCH))
            graph = torch.export.export(captured.extra["module"], (), {INPUT_NAME: example.repeat(2, 1, 1, 1)},
                                        dynamic_shapes={INPUT_NAME: {0: batch}}).module()
            step = CALIB_BATCH
        except Exception:  # a model that cannot take a dynamic batch: calibrate one image at a time
            graph, step = captured.program.module(), 1
        prepared = prepare_pt2e(graph, quantizer)
        for i in range(0, len(images), step):
            prepared(**{INPUT_NAME: _nhwc(torch.cat(images[i:i + step]))})
        return prepared, len(images)

    # ---- lower ----------------------------------------------------------------------------------------------
    def lower(self, captured: Captured, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        import litert_torch
        from litert_torch.quantize.quant_config import QuantConfig

        quantizer = captured.extra.get("quantizer")
        quant_config = QuantConfig(pt2e_quantizer=quantizer) if quantizer is not None else None
        path = Path(stage_dir) / ENCODER_FILE
        try:
            with _quiet_litert():
                model = litert_torch.convert(captured.extra["module"], sample_kwargs={INPUT_NAME: captured.extra["example"]},
                                             quant_config=quant_config)
                model.export(str(path))
        except ExportError:
            raise
        except Exception as e:
            raise conversion_error(e, self.name) from e

        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        signature = interpreter.get_signature_list().get(SIGNATURE, {})
        if signature.get("inputs") != [INPUT_NAME] or signature.get("outputs") != [req.output]:
            raise ExportError(f"LiteRT file has signature {signature}, expected input {INPUT_NAME!r} and output "
                              f"{req.output!r}")
        in_detail = interpreter.get_input_details()[0]
        out_detail = interpreter.get_output_details()[0]
        h, w = req.input_size
        if tuple(in_detail["shape"]) != (1, h, w, 3) or tuple(out_detail["shape"]) != req.output_shape:
            raise ExportError(f"LiteRT file has input {tuple(in_detail['shape'])} / output {tuple(out_detail['shape'])}, "
                              f"expected {(1, h, w, 3)} / {req.output_shape}")
        in_q, out_q = tensor_quantization(in_detail), tensor_quantization(out_detail)
        details = delegation_summary(interpreter)
        notes = list(captured.notes)
        if in_q or out_q:
            notes.append(f"quantized I/O: input {in_q}, output {out_q} (recorded in the manifest; runners apply it)")
        if "RSQRT" in details["ops_on_cpu"]:
            notes.append("RSQRT runs outside XNNPACK (int8 RSQRT is not delegated): use sqrt + div (BakedGDN)")
        if details["xnnpack_partitions"] != 1:
            notes.append(f"XNNPACK partitions: {details['xnnpack_partitions']} (1 expected for a fully delegated graph)")
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec(INPUT_NAME, (1, h, w, 3), np.dtype(in_detail["dtype"]).name, "NHWC", in_q),
            output=TensorSpec(req.output, req.output_shape, np.dtype(out_detail["dtype"]).name, "NCHW", out_q),
            notes=notes,
            details=details,
        )

    # ---- verify ---------------------------------------------------------------------------------------------
    def verify(self, stage_dir: Path, lowered: LoweredModel, inputs: Sequence[np.ndarray],
               req: ExportRequest) -> VerifyResult:
        backend = open_backend(self.name, Path(stage_dir) / lowered.encoder_file)
        in_spec, out_spec = lowered.input.to_dict(), {**lowered.output.to_dict(), "kind": req.output}
        outputs = [from_model_output(backend.run(to_model_input(x, in_spec)), out_spec, req.latent_shape)
                   for x in inputs]
        return VerifyResult(executed=True, outputs=outputs, runtime=RUNTIME_NAMES[self.name],
                            checks={"xnnpack_partitions": lowered.details.get("xnnpack_partitions"),
                                    "ops_on_cpu": lowered.details.get("ops_on_cpu")})
