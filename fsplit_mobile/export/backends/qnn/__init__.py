"""QNN backend: the ONNX encoder compiled offline for one Snapdragon SoC's Hexagon HTP (NPU) -> an EP-context
encoder.onnx run by ONNX Runtime with the QNN EP; verified in the x86_64 HTP simulator (docs/accelerators.md).

Capture and int8 quantization are the ONNX backend's (static QDQ); the layer producing the latent and the
symbol tail stay float with fp32 weights (stored int8 they would leave a DequantizeLinear on the CPU) and the
HTP runs them in fp16. Activations are uint8: with 16-bit activations (a16w8) the HTP's quantized
round -> int32 tail is off by one on about half the symbols (measured in the simulator), which the fidelity
check then fails. `fp16` compiles the fp32 graph with the HTP's fp16 precision. One artifact per SoC
(`variants`); the compiled graph's placement goes into the manifest, and any CPU fallback fails the export
unless `fallback = "warn"`.

QNN's export side is this package: the backend (here), the ahead-of-time compile per SoC (`compile.py`) and the
x86_64 HTP simulator runs with their cycle profile (`simulator.py`); it runs on the exporting host only. The
run side (locating and registering the QNN libraries, the ONNX Runtime session on the NPU, placement) stays in
fsplit_mobile.runtime (qnn, accelerated, placement), which the device bundle ships.
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ....runtime import qnn
from ...errors import ExportError
from ...options import Option, validate_options
from ...request import ExportRequest
from ...results import LoweredModel, TensorSpec
from ..base import Captured, NativeQuantizer, Program, Quantized, package_version
from ..fallback import FALLBACK_OPTION, enforce_placement
from ..onnx import ENCODER_FILE, INPUT_NAME, OnnxBackend, save_onnx

PROFILE_FILE = "profile.json"
FLIP_LIMITS = {"int8": 0.02, "fp16": 0.002}  # symbols differing vs eager fp32 above which the export fails


class QnnBackend(OnnxBackend):
    name = "qnn"
    tools = ("onnx", "onnxruntime", "onnxruntime-qnn", "onnxscript")
    options = {
        **OnnxBackend.options,
        "reduce_range": Option((bool, str), False, choices=(True, False, "auto")),  # HTP: no u8s8 saturation
        "float_layer_weights": Option((str,), "fp32", choices=("int8", "fp32")),
        "socs": Option((list,), ["SM8650"], items=str, what=f"a list of SoC names ({', '.join(qnn.SOCS)})"),
        "soc": Option((str,), "", what="one SoC name (set per artifact from socs)"),
        "activations": Option((str,), "u8", choices=("u8", "u16"), fold_case=True),
        "fallback": FALLBACK_OPTION,
        "simulate": Option((bool,), True),
        "profile_runs": Option((int,), 1),
        # fraction of symbols differing from eager fp32 above which the export fails; 0: FLIP_LIMITS (the targets)
        "max_symbols_differing": Option((float,), 0.0),
    }
    lower_failure = "QNN compile failed"

    _simulate = True
    _flip_limit = 0.0

    # ---- one artifact per SoC ------------------------------------------------------------------------------------
    def variants(self, options: Mapping) -> list[tuple[str, dict]]:
        from .compile import QnnCompileError, resolve_socs

        socs = validate_options(self.options, options, self.name)["socs"]
        try:
            return [(soc.lower(), {"soc": soc}) for soc in resolve_socs(socs)]
        except QnnCompileError as e:
            raise ExportError(f"options of target {self.name}: field targets.qnn.socs: {e}") from None

    def flip_limit(self, quantization: str) -> float | None:
        return self._flip_limit or FLIP_LIMITS.get(quantization)

    def activation_quant_type(self, req: ExportRequest):
        from onnxruntime.quantization import QuantType

        return QuantType.QUInt16 if req.options["activations"] == "u16" else QuantType.QUInt8

    def op_types_to_quantize(self, model, req: ExportRequest) -> list[str] | None:
        """QNN's own QDQ recipe (onnxruntime get_qnn_qdq_config): it also quantizes Round, so the symbol tail
        is quantized unless keep_float leaves it float (the default): that is where a16 breaks."""
        from onnxruntime.quantization import QuantType
        from onnxruntime.quantization.execution_providers.qnn import get_qnn_qdq_config

        return list(
            get_qnn_qdq_config(
                model, None, activation_type=self.activation_quant_type(req), weight_type=QuantType.QInt8
            ).op_types_to_quantize
        )

    def needs_calibration(self, req: ExportRequest) -> bool:
        return req.quantization == "int8"

    # ---- quantize: int8 = the ONNX backend's QDQ; fp16 = the fp32 graph (the compiler casts) -------------------
    def quantizer(self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]) -> NativeQuantizer:
        if req.quantization == "fp16":
            return NativeQuantizer(functools.partial(self._fp32, req=req))
        return super().quantizer(captured, req, keep_float)

    def _fp32(self, captured: Captured, _batches: list[torch.Tensor], *, req: ExportRequest) -> Quantized:
        return Quantized(
            native=self._convert(captured, req),
            notes=["fp16: fp32 ONNX graph compiled with the HTP's fp16 precision (enable_htp_fp16_precision)"],
        )

    # ---- lower: compile for the SoC, placement, simulator profile -----------------------------------------------
    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        from .compile import QnnCompileError, compile_for_soc

        opts = req.options
        soc = opts["soc"] or opts["socs"][0]
        fp16 = req.quantization == "fp16"
        if program.quantized is None:
            raise ExportError(f"{self.name}: lower needs the quantize stage's model (int8 QDQ or fp16)")
        model = program.quantized.native
        with tempfile.TemporaryDirectory(prefix="fsplit-qnn-") as tmp:
            source = Path(tmp) / "source.onnx"
            save_onnx(model, source)
            try:
                compiled = compile_for_soc(source, stage_dir / ENCODER_FILE, soc, fp16=fp16)
            except QnnCompileError as e:
                raise ExportError(str(e)) from None
        placement = compiled.placement
        try:
            placed = enforce_placement(placement, opts["fallback"], self.name, soc)
        except ExportError:
            (stage_dir / ENCODER_FILE).unlink(missing_ok=True)
            raise
        notes = (
            program.notes
            + [f"compiled for {soc} ({qnn.SOCS[soc][0]}, HTP {qnn.SOCS[soc][1]}) in {compiled.seconds:.2f} s"]
            + placed
        )
        self._simulate = bool(opts["simulate"])
        self._flip_limit = float(opts["max_symbols_differing"])
        files = {"encoder": ENCODER_FILE}
        if self._simulate and opts["profile_runs"] > 0:
            (stage_dir / PROFILE_FILE).write_text(
                json.dumps(self._profile(stage_dir, req), indent=1) + "\n", encoding="utf-8"
            )
            files["profile"] = PROFILE_FILE
        accelerator = {
            "kind": "npu",
            "name": "Qualcomm Hexagon HTP",
            "soc": soc,
            "soc_name": qnn.SOCS[soc][0],
            "htp_arch": qnn.SOCS[soc][1],
            "runtime": "onnxruntime + QNN execution provider",
            "onnxruntime": package_version("onnxruntime"),
            "onnxruntime_qnn": qnn.ep_version(),
            "qnn_sdk": qnn.qnn_sdk_version(),
            "ep_compatibility": compiled.compatibility,
            "soc_id": compiled.soc_id,
            "precision": "fp16" if fp16 else f"QDQ {opts['activations']} activations, int8 weights",
            "compile_s": compiled.seconds,
            "placement": placement.to_dict(),
        }
        if "profile" in files:
            accelerator["profile"] = PROFILE_FILE
        return LoweredModel(
            files=files,
            input=TensorSpec(INPUT_NAME, req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=notes,
            details={"soc": soc, "compile_s": compiled.seconds, "placement": placement.to_dict()},
            accelerator=accelerator,
        )

    def _profile(self, stage_dir: Path, req: ExportRequest) -> dict:
        """Simulator cycle profile of the compiled model on a fixed pseudo-random input (cycles of dense convs
        hardly depend on the pixels)."""
        from .simulator import simulate

        rng = np.random.default_rng(0)
        x = rng.random(req.input_shape, dtype=np.float32)
        runs = int(req.options["profile_runs"])
        _, profile, _ = simulate(stage_dir / ENCODER_FILE, [x] * runs, profile_runs=runs)
        profile["input"] = "uniform random pixels in [0, 1), seed 0 (numpy default_rng)"
        profile["soc"] = req.options["soc"] or req.options["socs"][0]
        return profile

    # ---- verify: in the x86 HTP simulator (or a device's HTP) ------------------------------------------------------
    def can_execute(self) -> bool:
        if not self._simulate:
            return False
        try:
            qnn.locate(None, "htp")
        except qnn.QnnUnavailableError:
            return False
        return True

    def open_runtime(self, path: Path):
        from ....runtime.accelerated import OrtAcceleratedBackend

        return OrtAcceleratedBackend(str(path), "npu")

    def runtime_name(self) -> str:
        try:
            simulator = qnn.locate(None, "htp").simulator
        except qnn.QnnUnavailableError:
            simulator = False
        where = "x86_64 HTP simulator, not a device" if simulator else "HTP"
        return f"onnxruntime {package_version('onnxruntime')} + QNN EP {qnn.ep_version()} ({where})"
