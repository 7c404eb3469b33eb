"""ONNX target: torch.onnx.export (dynamo) -> encoder.onnx, verified with onnxruntime.

int8: onnxruntime.quantization static QDQ (uint8 activations, int8 per-channel weights) calibrated on real
images; by default the layer producing the latent and the symbol tail stay in float (option keep_float,
default ["auto"]), since an int8 latent right before rounding flips many symbols. reduce_range (7-bit
weights) is needed on x86 CPUs without VNNI, where the u8s8 kernels can saturate; "auto" detects that on the
exporting host. Weights are stored inline; a model over 1.5 GB gets its
weights in encoder.onnx.data (listed in the manifest as files.encoder_data).
"""
from __future__ import annotations

import ast
import platform
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..runtime.encoders import RUNTIME_NAMES, EncoderUnavailableError, open_backend
from ..runtime.preprocess import from_model_output, to_model_input
from .base import (
    CalibrationError,
    Captured,
    ExportError,
    ExportRequest,
    LoweredModel,
    TargetExporter,
    TensorSpec,
    UnsupportedOpError,
    VerifyResult,
    package_version,
)
from .pt2e import resolve_keep_float

ENCODER_FILE = "encoder.onnx"
DEFAULT_KEEP_FLOAT = ("auto",)  # the latent-producing layer stays float (see pt2e.latent_module)
EXTERNAL_DATA_THRESHOLD = 1_500_000_000  # bytes of initializers above which weights go to <file>.data
CALIBRATE_METHODS = ("minmax", "percentile", "entropy")
_OP_PATTERNS = (
    re.compile(r"No ONNX function found for <OpOverload\(op='([\w.]+)'"),
    re.compile(r"target=torch\.ops\.([\w.]+)"),
    re.compile(r"((?:aten|prims)[.:]+[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)"),
)
_ORT_OP = re.compile(r"implementation for (\w+)\(")


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
    if option not in (None, "auto"):
        raise ExportError(f"onnx option reduce_range must be true, false or \"auto\", got {option!r}")
    vnni = cpu_has_vnni()
    if vnni is None:
        return False, "reduce_range=False (non-x86 host: u8s8 kernels do not saturate)"
    if vnni:
        return False, "reduce_range=False (host CPU has VNNI); set reduce_range=true for x86 devices without VNNI"
    return True, "reduce_range=True (host x86 CPU without VNNI: avoids u8s8 saturation)"


def op_from_onnx_error(err: BaseException) -> str | None:
    """The operator torch.onnx could not translate, from its error text (or its cause's)."""
    for text in (str(err), str(err.__cause__ or "")):
        for pattern in _OP_PATTERNS:
            m = pattern.search(text)
            if m:
                return m.group(1)
    return None


def export_onnx(module: torch.nn.Module, example_input: torch.Tensor, path: Path, input_name: str,
                output_name: str, target: str = "onnx", strip_metadata: bool = False) -> Path:
    """torch.onnx.export (dynamo) of `module` to `path`; weights inline unless they are too large.
    strip_metadata drops torch's per-node metadata (stack traces with local paths, name scopes)."""
    try:
        program = torch.onnx.export(module, (example_input,), input_names=[input_name], output_names=[output_name],
                                    dynamo=True, external_data=False, verbose=False)
    except Exception as e:
        op = op_from_onnx_error(e)
        if op:
            raise UnsupportedOpError(op, target, "no ONNX translation for it in torch.onnx; rewrite the "
                                     "layer with standard ops or register a custom translation") from e
        raise ExportError(f"torch.onnx.export failed: {str(e).strip().splitlines()[0]}") from e
    size = sum(int(np.prod(t.dims)) * 4 for t in program.model_proto.graph.initializer)
    if strip_metadata:
        for node in program.model_proto.graph.node:
            del node.metadata_props[:]
    program.save(str(path), external_data=size > EXTERNAL_DATA_THRESHOLD)
    return Path(path)


def _nodes_in_modules(model_path: Path, module_names: Sequence[str]) -> list[str]:
    """ONNX node names whose torch name scope lies inside one of `module_names`."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    wanted, found, names = set(module_names), set(), []
    for node in model.graph.node:
        scopes = _name_scopes(node)
        hit = wanted.intersection(scopes)
        if hit:
            names.append(node.name)
            found |= hit
    missing = wanted - found
    if missing:
        raise ExportError(f"onnx option keep_float names unknown module(s): {', '.join(sorted(missing))}")
    return names


def store_weights_int8(model_path: Path, node_names: Sequence[str]) -> int:
    """Store the float Conv weights of `node_names` as int8 (symmetric, per output channel) behind a
    DequantizeLinear: the file shrinks like an int8 model while those layers still compute in fp32.
    Returns the number of weights rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
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
        model.graph.initializer.extend([numpy_helper.from_array(q, base + "_int8"),
                                        numpy_helper.from_array(scale, base + "_scale"),
                                        numpy_helper.from_array(np.zeros(w.shape[0], np.int8), base + "_zero")])
        new_nodes.append(helper.make_node("DequantizeLinear", [base + "_int8", base + "_scale", base + "_zero"],
                                          [base + "_dequantized"], name=base + "_DequantizeLinear", axis=0))
        node.input[1] = base + "_dequantized"
        count += 1
    if count:
        for i, n in enumerate(new_nodes):
            model.graph.node.insert(i, n)
        onnx.checker.check_model(model)
        onnx.save(model, str(model_path))
    return count


def example_input_of(captured: Captured) -> torch.Tensor:
    return captured.extra["example_input"]


def _name_scopes(node) -> list[str]:
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                return list(ast.literal_eval(prop.value))
            except (ValueError, SyntaxError):
                return []
    return []


def _tail_nodes(model_path: Path) -> list[str]:
    """Nodes after the encoder at top level (y - medians, round, cast): quantizing them would quantize y."""
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    seen_encoder, tail = False, []
    for node in model.graph.node:
        scopes = _name_scopes(node)
        if "encoder" in scopes:
            seen_encoder, tail = True, []
        elif seen_encoder:
            tail.append(node.name)
    return tail


class _CalibrationReader:
    """onnxruntime CalibrationDataReader over canonical input tensors."""

    def __init__(self, input_name: str, batches):
        self._items = iter([{input_name: b.detach().cpu().numpy().astype(np.float32)} for b in batches])

    def get_next(self):
        return next(self._items, None)

    def __len__(self):  # pragma: no cover - not used by onnxruntime
        return 0


class OnnxExporter(TargetExporter):
    name = "onnx"
    file_ext = ".onnx"
    quantizations = ("none", "int8")
    layout = "NCHW"

    def tool_versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, "onnx": package_version("onnx"),
                "onnxruntime": package_version("onnxruntime"), "onnxscript": package_version("onnxscript")}

    def capture(self, module, example_input, req: ExportRequest) -> Captured:
        tmp = Path(tempfile.mkdtemp(prefix="fsplit-onnx-"))
        path = export_onnx(module, example_input, tmp / "fp32.onnx", "image", req.output, self.name)
        return Captured(program=path, extra={"tmpdir": tmp, "example_input": example_input})

    def quantize(self, captured, module, calib_batches, req: ExportRequest) -> Captured:
        if req.quantization == "none":
            return captured
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        opts = req.options
        reduce_range, why = resolve_reduce_range(opts.get("reduce_range", "auto"))
        method = str(opts.get("calibrate_method", "minmax")).lower()
        if method not in CALIBRATE_METHODS:
            raise ExportError(f"onnx option calibrate_method must be one of {', '.join(CALIBRATE_METHODS)}, "
                              f"got {method!r}")
        tmp: Path = captured.extra["tmpdir"]
        pre = tmp / "pre.onnx"
        quant_pre_process(str(captured.program), str(pre), skip_symbolic_shape=True)
        keep_float = resolve_keep_float(module, example_input_of(captured), opts.get("keep_float", DEFAULT_KEEP_FLOAT))
        exclude = _nodes_in_modules(pre, keep_float) + _tail_nodes(pre) if keep_float else []
        batches = list(calib_batches)
        if not batches:
            raise CalibrationError("int8 quantization needs calibration images, got none")
        out = tmp / "int8.onnx"
        extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
        if method == "percentile":
            extra["CalibPercentile"] = float(opts.get("percentile", 99.999))
        quantize_static(str(pre), str(out), _CalibrationReader("image", batches), quant_format=QuantFormat.QDQ,
                        per_channel=bool(opts.get("per_channel", True)), reduce_range=reduce_range,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=exclude or None,
                        calibrate_method={"minmax": CalibrationMethod.MinMax,
                                          "percentile": CalibrationMethod.Percentile,
                                          "entropy": CalibrationMethod.Entropy}[method],
                        extra_options=extra)
        notes = [f"int8: onnxruntime static QDQ, uint8 activations, int8 per-channel weights, {method} calibration "
                 f"on {len(batches)} images", why]
        if keep_float:
            notes.append(f"kept in float: {', '.join(keep_float)} and the symbol tail ({len(exclude)} ONNX nodes)")
            if opts.get("float_layer_weights", "int8") == "int8":
                n = store_weights_int8(out, exclude)
                notes.append(f"weights of those float layers stored as int8 per-channel behind DequantizeLinear "
                             f"({n} convs; they compute in fp32)")
            elif opts.get("float_layer_weights") != "fp32":
                raise ExportError("onnx option float_layer_weights must be \"int8\" or \"fp32\", "
                                  f"got {opts.get('float_layer_weights')!r}")
        return Captured(program=out, quantized=True, notes=notes, extra=captured.extra)

    def lower(self, captured, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        import onnx

        stage_dir = Path(stage_dir)
        src = Path(captured.program)
        model = onnx.load(str(src))
        for node in model.graph.node:  # torch's per-node stack traces: ~30 KB, and they hold local paths
            del node.metadata_props[:]
        weights = sum(t.ByteSize() for t in model.graph.initializer)
        if weights > EXTERNAL_DATA_THRESHOLD:  # weights next to encoder.onnx under a predictable name
            onnx.save_model(model, str(stage_dir / ENCODER_FILE), save_as_external_data=True,
                            all_tensors_to_one_file=True, location=ENCODER_FILE + ".data")
        else:
            onnx.save_model(model, str(stage_dir / ENCODER_FILE))
        shutil.rmtree(captured.extra.get("tmpdir", ""), ignore_errors=True)
        files = {"encoder": ENCODER_FILE}
        if (stage_dir / (ENCODER_FILE + ".data")).exists():
            files["encoder_data"] = ENCODER_FILE + ".data"
        ops: dict[str, int] = {}
        for node in model.graph.node:
            ops[node.op_type] = ops.get(node.op_type, 0) + 1
        return LoweredModel(
            files=files,
            input=TensorSpec("image", req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=list(captured.notes),
            details={"opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0),
                     "ops": ops},
        )

    def verify(self, stage_dir: Path, lowered: LoweredModel, inputs: Sequence[np.ndarray],
               req: ExportRequest) -> VerifyResult:
        try:
            backend = open_backend(self.name, Path(stage_dir) / lowered.encoder_file)
        except EncoderUnavailableError as e:
            m = _ORT_OP.search(str(e))
            if m:
                raise UnsupportedOpError(m.group(1), self.name, "onnxruntime has no CPU kernel for it at this opset; "
                                         "replace the op or use another target") from e
            raise ExportError(str(e)) from e
        in_spec, out_spec = lowered.input.to_dict(), {**lowered.output.to_dict(), "kind": req.output}
        outputs = [from_model_output(backend.run(to_model_input(x, in_spec)), out_spec, req.latent_shape)
                   for x in inputs]
        return VerifyResult(executed=True, outputs=outputs, runtime=RUNTIME_NAMES[self.name])
