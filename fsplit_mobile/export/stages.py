"""The shared export stages (capture, quantize, lower, verify, report), each written once for every backend.

api.py runs them per artifact in this order and times each; backends/base.py says what a backend supplies.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..runtime.encoders import EncoderUnavailableError
from ..runtime.preprocess import from_model_output, to_model_input
from .backends.base import Backend, Captured, NativeQuantizer, Program, Quantized, converter_error
from .backends.pt2e import quantize_pt2e, resolve_keep_float
from .errors import ExportError, UnsupportedQuantizationError
from .fidelity import NOT_EXECUTED, Reference, build_report
from .options import OptionError, validate_options
from .request import ExportRequest
from .results import LoweredModel, VerifyResult


def check_request(backend: Backend, req: ExportRequest) -> ExportRequest:
    """`req` with validated options (defaults filled in); errors for what this backend cannot do."""
    if req.quantization not in backend.quantizations:
        raise UnsupportedQuantizationError(backend.name, req.quantization, backend.quantizations)
    try:
        options = validate_options(backend.options, req.options, backend.name)
    except OptionError as e:
        raise ExportError(f"options of target {backend.name}: {e}") from None
    return dataclasses.replace(req, options=options)


# ---- capture ----------------------------------------------------------------------------------------------------
def capture(backend: Backend, module: torch.nn.Module, example: torch.Tensor, req: ExportRequest) -> Captured:
    """torch.export of backend.graph(module, req) at the canonical example (batch 1)."""
    graph = backend.graph(module, req)
    args, kwargs = graph.inputs(example)
    try:
        program = torch.export.export(graph.module, args, kwargs)
    except Exception as e:  # torch.export raises many types; name the op when it can be found
        raise converter_error(backend, "capture", e) from e
    names = frozenset(name for name, _ in module.named_modules() if name)
    return Captured(program=program, graph=graph, example=example, module_names=names)


# ---- quantize ---------------------------------------------------------------------------------------------------
def quantize(
    backend: Backend, captured: Captured, calib_batches: Iterable[torch.Tensor], req: ExportRequest
) -> Quantized | None:
    """None for "none"; else the backend's quantizer on the captured program (PT2E: shared calibration)."""
    if req.quantization == "none":
        return None
    keep_float = resolve_keep_float(captured, req.options["keep_float"])
    plan = backend.quantizer(captured, req, [captured.graph.prefix + name for name in keep_float])
    calibrate = backend.needs_calibration(req)
    batches = list(calib_batches) if calibrate else []
    if isinstance(plan, NativeQuantizer):  # converts to the target's format first: failures read as lowering
        try:
            return plan.quantize(captured, batches)
        except Exception as e:
            raise converter_error(backend, "lower", e) from e
    quantized = quantize_pt2e(captured, plan, batches, calibrate)
    if keep_float and plan.keeps_float:
        quantized.notes.append(f"kept in float (fp32 weights and activations): {', '.join(keep_float)}")
    return quantized


# ---- lower ------------------------------------------------------------------------------------------------------
def lower(backend: Backend, program: Program, stage_dir: Path, req: ExportRequest) -> LoweredModel:
    """backend.lower; converter failures become UnsupportedOpError (op named) or one-line ExportError."""
    try:
        return backend.lower(program, Path(stage_dir), req)
    except Exception as e:
        raise converter_error(backend, "lower", e) from e


# ---- verify -----------------------------------------------------------------------------------------------------
def verify(
    backend: Backend, stage_dir: Path, lowered: LoweredModel, inputs: Sequence[np.ndarray], req: ExportRequest
) -> VerifyResult:
    """Run the written file through fsplit_mobile.runtime on canonical inputs -> canonical outputs."""
    path = Path(stage_dir) / lowered.encoder_file
    checks = backend.checks(path, lowered, req)
    if not backend.can_execute():
        return VerifyResult(
            executed=False,
            reason=NOT_EXECUTED,
            runtime=f"{backend.runtime_name()} (spec validation only)",
            checks=checks,
        )
    try:
        runtime = backend.open_runtime(path)
    except EncoderUnavailableError as e:
        raise converter_error(backend, "verify", e) from e
    in_spec, out_spec = lowered.input.to_dict(), {**lowered.output.to_dict(), "kind": req.output}
    outputs = [from_model_output(runtime.run(to_model_input(x, in_spec)), out_spec, req.latent_shape) for x in inputs]
    return VerifyResult(executed=True, outputs=outputs, runtime=backend.runtime_name(), checks=checks)


# ---- report -----------------------------------------------------------------------------------------------------
def report(
    req: ExportRequest,
    verified: VerifyResult,
    lowered: LoweredModel,
    ref: Reference,
    *,
    medians: np.ndarray,
    encode: Callable[[np.ndarray], bytes],
    server_top1: Callable[[list[np.ndarray]], list[int]] | None,
    notes: Sequence[str],
    extra: dict,
) -> dict:
    """The fidelity report of one artifact against eager fp32 on the held-out samples."""
    return build_report(
        model_id=req.model_id,
        target=req.target,
        quantization=req.quantization,
        verify=verified,
        ref=ref,
        kind=req.output,
        medians=medians,
        encode=encode,
        server_top1=server_top1,
        reference_desc=f"PyTorch {torch.__version__} eager fp32 ({platform.machine()})",
        notes=list(notes) + list(lowered.notes),
        details=lowered.details,
        extra=extra,
    )
