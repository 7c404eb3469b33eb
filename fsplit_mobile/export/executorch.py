"""ExecuTorch target: torch.export -> to_edge_transform_and_lower(XnnpackPartitioner) -> encoder.pte.

int8: PT2E with the XNNPACK quantizer (per-channel symmetric weights, per-tensor activations) calibrated on
real images; by default the layer producing the latent stays in float (option keep_float, default ["auto"]),
since an int8 latent right before rounding flips many symbols. The graph is delegated to XNNPACK. The final round/cast to int32 symbols runs on
ExecuTorch's portable kernels. Verified by running the .pte with executorch.runtime.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..runtime.encoders import RUNTIME_NAMES, open_backend
from ..runtime.preprocess import from_model_output, to_model_input
from .base import (
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
from .pt2e import int8_pt2e_program, resolve_keep_float

ENCODER_FILE = "encoder.pte"
DEFAULT_KEEP_FLOAT = ("auto",)  # the latent-producing layer stays float (see pt2e.latent_module)
_MISSING_OUT = re.compile(r"Missing out variants?:?\s*\{?([^}\n]*)")
_OP_NAME = re.compile(r"(aten[.:]+[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)")


def op_from_error(err: BaseException) -> str | None:
    """Best-effort name of the operator an exporter complained about."""
    text = str(err)
    m = _MISSING_OUT.search(text)
    if m and m.group(1).strip():
        return m.group(1).strip().strip("'\" ").split(",")[0].strip("'\" ")
    m = _OP_NAME.search(text)
    return m.group(1) if m else None


def _graph_ops(program) -> Counter:
    """Operator -> count of call_function nodes in an (Edge/ExecuTorch) program's graph."""
    counts: Counter = Counter()
    for node in program.graph_module.graph.nodes:
        if node.op == "call_function":
            target = node.target
            name = getattr(target, "__name__", None) or str(target)
            counts[str(getattr(target, "_name", name))] += 1
    return counts


class ExecuTorchExporter(TargetExporter):
    name = "executorch"
    file_ext = ".pte"
    quantizations = ("none", "int8")
    layout = "NCHW"

    def tool_versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, "executorch": package_version("executorch"),
                "torchao": package_version("torchao")}

    def capture(self, module, example_input, req: ExportRequest) -> Captured:
        try:
            program = torch.export.export(module, (example_input,))
        except Exception as e:  # torch.export raises many types; name the op when it can be found
            op = op_from_error(e)
            if op:
                raise UnsupportedOpError(op, self.name, "torch.export cannot capture it; rewrite the layer with "
                                         "traceable ops") from e
            raise ExportError(f"torch.export failed for target {self.name}: {str(e).splitlines()[0]}") from e
        return Captured(program=program, extra={"example_input": example_input})

    def quantize(self, captured, module, calib_batches, req: ExportRequest) -> Captured:
        if req.quantization == "none":
            return captured
        example = captured.extra["example_input"]
        keep_float = resolve_keep_float(module, example, req.options.get("keep_float", DEFAULT_KEEP_FLOAT))
        program = int8_pt2e_program(module, example, calib_batches, keep_float=keep_float,
                                    per_channel=bool(req.options.get("per_channel", True)))
        notes = ["int8: PT2E XNNPACKQuantizer, symmetric per-channel weights, per-tensor int8 activations"]
        if keep_float:
            notes.append(f"kept in float (fp32 weights and activations): {', '.join(keep_float)}")
        return Captured(program=program, quantized=True, notes=notes, extra=captured.extra)

    def lower(self, captured, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        try:
            edge = to_edge_transform_and_lower(captured.program, partitioner=[XnnpackPartitioner()])
            delegated_ops = _graph_ops(edge.exported_program())
            et_program = edge.to_executorch()
        except Exception as e:
            op = op_from_error(e)
            if op:
                raise UnsupportedOpError(op, self.name, "no XNNPACK delegate and no portable out-variant kernel; "
                                         "replace the op or export with another target") from e
            raise ExportError(f"ExecuTorch lowering failed: {str(e).splitlines()[0]}") from e
        (Path(stage_dir) / ENCODER_FILE).write_bytes(et_program.buffer)
        remaining = {op: n for op, n in delegated_ops.items()
                     if "executorch_call_delegate" not in op and op not in ("getitem", "<built-in function getitem>")}
        delegates = sum(n for op, n in delegated_ops.items() if "executorch_call_delegate" in op)
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec("image", req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=list(captured.notes),
            details={"xnnpack_delegates": delegates, "ops_outside_delegate": remaining},
        )

    def verify(self, stage_dir: Path, lowered: LoweredModel, inputs: Sequence[np.ndarray],
               req: ExportRequest) -> VerifyResult:
        backend = open_backend(self.name, Path(stage_dir) / lowered.encoder_file)
        in_spec, out_spec = lowered.input.to_dict(), {**lowered.output.to_dict(), "kind": req.output}
        outputs = [from_model_output(backend.run(to_model_input(x, in_spec)), out_spec, req.latent_shape)
                   for x in inputs]
        return VerifyResult(executed=True, outputs=outputs, runtime=RUNTIME_NAMES[self.name])
