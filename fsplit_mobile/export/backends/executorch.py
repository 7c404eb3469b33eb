"""ExecuTorch backend: to_edge_transform_and_lower(XnnpackPartitioner) -> encoder.pte, run by executorch.runtime.

int8: PT2E with the XNNPACK quantizer (per-channel symmetric weights, per-tensor activations) calibrated on
real images; the layer producing the latent stays float by default (keep_float ["auto"]). The graph is
delegated to XNNPACK; the final round/cast to int32 symbols runs on ExecuTorch's portable kernels.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ...runtime.targets import TARGETS
from ..request import ExportRequest
from ..results import LoweredModel, TensorSpec
from .base import ATEN_OP, CAPTURE_HINT, Backend, Captured, Program, PT2EQuantizer
from .pt2e import xnnpack_quantizer

ENCODER_FILE = TARGETS["executorch"].encoder_file


def _graph_ops(program) -> Counter:
    """Operator -> count of call_function nodes in an (Edge/ExecuTorch) program's graph."""
    counts: Counter = Counter()
    for node in program.graph_module.graph.nodes:
        if node.op == "call_function":
            target = node.target
            name = getattr(target, "__name__", None) or str(target)
            counts[str(getattr(target, "_name", name))] += 1
    return counts


class ExecuTorchBackend(Backend):
    name = "executorch"
    tools = ("executorch", "torchao")
    op_patterns = (re.compile(r"Missing out variants?:?\s*\{?([^}\n]*)"), ATEN_OP)
    op_hints = {
        "capture": CAPTURE_HINT,
        "lower": "no XNNPACK delegate and no portable out-variant kernel; replace the op or export with another target",
    }
    lower_failure = "ExecuTorch lowering failed"

    def quantizer(self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]) -> PT2EQuantizer:
        return PT2EQuantizer(
            xnnpack_quantizer(keep_float, req.options["per_channel"]),
            notes=["int8: PT2E XNNPACKQuantizer, symmetric per-channel weights, per-tensor int8 activations"],
        )

    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        edge = to_edge_transform_and_lower(program.exported(), partitioner=[XnnpackPartitioner()])
        delegated_ops = _graph_ops(edge.exported_program())
        buffer = edge.to_executorch().buffer
        (stage_dir / ENCODER_FILE).write_bytes(buffer)
        remaining = {
            op: n
            for op, n in delegated_ops.items()
            if "executorch_call_delegate" not in op and op not in ("getitem", "<built-in function getitem>")
        }
        delegates = sum(n for op, n in delegated_ops.items() if "executorch_call_delegate" in op)
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec("image", req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=program.notes,
            details={"xnnpack_delegates": delegates, "ops_outside_delegate": remaining},
        )
