"""`export(...)`: recipe/checkpoint -> one verified artifact folder per (target, quantization).

A run loads the model ("load"), builds the shared preparation once (prepare.py: tables, eager fp32 reference,
server.onnx, calibration inputs; "prepare"), then makes each artifact with the shared stages of stages.py
(capture, quantize, lower, verify, report; progress events name them, each timed). The folder is written as
`<target>-<quant>.partial` and renamed when complete (manifest.json last).
"""

from __future__ import annotations

import platform
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from . import stages
from .backends import backend_class, get_backend, resolve_targets
from .backends.base import Program, first_line
from .context import ExportContext
from .errors import ExportError, RecipeError, VerificationError
from .fidelity import write_report
from .manifest import StagedArtifact, build_manifest
from .payload import CHOICES as PAYLOAD_CHOICES
from .prepare import Shared, prepare
from .recipe import DEFAULT_RECIPE, checkpoint_recipe, load_recipe
from .request import ExportRequest, check_quantization

STEPS = ("capture", "quantize", "lower", "verify", "report")
# Sanity limits: beyond these the export is considered broken and the folder is not completed.
MAX_FP32_FLIP_FRACTION = 1e-3
MAX_INT8_FLIP_FRACTION = 0.25

Progress = Callable[..., None]


@dataclass
class ArtifactResult:
    target: str
    quantization: str
    variant: str = ""  # e.g. the SoC of a qnn artifact (Backend.variants)
    path: Path | None = None
    ok: bool = False
    error: str | None = None
    executed: bool | None = None
    metrics: dict | None = None
    targets: dict | None = None
    size_bytes: int | None = None
    timings_s: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "quantization": self.quantization,
            "variant": self.variant,
            "path": str(self.path) if self.path else None,
            "ok": self.ok,
            "error": self.error,
            "executed": self.executed,
            "metrics": self.metrics,
            "targets": self.targets,
            "size_bytes": self.size_bytes,
            "timings_s": self.timings_s,
        }


@dataclass
class ExportSummary:
    model_id: str
    out_dir: Path
    results: list[ArtifactResult] = field(default_factory=list)
    timings_s: dict = field(default_factory=dict)  # the run's shared steps: load, prepare

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict:
        return {
            "model_id": self.model_id,
            "out_dir": str(self.out_dir),
            "ok": self.ok,
            "timings_s": self.timings_s,
            "artifacts": [r.to_dict() for r in self.results],
        }


def _noop(*_args, **_kwargs):
    pass


def _tree_size(path: Path) -> int:
    path = Path(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


# ---- one artifact ----------------------------------------------------------------------------------------------
@contextmanager
def _step(timings: dict, name: str, progress: Progress, label: str | None):
    """Time one step into `timings[name]`, with step_start/step_end events (label None: a shared step)."""
    where = {"artifact": label} if label is not None else {}
    progress("step_start", step=name, **where)
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)
    progress("step_end", step=name, seconds=timings[name], **where)


def _export_one(
    ctx: ExportContext,
    shared: Shared | None,
    target: str,
    quant: str,
    out_dir: Path,
    progress: Progress,
    result: ArtifactResult,
    options: dict,
    label: str,
) -> None:
    backend = get_backend(target)
    req = stages.check_request(
        backend,
        ExportRequest(
            model_id=ctx.model_id,
            target=target,
            quantization=quant,
            input_size=ctx.input_size,
            mean=ctx.mean,
            std=ctx.std,
            normalization_in_graph=ctx.normalization_in_graph,
            output=ctx.output,
            latent_shape=ctx.latent_shape,
            options=options,
        ),
    )
    if shared is None:  # _prepare skips only runs in which no request passes the check above
        raise ExportError(f"{label}: the run's shared preparation was not built")
    staged = StagedArtifact(out_dir / label)
    stage = staged.begin()
    notes: list[str] = []
    timings = result.timings_s
    with _step(timings, "capture", progress, label):
        captured = stages.capture(backend, ctx.module, ctx.example, req)
        device_compute = _device_compute(captured.program, ctx.recipe.teacher, req.input_size)
    with _step(timings, "quantize", progress, label):
        calibrate = quant != "none" and backend.needs_calibration(req)
        quantized = stages.quantize(backend, captured, shared.calibration_batches() if calibrate else [], req)
        if calibrate:
            notes.append(f"calibration: {shared.calib_desc}")
    with _step(timings, "lower", progress, label):
        lowered = stages.lower(backend, Program(captured, quantized), stage, req)
        files = dict(lowered.files)
        for role, (name, source) in shared.side_files().items():
            shutil.copyfile(source, stage / name)
            files[role] = name
    with _step(timings, "verify", progress, label):
        verified = stages.verify(backend, stage, lowered, shared.eval_inputs, req)
    with _step(timings, "report", progress, label):
        result.size_bytes = _tree_size(stage / lowered.encoder_file)
        report = stages.report(
            req,
            verified,
            lowered,
            shared.reference,
            medians=ctx.medians,
            encode=shared.encode,
            server_top1=ctx.server_top1 if shared.classifier else None,
            notes=notes + shared.notes,
            extra={
                "server_check": shared.server.get("check"),
                "size_bytes": result.size_bytes,
                "device_compute": device_compute,
                "timings_s": dict(timings),
            },
        )
        write_report(stage, report)
    result.executed = verified.executed
    result.metrics = report["metrics"]
    result.targets = report["targets"]
    if verified.executed:
        flips = report["metrics"]["symbol_flip_fraction"]
        limit = backend.flip_limit(quant) or (MAX_FP32_FLIP_FRACTION if quant == "none" else MAX_INT8_FLIP_FRACTION)
        if flips > limit:
            raise VerificationError(
                f"{label}: {100 * flips:.2f} % of symbols differ from eager fp32 (limit "
                f"{100 * limit:.2f} %); see {stage / 'report.md'}"
            )
    tool_versions = {
        "fsplit_mobile": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        **backend.tool_versions(),
    }
    manifest = build_manifest(
        req,
        lowered,
        files=files,
        medians=ctx.medians.tolist(),
        tables_hash=shared.tables_hash,
        tables_precision=shared.tables.precision,
        resize=ctx.recipe.resize,
        server=shared.server_manifest(),
        tool_versions=tool_versions,
        device_compute=device_compute,
        payload=shared.payload,
    )
    result.path = staged.commit(manifest)
    result.ok = True


def _device_compute(program, teacher: str | None, input_size) -> dict:
    """SC2's first criterion for the artifact: the MACs of the captured encoder graph (per image) and, for a task
    model whose teacher is known, their share of the full network's MACs at the same input size."""
    from ..models.macs import graph_macs, teacher_macs

    out: dict = {"macs": int(graph_macs(program)), "counted_from": "torch.export graph of the device encoder"}
    if teacher == "efficientnet-lite0":
        network = teacher_macs((int(input_size[0]), int(input_size[1])))
        out.update({"network": teacher, "network_macs": int(network), "share": out["macs"] / network})
    return out


# ---- entry point -----------------------------------------------------------------------------------------------
@contextmanager
def _torch_threads(n: int | None):
    """Run with `n` torch intra-op threads (restored after). None: leave torch's setting alone."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def export(
    target="all",
    quantize="none",
    *,
    checkpoint=None,
    recipe=None,
    calib=None,
    input_size=None,
    output=None,
    out=None,
    normalization_in_graph=None,
    keep_going=None,
    torch_threads: int | None = 1,
    target_options: dict[str, dict] | None = None,
    progress: Progress | None = None,
    payload: str = "auto",
) -> ExportSummary:
    """Export a model to one artifact folder per (target, quantization) under `out` (docs/artifact.md).

    target: a target name (fsplit_mobile/runtime/targets.py; `fsplit-export --help` lists them), "all" (the CPU
    targets) or a list; quantize: "none" | "int8" | ... or a list. With neither `checkpoint` nor `recipe` the
    bundled default model is exported (bundled recipe light_lite0); `checkpoint` alone uses the
    checkpoint's own settings; both: the recipe with that checkpoint. Raises ExportError (one clear line; a bad
    checkpoint: the reader's CheckpointError, which fsplit_mobile.export.errors re-exports) on the first failure
    unless keep_going (default: True for several targets), in which case every failure is in the summary.

    torch_threads: torch intra-op threads during the export (default 1). Export is graph work plus small
    eager passes (calibration, reference, server part); on a busy host, OpenMP threads spinning against
    other processes made those passes ~20x slower (measured on a shared 2-core machine), so one thread is
    the robust default. The runtimes used for verification keep their own thread pools.

    target_options: {target: {option: value}} over the recipe's [targets.<name>] tables (the CLI's --soc and
    --allow-fallback). A backend may make several artifacts per quantization (qnn: one per SoC, folder
    qnn-<soc>-<quant>).

    payload: the stream payload the artifact's writers use, recorded in the manifest (docs/artifact.md "payload"):
    "auto" (default) measures the single stream and the interleaved payload version 2 on the reference latents and
    takes version 2 when its bytes are within 1 % of the single stream's; "single" / "interleaved2" force one.
    """
    with _torch_threads(torch_threads):
        return _export(
            target,
            quantize,
            checkpoint=checkpoint,
            recipe=recipe,
            calib=calib,
            input_size=input_size,
            output=output,
            out=out,
            normalization_in_graph=normalization_in_graph,
            keep_going=keep_going,
            target_options=target_options or {},
            progress=progress,
            payload=payload,
        )


def _export(
    target,
    quantize,
    *,
    checkpoint,
    recipe,
    calib,
    input_size,
    output,
    out,
    normalization_in_graph,
    keep_going,
    target_options,
    progress,
    payload="auto",
) -> ExportSummary:
    progress = progress or _noop
    if payload not in PAYLOAD_CHOICES:
        raise ExportError(f"payload must be one of {', '.join(PAYLOAD_CHOICES)}, got {payload!r}")
    targets = resolve_targets(target)
    quants = [quantize] if isinstance(quantize, str) else list(quantize)
    for q in quants:
        check_quantization(q)
    if recipe is not None:
        rec = load_recipe(recipe)
        if checkpoint is not None:
            rec.checkpoint = Path(checkpoint)
    elif checkpoint is not None:
        rec = checkpoint_recipe(Path(checkpoint))
    else:
        if not DEFAULT_RECIPE.is_file():
            raise RecipeError(
                f"default recipe {DEFAULT_RECIPE} not found: this fsplit-mobile installation lacks its "
                "package data (reinstall it, or pass --recipe/--checkpoint)"
            )
        rec = load_recipe(DEFAULT_RECIPE)
    for t in target_options:
        if t not in targets:
            raise ExportError(f"options given for target {t!r}, which is not being exported")
    options = {t: {**rec.options_for(t), **target_options.get(t, {})} for t in targets}
    variants = {t: get_backend(t).variants(options[t]) for t in targets}
    if keep_going is None:
        keep_going = sum(len(v) for v in variants.values()) * len(quants) > 1

    progress("load_start", recipe=str(rec.path) if rec.path else None, checkpoint=str(rec.checkpoint))
    t0 = time.perf_counter()
    ctx = ExportContext(
        rec, input_size=input_size, output=output, normalization_in_graph=normalization_in_graph, calib=calib
    )
    load_s = round(time.perf_counter() - t0, 3)
    progress("load_end", model_id=ctx.model_id, latent_shape=list(ctx.latent_shape), seconds=load_s)
    out_dir = Path(out) if out is not None else Path("artifacts") / ctx.model_id
    summary = ExportSummary(ctx.model_id, out_dir, timings_s={"load": load_s})
    shared, shared_error = _prepare(ctx, targets, quants, summary, progress, payload)
    try:
        for t in targets:
            for q in quants:
                for part, overrides in variants[t]:
                    label = f"{t}-{part}-{q}" if part else f"{t}-{q}"
                    result = ArtifactResult(t, q, variant=part)
                    summary.results.append(result)
                    progress("artifact_start", artifact=label, steps=STEPS)
                    try:
                        if shared_error is not None:  # every artifact fails as it would have without a shared step
                            raise shared_error
                        _export_one(ctx, shared, t, q, out_dir, progress, result, {**options[t], **overrides}, label)
                    except ExportError as e:
                        result.error = str(e)
                        if not keep_going:
                            raise
                    except Exception as e:  # a converter bug: keep the message, name the artifact
                        result.error = f"{label}: unexpected {type(e).__name__}: {first_line(e)}"
                        if not keep_going:
                            raise ExportError(result.error) from e
                    finally:
                        progress("artifact_end", artifact=label, ok=result.ok, path=result.path, error=result.error)
    finally:
        if shared is not None:
            shared.close()
    return summary


def _prepare(
    ctx: ExportContext,
    targets: list[str],
    quants: list[str],
    summary: ExportSummary,
    progress: Progress,
    payload: str = "auto",
) -> tuple[Shared | None, Exception | None]:
    """The shared preparation, timed as the run's "prepare" step; (None, error) when it failed, (None, None)
    when no artifact of the run can be made (every (target, quantization) is unsupported: fail at once)."""
    pairs = [(t, q) for t in targets for q in quants if q in backend_class(t).quantizations]
    if not pairs:
        return None, None
    calibrate = any(
        q != "none" and get_backend(t).needs_calibration(ExportRequest(ctx.model_id, t, q)) for t, q in pairs
    )
    progress("prepare_start", calibration=calibrate)
    t0 = time.perf_counter()
    try:
        shared, error = prepare(ctx, calibrate, payload), None
    except Exception as e:
        shared, error = None, e
    summary.timings_s["prepare"] = round(time.perf_counter() - t0, 3)
    progress("prepare_end", seconds=summary.timings_s["prepare"], ok=error is None)
    return shared, error
