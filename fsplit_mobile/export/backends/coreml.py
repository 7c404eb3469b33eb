"""Core ML target: torch.export -> coremltools.convert -> encoder.mlpackage (mlprogram), checked by spec.

- Capture goes through torch.export (coremltools' TorchScript path fails on GDN). Input `image` (NCHW float32),
  output named after req.output (`symbols` int32 by default).
- int8-weights (quantize stage): the captured program converted, then coremltools.optimize
  linear_quantize_weights, int8 symmetric per output channel (tensors of at least `weight_threshold`
  elements, default 2048); activations stay float. `lower` then writes that model.
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
import functools
import io
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...runtime.targets import TARGETS
from ..errors import ExportError, ToolMissingError, VerificationError
from ..fidelity import NOT_EXECUTED  # noqa: F401  (re-exported: what verify reports here)
from ..options import COMMON_OPTIONS, Option
from ..request import ExportRequest
from ..results import LoweredModel, TensorSpec
from .base import Backend, Captured, Graph, NativeQuantizer, Program, PT2EQuantizer, Quantized
from .pt2e import xnnpack_quantizer

ENCODER_FILE = TARGETS["coreml"].encoder_file
INPUT_NAME = "image"
# Largest fp32 values that fit in int32: 2**31 - 128 is the largest fp32 below 2**31.
INT32_SAFE_MIN = -(2.0**31)
INT32_SAFE_MAX = 2.0**31 - 128
TAIL_OPS = ("sub", "clip", "round")
PRECISIONS = ("float32", "float16")
# Core ML compute units (Apple's names) -> coremltools ComputeUnit, and what the manifest calls the device kind.
# Core ML itself assigns each op to a unit when the model loads on the Apple device: the placement cannot be
# measured off-device, so the manifest records the request and the fp16 compute the Neural Engine needs.
COMPUTE_UNITS = {
    "all": ("ALL", "any"),
    "cpuOnly": ("CPU_ONLY", "cpu"),
    "cpuAndGPU": ("CPU_AND_GPU", "gpu"),
    "cpuAndNeuralEngine": ("CPU_AND_NE", "npu"),
}
_HINT = (
    "coremltools has no conversion for it; rewrite the layer with conv/add/mul/div/sqrt/relu, or export "
    "with --target executorch, tflite or onnx"
)
_MIL_DTYPES = {
    "FLOAT32": "float32",
    "FLOAT16": "float16",
    "INT32": "int32",
    "INT8": "int8",
    "UINT8": "uint8",
    "INT4": "int4",
    "UINT4": "uint4",
}


class ClampedSymbols(nn.Module):
    """The ExportableEncoder with the int32 cast made safe: round(clamp(y - median)) -> int32."""

    def __init__(self, module: nn.Module):
        super().__init__()
        if not hasattr(module, "medians") or getattr(module, "output", None) != "symbols":
            raise ExportError("Core ML symbol output needs an ExportableEncoder with output='symbols'")
        latent: Any = copy.copy(module)  # shares weights; only the output kind differs
        latent.output = "latent"
        self.latent = latent
        self.register_buffer("medians", torch.as_tensor(module.medians).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.latent(x) - self.medians
        return torch.round(torch.clamp(y, INT32_SAFE_MIN, INT32_SAFE_MAX)).to(torch.int32)


@contextlib.contextmanager
def _quiet_stderr():
    """coremltools draws tqdm progress bars on stderr; the CLI shows its own progress."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


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
            for value in op.attributes.values():
                if value.WhichOneof("value") == "blobFileValue":  # stored tensors (weights), not scalars
                    weights[_tensor_dtype(value.type)] += 1
    by_name = {op.outputs[0].name: op for op in block.operations if op.outputs}
    conv_dtypes = Counter(_tensor_dtype(op.outputs[0].type) for op in block.operations if op.type == "conv")
    tail: list[tuple[str, str]] = []
    name = block.outputs[0] if block.outputs else None
    while name in by_name and len(tail) < 4:
        op = by_name[name]
        tail.append((op.type, _tensor_dtype(op.outputs[0].type)))
        name = op.inputs["x"].arguments[0].name if "x" in op.inputs and op.inputs["x"].arguments else None
    return {
        "spec_version": spec.specificationVersion,
        "opset": spec.mlProgram.functions["main"].opset,
        "inputs": [
            {"name": f.name, "shape": list(f.type.multiArrayType.shape), "dtype": _array_dtype(f)}
            for f in spec.description.input
        ],
        "outputs": [
            {"name": f.name, "shape": list(f.type.multiArrayType.shape), "dtype": _array_dtype(f)}
            for f in spec.description.output
        ],
        "ops": dict(ops),
        "weight_dtypes": dict(weights),
        "conv_dtypes": dict(conv_dtypes),
        "tail": [f"{t}:{d}" for t, d in reversed(tail)],
        "size_bytes": package_size(path),
    }


def check_package(path: Path, lowered: LoweredModel, req: ExportRequest) -> dict:
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
    if req.options.get("compute_units") == "cpuAndNeuralEngine" and set(facts["conv_dtypes"]) != {"float16"}:
        raise VerificationError(
            f"Core ML model for the Neural Engine computes its convs in {facts['conv_dtypes']}, expected float16 only"
        )
    return facts


class CoreMLBackend(Backend):
    name = "coreml"
    tools = ("coremltools", "torchao", "executorch")
    options = {
        **COMMON_OPTIONS,
        "compute_precision": Option((str,), "float32", choices=PRECISIONS),
        "weight_threshold": Option((int,), 2048),
        "compute_units": Option((str,), "all", choices=tuple(COMPUTE_UNITS)),
    }
    op_patterns = (
        re.compile(r"Unsupported fx node .*?, kind (\S+)"),
        re.compile(r"convert function for op '([^']+)' not implemented"),
    )
    op_hints = {"lower": _HINT}
    lower_failure = "Core ML conversion failed"

    def can_execute(self) -> bool:
        return sys.platform == "darwin"

    def runtime_name(self) -> str:
        return "coremltools MLModel.predict" if self.can_execute() else "coremltools"

    def open_runtime(self, path: Path):
        return _Predictor(path)

    def graph(self, module: nn.Module, req: ExportRequest) -> Graph:
        try:
            import coremltools  # noqa: F401
        except ImportError as e:
            raise ToolMissingError(f"coremltools is not importable ({e}); pip install coremltools") from None
        if req.output != "symbols":
            return Graph(module)
        return Graph(
            ClampedSymbols(module).eval(),
            prefix="latent.",
            notes=["symbols: round(clamp(y - median, int32 range)) in fp32, then int32"],
        )

    # ---- quantize: W8A8 by PT2E before conversion, int8-weights on the converted model -----------------------
    def quantizer(
        self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]
    ) -> PT2EQuantizer | NativeQuantizer:
        if req.quantization == "int8-weights":
            return NativeQuantizer(functools.partial(self._quantize_weights, req=req))
        return PT2EQuantizer(
            xnnpack_quantizer(keep_float, req.options["per_channel"]),
            notes=[
                "int8 (W8A8): PT2E XNNPACKQuantizer, symmetric per-channel int8 weights, per-tensor int8 activations, "
                "converted to Core ML quantize/dequantize"
            ],
        )

    def _quantize_weights(self, captured: Captured, _batches: list[torch.Tensor], *, req: ExportRequest) -> Quantized:
        from coremltools.optimize.coreml import OpLinearQuantizerConfig, OptimizationConfig, linear_quantize_weights

        threshold = req.options["weight_threshold"]
        config = OptimizationConfig(
            global_config=OpLinearQuantizerConfig(
                mode="linear_symmetric", dtype="int8", granularity="per_channel", weight_threshold=threshold
            )
        )
        with _quiet_stderr():
            model = linear_quantize_weights(self._convert(captured.program, req), config=config)
        return Quantized(
            native=model,
            notes=[
                f"int8-weights: coremltools linear_quantize_weights, symmetric "
                f"per-channel int8 (tensors with >= {threshold} elements), float "
                "activations"
            ],
        )

    # ---- lower ----------------------------------------------------------------------------------------------
    def _convert(self, program: torch.export.ExportedProgram, req: ExportRequest):
        import coremltools as ct

        precision, units = req.options["compute_precision"], req.options["compute_units"]
        if units == "cpuAndNeuralEngine" and precision != "float16":
            raise ExportError(
                'coreml compute_units = "cpuAndNeuralEngine" needs compute_precision = "float16" '
                "(the Neural Engine computes in fp16; an fp32 model runs on the CPU/GPU instead)"
            )
        compute_precision = (
            ct.precision.FLOAT32
            if precision == "float32"
            else ct.transform.FP16ComputePrecision(op_selector=_keep_tail_fp32)
        )
        with _quiet_stderr():
            return ct.convert(
                program.run_decompositions({}),
                inputs=[ct.TensorType(name=INPUT_NAME, shape=req.input_shape, dtype=np.float32)],
                outputs=[ct.TensorType(name=req.output)],
                convert_to="mlprogram",
                compute_precision=compute_precision,
                compute_units=getattr(ct.ComputeUnit, COMPUTE_UNITS[units][0]),
                minimum_deployment_target=ct.target.iOS17,
            )

    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        quantized = program.quantized
        native = quantized.native if quantized is not None else None
        model = native if native is not None else self._convert(program.exported(), req)
        precision = req.options["compute_precision"]
        notes = program.notes + [
            f"compute precision {precision}" + (" (symbol tail kept in fp32)" if precision == "float16" else "")
        ]
        model.short_description = f"fsplit-mobile encoder {req.model_id}: image -> {req.output}"
        model.input_description[INPUT_NAME] = "RGB image NCHW float32, pixel/255" + (
            ", normalised in the graph" if req.normalization_in_graph else ", then (x - mean) / std"
        )
        model.output_description[req.output] = (
            "int32 symbols round(y - median), NCHW" if req.output == "symbols" else "float32 latent y, NCHW"
        )
        model.user_defined_metadata.update(
            {
                "fsplit.model_id": req.model_id,
                "fsplit.quantization": req.quantization,
                "fsplit.output": req.output,
                "fsplit.compute_units": req.options["compute_units"],
            }
        )
        path = stage_dir / ENCODER_FILE
        model.save(str(path))
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec(INPUT_NAME, req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=notes,
            details={
                "minimum_deployment_target": "iOS17",
                "compute_precision": precision,
                "compute_units": req.options["compute_units"],
                **inspect_package(path),
            },
            accelerator={
                "kind": COMPUTE_UNITS[req.options["compute_units"]][1],
                "name": "Apple Core ML compute units",
                "compute_units": req.options["compute_units"],
                "compute_precision": precision,
                "placement": None,
                "placement_note": "decided by Core ML per op when the model loads on the Apple device; "
                "not measurable off-device",
            },
        )

    def checks(self, path: Path, lowered: LoweredModel, req: ExportRequest) -> dict:
        return check_package(path, lowered, req)


class _Predictor:
    """Runs a saved .mlpackage with coremltools (macOS only): model input -> model output."""

    def __init__(self, path: Path):
        import coremltools as ct

        self._model = ct.models.MLModel(str(path))
        self._output = self._model.get_spec().description.output[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.predict({INPUT_NAME: x})[self._output])


def conversion_error(err: BaseException) -> ExportError:
    """What the lower stage raises for a Core ML converter failure (UnsupportedOpError when it names an op)."""
    from .base import converter_error

    return converter_error(CoreMLBackend(), "lower", err)
