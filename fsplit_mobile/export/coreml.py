"""Core ML target: torch.export -> coremltools.convert -> encoder.mlpackage (mlprogram), checked by spec.

- Capture goes through torch.export (coremltools' TorchScript path fails on GDN). Input `image` (NCHW float32),
  output named after req.output (`symbols` int32 by default).
- int8-weights: coremltools.optimize linear_quantize_weights, int8 symmetric per output channel (tensors of
  at least `weight_threshold` elements, default 2048); activations stay float.
- int8 (W8A8): the graph quantized with PT2E and the XNNPACK quantizer (Core ML's own PT2E quantizer fails on
  torch 2.13), re-exported and converted; Core ML keeps the quantize/dequantize pairs (iOS 17 opset). As for
  ExecuTorch the layer producing the latent stays float by default (option keep_float, default ["auto"]).
- Core ML cannot predict on Linux. `verify` reloads the package with skip_model_load=True and checks what can
  be checked (names, shapes, dtypes, op list, weight dtypes, the fp32 symbol tail, size) and reports
  "not executed on this platform". On macOS it runs the model.

The round() "overflow" warning: ct.convert's default for mlprogram is fp16 compute. It casts the whole graph
to fp16, and its cast_optimization pass, deciding whether the fp32->fp16 and fp16->int32 casts around round()
may be fused, compares the numeric ranges of fp16 and int32 in numpy, which overflows (RuntimeWarning
"overflow encountered in cast"). The warning itself is harmless, but it flags a real problem: y - median,
round and the int32 cast would run in fp16, which has no integer resolution above 2048 and turns values past
65504 into inf, whose int32 cast is undefined. So: compute in fp32 by default (the warning disappears); with
compute_precision="float16" the symbol tail (sub, clip, round) is kept in fp32; and values are clamped to
the fp32 range that int32 holds before the cast, so the cast is defined for any input (finite outputs
change only where eager torch's own cast would be undefined).
"""
from __future__ import annotations

import contextlib
import copy
import io
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from .base import (
    Captured,
    ExportError,
    ExportRequest,
    LoweredModel,
    TargetExporter,
    TensorSpec,
    ToolMissingError,
    UnsupportedOpError,
    VerificationError,
    VerifyResult,
    package_version,
)

ENCODER_FILE = "encoder.mlpackage"
INPUT_NAME = "image"
NOT_EXECUTED = "not executed on this platform"
# Largest fp32 values that fit in int32: 2**31 - 128 is the largest fp32 below 2**31.
INT32_SAFE_MIN = -(2.0 ** 31)
INT32_SAFE_MAX = 2.0 ** 31 - 128
TAIL_OPS = ("sub", "clip", "round")
PRECISIONS = ("float32", "float16")
DEFAULT_KEEP_FLOAT = ("auto",)   # W8A8: the latent-producing layer stays float, as for ExecuTorch
_UNSUPPORTED = (re.compile(r"Unsupported fx node .*?, kind (\S+)"),
                re.compile(r"convert function for op '([^']+)' not implemented"))
_HINT = ("coremltools has no conversion for it; rewrite the layer with conv/add/mul/div/sqrt/relu, or export "
         "with --target executorch, tflite or onnx")
_MIL_DTYPES = {"FLOAT32": "float32", "FLOAT16": "float16", "INT32": "int32", "INT8": "int8", "UINT8": "uint8",
               "INT4": "int4", "UINT4": "uint4"}


class ClampedSymbols(nn.Module):
    """The ExportableEncoder with the int32 cast made safe: round(clamp(y - median)) -> int32."""

    def __init__(self, module: nn.Module):
        super().__init__()
        if not hasattr(module, "medians") or getattr(module, "output", None) != "symbols":
            raise ExportError("Core ML symbol output needs an ExportableEncoder with output='symbols'")
        self.latent = copy.copy(module)     # shares weights; only the output kind differs
        self.latent.output = "latent"
        self.register_buffer("medians", module.medians.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.latent(x) - self.medians
        return torch.round(torch.clamp(y, INT32_SAFE_MIN, INT32_SAFE_MAX)).to(torch.int32)


@contextlib.contextmanager
def _quiet_stderr():
    """coremltools draws tqdm progress bars on stderr; the CLI shows its own progress."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def conversion_error(err: BaseException, target: str = "coreml") -> ExportError:
    text = str(err)
    for pattern in _UNSUPPORTED:
        match = pattern.search(text)
        if match:
            return UnsupportedOpError(match.group(1).rstrip(".,"), target, _HINT)
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return ExportError(f"Core ML conversion failed: {first}")


def _keep_tail_fp32(op) -> bool:
    """op_selector for fp16 compute: False (stay fp32) for the symbol tail sub -> clip -> round -> cast."""
    if op.op_type in ("clip", "round"):
        return False
    if op.op_type == "sub":
        return not any(child.op_type in ("clip", "round") for out in op.outputs for child in out.child_ops)
    return True


# ---- reading a saved package (no model load) ----------------------------------------------------------------
def _main_block(spec):
    fn = spec.mlProgram.functions["main"]
    return fn.block_specializations[fn.opset]


def _tensor_dtype(value_type) -> str:
    from coremltools.proto import MIL_pb2

    name = MIL_pb2.DataType.Name(value_type.tensorType.dataType)
    return _MIL_DTYPES.get(name, name.lower())


def _array_dtype(feature) -> str:
    from coremltools.proto import FeatureTypes_pb2

    name = FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(feature.type.multiArrayType.dataType)
    return _MIL_DTYPES.get(name, name.lower())


def package_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def inspect_package(path: Path) -> dict:
    """Facts about a saved .mlpackage read from its spec alone (works on Linux)."""
    import coremltools as ct

    model = ct.models.MLModel(str(path), skip_model_load=True)
    spec = model.get_spec()
    if spec.WhichOneof("Type") != "mlProgram":
        raise VerificationError(f"{path.name} is a {spec.WhichOneof('Type')} model, expected an mlProgram")
    block = _main_block(spec)
    ops = Counter(op.type for op in block.operations)
    weights: Counter = Counter()
    for op in block.operations:
        if op.type == "const" or op.type.startswith("constexpr_"):
            for key, value in op.attributes.items():
                if value.WhichOneof("value") == "blobFileValue":   # stored tensors (weights), not scalars
                    weights[_tensor_dtype(value.type)] += 1
    by_name = {op.outputs[0].name: op for op in block.operations if op.outputs}
    tail, name = [], block.outputs[0] if block.outputs else None
    while name in by_name and len(tail) < 4:
        op = by_name[name]
        tail.append((op.type, _tensor_dtype(op.outputs[0].type)))
        name = op.inputs["x"].arguments[0].name if "x" in op.inputs and op.inputs["x"].arguments else None
    return {
        "spec_version": spec.specificationVersion,
        "opset": spec.mlProgram.functions["main"].opset,
        "inputs": [{"name": f.name, "shape": list(f.type.multiArrayType.shape), "dtype": _array_dtype(f)}
                   for f in spec.description.input],
        "outputs": [{"name": f.name, "shape": list(f.type.multiArrayType.shape), "dtype": _array_dtype(f)}
                    for f in spec.description.output],
        "ops": dict(ops),
        "weight_dtypes": dict(weights),
        "tail": [f"{t}:{d}" for t, d in reversed(tail)],
        "size_bytes": package_size(path),
    }


class CoreMLExporter(TargetExporter):
    name = "coreml"
    file_ext = ".mlpackage"
    quantizations = ("none", "int8", "int8-weights")
    layout = "NCHW"

    def tool_versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, "coremltools": package_version("coremltools"),
                "torchao": package_version("torchao"), "executorch": package_version("executorch")}

    def can_execute(self) -> bool:
        return sys.platform == "darwin"

    @staticmethod
    def _precision(req: ExportRequest) -> str:
        precision = req.options.get("compute_precision", "float32")
        if precision not in PRECISIONS:
            raise ExportError(f"option compute_precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        return precision

    def _export_module(self, module: nn.Module, req: ExportRequest) -> nn.Module:
        return ClampedSymbols(module).eval() if req.output == "symbols" else module

    # ---- capture --------------------------------------------------------------------------------------------
    def capture(self, module, example_input, req: ExportRequest) -> Captured:
        try:
            import coremltools  # noqa: F401
        except ImportError as e:
            raise ToolMissingError(f"coremltools is not importable ({e}); pip install coremltools") from None
        self._precision(req)
        wrapped = self._export_module(module, req)
        try:
            program = torch.export.export(wrapped, (example_input,))
        except Exception as e:
            raise ExportError(f"torch.export failed for target {self.name}: {str(e).strip().splitlines()[0]}") from e
        notes = ["symbols: round(clamp(y - median, int32 range)) in fp32, then int32"] if req.output == "symbols" else []
        return Captured(program=program, notes=notes, extra={"example_input": example_input, "module": wrapped})

    # ---- quantize -------------------------------------------------------------------------------------------
    def quantize(self, captured: Captured, module, calib_batches: Iterable[torch.Tensor],
                 req: ExportRequest) -> Captured:
        if req.quantization in ("none", "int8-weights"):   # int8-weights is applied to the converted model
            return captured
        from .pt2e import int8_pt2e_program, resolve_keep_float

        example = captured.extra["example_input"]
        keep_float = resolve_keep_float(module, example, req.options.get("keep_float", DEFAULT_KEEP_FLOAT))
        prefix = "latent." if req.output == "symbols" else ""   # where ClampedSymbols holds the module
        program = int8_pt2e_program(captured.extra["module"], example, calib_batches,
                                    keep_float=[prefix + name for name in keep_float],
                                    per_channel=bool(req.options.get("per_channel", True)))
        notes = list(captured.notes) + ["int8 (W8A8): PT2E XNNPACKQuantizer, symmetric per-channel int8 weights, "
                                        "per-tensor int8 activations, converted to Core ML quantize/dequantize"]
        if keep_float:
            notes.append(f"kept in float (fp32 weights and activations): {', '.join(keep_float)}")
        return Captured(program=program, quantized=True, notes=notes, extra=captured.extra)

    # ---- lower ----------------------------------------------------------------------------------------------
    def lower(self, captured: Captured, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        import coremltools as ct

        precision = self._precision(req)
        compute_precision = (ct.precision.FLOAT32 if precision == "float32"
                             else ct.transform.FP16ComputePrecision(op_selector=_keep_tail_fp32))
        notes = list(captured.notes)
        try:
            program = captured.program.run_decompositions({})
            with _quiet_stderr():
                model = ct.convert(
                    program,
                    inputs=[ct.TensorType(name=INPUT_NAME, shape=req.input_shape, dtype=np.float32)],
                    outputs=[ct.TensorType(name=req.output)],
                    convert_to="mlprogram",
                    compute_precision=compute_precision,
                    minimum_deployment_target=ct.target.iOS17,
                )
                if req.quantization == "int8-weights":
                    from coremltools.optimize.coreml import (
                        OpLinearQuantizerConfig,
                        OptimizationConfig,
                        linear_quantize_weights,
                    )

                    threshold = int(req.options.get("weight_threshold", 2048))
                    config = OptimizationConfig(global_config=OpLinearQuantizerConfig(
                        mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=threshold))
                    model = linear_quantize_weights(model, config=config)
                    notes.append(f"int8-weights: coremltools linear_quantize_weights, symmetric per-channel int8 "
                                 f"(tensors with >= {threshold} elements), float activations")
        except ExportError:
            raise
        except Exception as e:
            raise conversion_error(e, self.name) from e
        notes.append(f"compute precision {precision}" + (" (symbol tail kept in fp32)" if precision == "float16" else ""))
        model.short_description = f"fsplit-mobile encoder {req.model_id}: image -> {req.output}"
        model.input_description[INPUT_NAME] = (
            "RGB image NCHW float32, pixel/255" + (", normalised in the graph" if req.normalization_in_graph
                                                   else ", then (x - mean) / std"))
        model.output_description[req.output] = (
            "int32 symbols round(y - median), NCHW" if req.output == "symbols" else "float32 latent y, NCHW")
        model.user_defined_metadata.update({"fsplit.model_id": req.model_id, "fsplit.quantization": req.quantization,
                                            "fsplit.output": req.output})
        path = Path(stage_dir) / ENCODER_FILE
        model.save(str(path))
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec(INPUT_NAME, req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=notes,
            details={"minimum_deployment_target": "iOS17", "compute_precision": precision,
                     **inspect_package(path)},
        )

    # ---- verify ---------------------------------------------------------------------------------------------
    def check_package(self, path: Path, lowered: LoweredModel, req: ExportRequest) -> dict:
        """Spec validation of the saved package; raises VerificationError naming the first mismatch."""
        facts = inspect_package(path)
        expected_in = {"name": lowered.input.name, "shape": list(lowered.input.shape), "dtype": "float32"}
        expected_out = {"name": lowered.output.name, "shape": list(lowered.output.shape), "dtype": req.output_dtype}
        if facts["inputs"] != [expected_in]:
            raise VerificationError(f"Core ML inputs are {facts['inputs']}, expected [{expected_in}]")
        if facts["outputs"] != [expected_out]:
            raise VerificationError(f"Core ML outputs are {facts['outputs']}, expected [{expected_out}]")
        ops, weights = facts["ops"], facts["weight_dtypes"]
        if "conv" not in ops:
            raise VerificationError(f"Core ML program has no conv op (ops: {sorted(ops)})")
        if req.output == "symbols":
            # the subtraction of the medians may be folded into the last conv's bias, so it is not checked
            want = ["clip:float32", "round:float32", "cast:int32"]
            if facts["tail"][-3:] != want:
                raise VerificationError(f"Core ML symbol tail is {facts['tail']}, expected {want}")
        if req.quantization == "none" and weights.get("int8"):
            raise VerificationError(f"fp32 Core ML model has int8 weights: {weights}")
        if req.quantization in ("int8", "int8-weights") and not weights.get("int8"):
            raise VerificationError(f"{req.quantization} Core ML model has no int8 weights: {weights}")
        if req.quantization == "int8" and not (ops.get("quantize") and ops.get("dequantize")):
            raise VerificationError("int8 (W8A8) Core ML model has no activation quantize/dequantize ops")
        return facts

    def verify(self, stage_dir: Path, lowered: LoweredModel, inputs: Sequence[np.ndarray],
               req: ExportRequest) -> VerifyResult:
        path = Path(stage_dir) / lowered.encoder_file
        checks = self.check_package(path, lowered, req)
        if not self.can_execute():
            return VerifyResult(executed=False, reason=NOT_EXECUTED, runtime="coremltools (spec validation only)",
                                checks=checks)
        import coremltools as ct

        model = ct.models.MLModel(str(path))
        outputs = [np.asarray(model.predict({INPUT_NAME: x})[req.output]).reshape(req.output_shape)
                   .astype(req.output_dtype) for x in inputs]
        return VerifyResult(executed=True, outputs=outputs, runtime="coremltools MLModel.predict", checks=checks)
