"""ONNX backend: the captured program -> torch.onnx (dynamo) -> encoder.onnx, run by onnxruntime.

int8: onnxruntime.quantization static QDQ (uint8 activations, int8 per-channel weights) calibrated on real
images; by default the layer producing the latent and the symbol tail stay in float (keep_float ["auto"]),
since an int8 latent right before rounding flips many symbols. reduce_range (7-bit weights) is needed on x86
CPUs without VNNI, where the u8s8 kernels can saturate; "auto" detects that on the exporting host. Weights
are stored inline; a model over 1.5 GB gets its weights in encoder.onnx.data (manifest files.encoder_data).
The model is converted in memory and written once, by `lower` (onnxruntime's quantizer works on files: it
gets a private temporary folder).
"""

from __future__ import annotations

import ast
import functools
import platform
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from ...runtime.targets import TARGETS
from ..errors import ExportError, UnsupportedOpError
from ..options import COMMON_OPTIONS, Option
from ..request import ExportRequest
from ..results import LoweredModel, TensorSpec
from .base import ATEN_OP, CAPTURE_HINT, Backend, Captured, NativeQuantizer, Program, Quantized, op_named

ENCODER_FILE = TARGETS["onnx"].encoder_file
INPUT_NAME = "image"
EXTERNAL_DATA_THRESHOLD = 1_500_000_000  # bytes of initializers above which weights go to <file>.data
CALIBRATE_METHODS = ("minmax", "percentile", "entropy")
TRANSLATION_HINT = (
    "no ONNX translation for it in torch.onnx; rewrite the layer with standard ops or register a custom translation"
)
OP_PATTERNS = (
    re.compile(r"No ONNX function found for <OpOverload\(op='([\w.]+)'"),
    re.compile(r"target=torch\.ops\.([\w.]+)"),
    ATEN_OP,
    re.compile(r"implementation for (\w+)\("),  # onnxruntime: no kernel for an ONNX op
)


def cpu_has_vnni() -> bool | None:
    """True/False on x86 Linux (from /proc/cpuinfo flags), None when it cannot be told (other OS/arch)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686"):
        return None
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


def resolve_reduce_range(option) -> tuple[bool, str]:
    """The reduce_range setting and why (recipe option true/false/"auto")."""
    if option in (True, False):
        return bool(option), f"reduce_range={option} (recipe)"
    vnni = cpu_has_vnni()
    if vnni is None:
        return False, "reduce_range=False (non-x86 host: u8s8 kernels do not saturate)"
    if vnni:
        return False, "reduce_range=False (host CPU has VNNI); set reduce_range=true for x86 devices without VNNI"
    return True, "reduce_range=True (host x86 CPU without VNNI: avoids u8s8 saturation)"


# ---- torch -> ONNX in memory, and writing it --------------------------------------------------------------------
def to_onnx(model, args: tuple, input_name: str, output_name: str, target: str = "onnx", kwargs=None):
    """torch.onnx.export (dynamo) of a module or ExportedProgram -> onnx.ModelProto (weights inline, torch's
    per-node metadata kept: the int8 path finds layers by their name scopes)."""
    try:
        program = torch.onnx.export(
            model,
            args,
            kwargs=kwargs,
            input_names=[input_name],
            output_names=[output_name],
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    except Exception as e:
        op = op_named(e, OP_PATTERNS)
        if op:
            raise UnsupportedOpError(op, target, TRANSLATION_HINT) from e
        raise ExportError(f"torch.onnx.export failed: {str(e).strip().splitlines()[0]}") from e
    if program is None:  # only TorchScript exports to a file return nothing
        raise ExportError("torch.onnx.export returned no program")
    return program.model_proto


def save_onnx(model, path: Path) -> list[str]:
    """Write `model` to `path` without torch's per-node metadata (stack traces with local paths, ~30 KB);
    weights inline unless over EXTERNAL_DATA_THRESHOLD (then `<name>.data` beside it). Returns the file names."""
    import onnx

    for node in model.graph.node:
        del node.metadata_props[:]
    path = Path(path)
    if sum(t.ByteSize() for t in model.graph.initializer) > EXTERNAL_DATA_THRESHOLD:
        onnx.save_model(
            model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=path.name + ".data"
        )
        return [path.name, path.name + ".data"]
    onnx.save_model(model, str(path))
    return [path.name]


def export_onnx(
    module: torch.nn.Module,
    example_input: torch.Tensor,
    path: Path,
    input_name: str,
    output_name: str,
    target: str = "onnx",
) -> Path:
    """`module` at `example_input` to an ONNX file (server.onnx, e2e workloads)."""
    save_onnx(to_onnx(module, (example_input,), input_name, output_name, target), path)
    return Path(path)


# ---- int8 helpers on a ModelProto --------------------------------------------------------------------------------
def _name_scopes(node) -> list[str]:
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                return list(ast.literal_eval(prop.value))
            except (ValueError, SyntaxError):
                return []
    return []


def nodes_in_modules(model, module_names: Sequence[str]) -> list[str]:
    """ONNX node names whose torch name scope lies inside one of `module_names` (each must have some)."""
    wanted, found, names = set(module_names), set(), []
    for node in model.graph.node:
        hit = wanted.intersection(_name_scopes(node))
        if hit:
            names.append(node.name)
            found |= hit
    if wanted - found:
        raise ExportError(f"no ONNX nodes carry the name scope of module(s) {', '.join(sorted(wanted - found))}")
    return names


def tail_nodes(model) -> list[str]:
    """Nodes after the encoder at top level (y - medians, round, cast): quantizing them would quantize y."""
    seen_encoder, tail = False, list[str]()
    for node in model.graph.node:
        if "encoder" in _name_scopes(node):
            seen_encoder, tail = True, []
        elif seen_encoder:
            tail.append(node.name)
    return tail


def store_weights_int8(model, node_names: Sequence[str]) -> int:
    """Store the float Conv weights of `node_names` as int8 (symmetric, per output channel) behind a
    DequantizeLinear: the file shrinks like an int8 model while those layers still compute in fp32.
    Changes `model` in place; returns the number of weights rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    wanted = set(node_names)
    new_nodes, count = [], 0
    for node in model.graph.node:
        if node.name not in wanted or node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        if w.dtype != np.float32 or w.ndim < 2:
            continue
        absmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
        scale = np.where(absmax > 0, absmax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.rint(w / scale.reshape(-1, *([1] * (w.ndim - 1)))), -127, 127).astype(np.int8)
        base = node.input[1]
        model.graph.initializer.remove(inits[base])
        model.graph.initializer.extend(
            [
                numpy_helper.from_array(q, base + "_int8"),
                numpy_helper.from_array(scale, base + "_scale"),
                numpy_helper.from_array(np.zeros(w.shape[0], np.int8), base + "_zero"),
            ]
        )
        new_nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [base + "_int8", base + "_scale", base + "_zero"],
                [base + "_dequantized"],
                name=base + "_DequantizeLinear",
                axis=0,
            )
        )
        node.input[1] = base + "_dequantized"
        count += 1
    if count:
        for i, n in enumerate(new_nodes):
            model.graph.node.insert(i, n)
        onnx.checker.check_model(model)
    return count


class _CalibrationReader:
    """onnxruntime CalibrationDataReader over canonical input tensors."""

    def __init__(self, input_name: str, batches):
        self._items = iter([{input_name: b.detach().cpu().numpy().astype(np.float32)} for b in batches])

    def get_next(self):
        return next(self._items, None)


class OnnxBackend(Backend):
    name = "onnx"
    tools: ClassVar[tuple[str, ...]] = ("onnx", "onnxruntime", "onnxscript")
    options = {
        **COMMON_OPTIONS,
        "reduce_range": Option((bool, str), "auto", choices=(True, False, "auto")),
        "calibrate_method": Option((str,), "minmax", choices=CALIBRATE_METHODS, fold_case=True),
        "percentile": Option((float,), 99.999),
        "float_layer_weights": Option((str,), "int8", choices=("int8", "fp32")),
    }
    op_patterns = OP_PATTERNS
    op_hints = {
        "capture": CAPTURE_HINT,
        "lower": TRANSLATION_HINT,
        "verify": "onnxruntime has no CPU kernel for it at this opset; replace the op or use another target",
    }
    lower_failure = "torch.onnx.export failed"

    def _convert(self, captured: Captured, req: ExportRequest):
        args, kwargs = captured.example_inputs()
        return to_onnx(captured.program, args, INPUT_NAME, req.output, self.name, kwargs or None)

    def quantizer(self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]) -> NativeQuantizer:
        return NativeQuantizer(functools.partial(self._quantize, req=req, keep_float=keep_float))

    def activation_quant_type(self, req: ExportRequest):
        """QDQ activation type (uint8 here; the qnn backend can force 16-bit)."""
        from onnxruntime.quantization import QuantType

        return QuantType.QUInt8

    def op_types_to_quantize(self, model, req: ExportRequest) -> list[str] | None:
        """Op types the QDQ quantizer quantizes (None: onnxruntime's default set)."""
        return None

    def _quantize(
        self, captured: Captured, batches: list[torch.Tensor], *, req: ExportRequest, keep_float: Sequence[str]
    ) -> Quantized:
        import onnx
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        opts = req.options
        reduce_range, why = resolve_reduce_range(opts["reduce_range"])
        method = opts["calibrate_method"]
        with tempfile.TemporaryDirectory(prefix="fsplit-onnx-") as tmp:
            pre, out = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
            quant_pre_process(self._convert(captured, req), str(pre), skip_symbolic_shape=True)
            prepared = onnx.load(str(pre))
            exclude = nodes_in_modules(prepared, keep_float) + tail_nodes(prepared) if keep_float else []
            extra: dict[str, bool | float] = {"ActivationSymmetric": False, "WeightSymmetric": True}
            if method == "percentile":
                extra["CalibPercentile"] = float(opts["percentile"])
            quantize_static(
                prepared,
                str(out),
                _CalibrationReader(INPUT_NAME, batches),
                quant_format=QuantFormat.QDQ,
                per_channel=opts["per_channel"],
                reduce_range=reduce_range,
                activation_type=self.activation_quant_type(req),
                weight_type=QuantType.QInt8,
                nodes_to_exclude=exclude or None,
                op_types_to_quantize=self.op_types_to_quantize(prepared, req),
                calibrate_method={
                    "minmax": CalibrationMethod.MinMax,
                    "percentile": CalibrationMethod.Percentile,
                    "entropy": CalibrationMethod.Entropy,
                }[method],
                extra_options=extra,
            )
            model = onnx.load(str(out))
        act = {"QUInt8": "uint8", "QUInt16": "uint16"}.get(self.activation_quant_type(req).name, "?")
        notes = [
            f"int8: onnxruntime static QDQ, {act} activations, int8 per-channel weights, {method} calibration "
            f"on {len(batches)} images",
            why,
        ]
        if keep_float:
            notes.append(f"kept in float: {', '.join(keep_float)} and the symbol tail ({len(exclude)} ONNX nodes)")
            if opts["float_layer_weights"] == "int8":
                n = store_weights_int8(model, exclude)
                notes.append(
                    f"weights of those float layers stored as int8 per-channel behind DequantizeLinear "
                    f"({n} convs; they compute in fp32)"
                )
        return Quantized(native=model, notes=notes, samples=len(batches))

    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        quantized = program.quantized
        model = quantized.native if quantized is not None else self._convert(program.captured, req)
        written = save_onnx(model, stage_dir / ENCODER_FILE)
        files = {"encoder": ENCODER_FILE}
        if len(written) > 1:
            files["encoder_data"] = written[1]
        ops: dict[str, int] = {}
        for node in model.graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        return LoweredModel(
            files=files,
            input=TensorSpec(INPUT_NAME, req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=program.notes,
            details={
                "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0),
                "ops": ops,
            },
        )
