"""Vulkan backend: to_edge_transform_and_lower(VulkanPartitioner) -> encoder.pte with the ExecuTorch Vulkan (GPU)
delegate; placement = operators inside the delegate vs portable CPU ops left outside.

`fp16` lowers with the delegate's force_fp16 (fp16 textures and arithmetic on the GPU); `none` keeps fp32.
The PyPI ExecuTorch runtime has no Vulkan backend compiled in (it registers XNNPACK, QNN and OpenVINO), so
the file is not executed here and its report says so; a device runtime built with Vulkan runs it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import torch

from ...runtime.targets import TARGETS
from ..options import COMMON_OPTIONS
from ..request import ExportRequest
from ..results import LoweredModel, TensorSpec
from .base import ATEN_OP, CAPTURE_HINT, Backend, Captured, NativeQuantizer, Program, Quantized, package_version
from .fallback import FALLBACK_OPTION, enforce_placement

ENCODER_FILE = TARGETS["vulkan"].encoder_file
VULKAN_BACKEND = "VulkanBackend"


def runtime_has_vulkan() -> bool:
    """Whether the ExecuTorch runtime here registers the Vulkan backend."""
    try:
        from executorch.runtime import Runtime

        return bool(Runtime.get().backend_registry.is_available(VULKAN_BACKEND))
    except Exception:  # no runtime, or an older registry API
        return False


class VulkanBackend(Backend):
    name = "vulkan"
    tools = ("executorch",)
    options = {**COMMON_OPTIONS, "fallback": FALLBACK_OPTION}
    op_patterns = (ATEN_OP,)
    op_hints = {
        "capture": CAPTURE_HINT,
        "lower": "neither the Vulkan delegate nor a portable kernel takes it; replace the op",
    }
    lower_failure = "ExecuTorch Vulkan lowering failed"

    def quantizer(self, captured: Captured, req: ExportRequest, keep_float: Sequence[str]) -> NativeQuantizer:
        return NativeQuantizer(functools.partial(self._fp16, req=req))

    @staticmethod
    def _fp16(captured: Captured, _batches: list[torch.Tensor], *, req: ExportRequest) -> Quantized:
        return Quantized(native="force_fp16", notes=["fp16: Vulkan delegate with force_fp16 (fp16 on the GPU)"])

    def lower(self, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
        from executorch.backends.vulkan.partitioner.vulkan_partitioner import VulkanPartitioner
        from executorch.exir import to_edge_transform_and_lower

        from .delegate_placement import delegate_placement

        fp16 = req.quantization == "fp16"
        edge = to_edge_transform_and_lower(
            program.captured.program, partitioner=[VulkanPartitioner({"force_fp16": fp16})]
        )
        placement = delegate_placement(edge, "Vulkan GPU (ExecuTorch Vulkan delegate)")
        placed = enforce_placement(placement, req.options["fallback"], self.name, "GPU")
        (stage_dir / ENCODER_FILE).write_bytes(edge.to_executorch().buffer)
        accelerator = {
            "kind": "gpu",
            "name": "Vulkan GPU (ExecuTorch Vulkan delegate)",
            "api": "Vulkan",
            "runtime": "executorch.runtime built with the Vulkan backend",
            "executorch": package_version("executorch"),
            "precision": "fp16" if fp16 else "fp32",
            "placement": placement.to_dict(),
        }
        return LoweredModel(
            files={"encoder": ENCODER_FILE},
            input=TensorSpec("image", req.input_shape, "float32", "NCHW"),
            output=TensorSpec(req.output, req.output_shape, req.output_dtype, "NCHW"),
            notes=program.notes + placed,
            details={"vulkan_partitions": placement.partitions, "placement": placement.to_dict()},
            accelerator=accelerator,
        )

    def can_execute(self) -> bool:
        return runtime_has_vulkan()

    def runtime_name(self) -> str:
        return "executorch.runtime (Vulkan delegate)" + (
            "" if runtime_has_vulkan() else ": not in this ExecuTorch build"
        )
