"""`export(...)`: recipe/checkpoint -> one verified artifact folder per (target, quantization).

Per artifact the steps are capture, quantize, lower, verify, report (progress events name them); the folder is
written as `<target>-<quant>.partial` and renamed when complete (manifest.json last). What all artifacts of one
run share (model, calibration and evaluation inputs, eager fp32 reference, tables, server.onnx) is built once.
"""
from __future__ import annotations

import hashlib
import platform
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .. import __version__
from .base import (
    CheckpointError,
    ExportError,
    ExportRequest,
    QUANTIZATIONS,
    RecipeError,
    VerificationError,
)
from .calibration import calibration_batches, canonical_inputs, list_images, load_views
from .fidelity import Reference, build_report, to_symbols, write_report
from .manifest import StagedArtifact, build_manifest
from .recipe import DEFAULT_RECIPE, Recipe, checkpoint_recipe, load_recipe
from .targets import get_exporter, resolve_targets

STEPS = ("capture", "quantize", "lower", "verify", "report")
TABLES_FILE = "tables.fsct"
SERVER_FILE = "server.onnx"
LABELS_FILE = "labels.txt"
# Sanity limits: beyond these the export is considered broken and the folder is not completed.
MAX_FP32_FLIP_FRACTION = 1e-3
MAX_INT8_FLIP_FRACTION = 0.25
EVAL_BATCH = 16  # held-out samples per eager call (reference, teacher, server part)

Progress = Callable[..., None]


@dataclass
class ArtifactResult:
    target: str
    quantization: str
    path: Path | None = None
    ok: bool = False
    error: str | None = None
    executed: bool | None = None
    metrics: dict | None = None
    targets: dict | None = None
    size_bytes: int | None = None
    timings_s: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"target": self.target, "quantization": self.quantization,
                "path": str(self.path) if self.path else None, "ok": self.ok, "error": self.error,
                "executed": self.executed, "metrics": self.metrics, "targets": self.targets,
                "size_bytes": self.size_bytes, "timings_s": self.timings_s}


@dataclass
class ExportSummary:
    model_id: str
    out_dir: Path
    results: list[ArtifactResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict:
        return {"model_id": self.model_id, "out_dir": str(self.out_dir), "ok": self.ok,
                "artifacts": [r.to_dict() for r in self.results]}


def _noop(*_args, **_kwargs):
    pass


def _tree_size(path: Path) -> int:
    path = Path(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


# ---- what one run shares ---------------------------------------------------------------------------------------
class ExportContext:
    """Model, inputs, reference outputs and side files shared by all artifacts of one export run."""

    def __init__(self, recipe: Recipe, *, input_size=None, output=None, normalization_in_graph=None, calib=None):
        self.recipe = recipe
        self.split = self._load_model(recipe)
        self.model_id = recipe.model_id or self.split.model_id
        if input_size is not None:
            recipe.input_size = (int(input_size[0]), int(input_size[1]))
        self.input_size = tuple(recipe.input_size or self.split.input_size)
        if min(self.input_size) < 16 or any(s % 8 for s in self.input_size):
            raise ExportError(f"input size {list(self.input_size)} must have sides that are multiples of 8, >= 16")
        self.split.input_size = self.input_size
        self.mean = tuple(recipe.mean or self.split.mean)
        self.std = tuple(recipe.std or self.split.std)
        self.output = output or recipe.output
        self.normalization_in_graph = recipe.normalization_in_graph if normalization_in_graph is None \
            else bool(normalization_in_graph)
        self.calib_dir = Path(calib) if calib else recipe.calib_images
        self.notes: list[str] = []

        device = self.split.device.eval()
        eb = device.entropy_bottleneck
        if not eb.has_tables():
            raise CheckpointError(f"model {self.model_id}: entropy bottleneck has no CDF tables (call update())")
        self.medians = eb.medians().detach().float().numpy()
        trivial = all(m == 0 for m in self.mean) and all(s == 1 for s in self.std)
        fold = (self.mean, self.std) if self.normalization_in_graph and not trivial else None
        self.module = device.export_module(self.output, fold).eval()
        self.example = torch.zeros(1, 3, *self.input_size)
        with torch.no_grad():
            self.latent_shape = tuple(int(s) for s in self.module.encoder(self.example).shape[1:])
        self.canonical_spec = {"shape": [1, 3, *self.input_size], "layout": "NCHW", "color": "RGB",
                               "value_range": [0.0, 1.0], "mean": list(self.mean), "std": list(self.std),
                               "normalization_in_graph": self.normalization_in_graph, "quantization": None}
        self._tmp = Path(tempfile.mkdtemp(prefix="fsplit-export-"))
        self._calib = None
        self._reference = None
        self._eval_inputs = None
        self._tables = None
        self._server = None

    # -- model --
    @staticmethod
    def _load_model(recipe: Recipe):
        from ..models.checkpoint import CheckpointError as ModelCheckpointError
        from ..models.checkpoint import load_checkpoint

        if recipe.checkpoint is None:
            where = recipe.path or "the recipe"
            raise RecipeError(f"{where}: field model.checkpoint is not set; pass --checkpoint PATH")
        try:
            split = load_checkpoint(recipe.checkpoint)
        except ModelCheckpointError as e:
            raise CheckpointError(str(e).splitlines()[0]) from e
        except (OSError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{recipe.checkpoint}: cannot load checkpoint ({str(e).splitlines()[0]})") from e
        if recipe.architecture and split.architecture != recipe.architecture:
            raise RecipeError(f"{recipe.path}: field model.architecture is {recipe.architecture!r} but checkpoint "
                              f"{recipe.checkpoint} holds {split.architecture!r}")
        return split

    def device_canonical(self, x: torch.Tensor) -> torch.Tensor:
        """Eager fp32 reference of the device graph on a canonical input (un-baked GDN, plain normalisation)."""
        if self.normalization_in_graph:
            mean = torch.tensor(self.mean).reshape(1, 3, 1, 1)
            std = torch.tensor(self.std).reshape(1, 3, 1, 1)
            x = (x - mean) / std
        with torch.no_grad():
            y = self.split.device(x)
            if self.output == "latent":
                return y
            return self.split.device.entropy_bottleneck.symbols(y)

    # -- inputs --
    def calib_batches(self) -> list[torch.Tensor]:
        if self._calib is None:
            files = list_images(self.calib_dir, "calibration")
            eval_hashes = self._file_hashes(self._eval_files(required=False))
            overlap = [f.name for f in files if self._file_hashes([f]) & eval_hashes]
            if overlap:
                self.notes.append(f"calibration images overlap the held-out evaluation images: {', '.join(overlap)}")
            images = load_views(files, self.input_size, self.recipe.calib_views, self.recipe.resize, "calibration")
            self._calib = calibration_batches(images, self.canonical_spec)
            self.calib_desc = f"{len(files)} images x {self.recipe.calib_views} views from {self.calib_dir}"
        return self._calib

    def _eval_files(self, required=True):
        try:
            return list_images(self.recipe.eval_images, "evaluation")
        except ExportError:
            if required:
                raise
            return []

    @staticmethod
    def _file_hashes(files) -> set[str]:
        return {hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}

    @property
    def reference(self) -> Reference:
        if self._reference is None:
            self._build_reference()
        return self._reference

    @property
    def eval_inputs(self) -> list[np.ndarray]:
        if self._eval_inputs is None:
            self._build_reference()
        return self._eval_inputs

    def _build_reference(self):
        files = self._eval_files()
        images = load_views(files, self.input_size, self.recipe.eval_views, self.recipe.resize, "evaluation")
        inputs = canonical_inputs(images, self.canonical_spec)
        outputs = []
        for start in range(0, len(inputs), EVAL_BATCH):
            batch = torch.from_numpy(np.concatenate(inputs[start:start + EVAL_BATCH]))
            outputs.extend(o[None] for o in self.device_canonical(batch).numpy())
        symbols = [to_symbols(o, self.output, self.medians) for o in outputs]
        tables = self.tables
        from ..codec import encode_latent

        sizes = [len(encode_latent(tables, s)) for s in symbols]
        server_top1 = self.server_top1(symbols) if self.classifier else None
        teacher_top1 = self._teacher_top1(images) if self.classifier else None
        self._eval_inputs = inputs
        self._reference = Reference(names=[n for n, _ in images], outputs=outputs, symbols=symbols,
                                    bytes_per_sample=sizes, teacher_top1=teacher_top1, server_top1=server_top1,
                                    input_size=self.input_size, images=[f.name for f in files],
                                    views=self.recipe.eval_views)

    def _teacher_top1(self, images) -> list[int] | None:
        if self.recipe.teacher == "none":
            return None
        if any(s % 32 for s in self.input_size):
            self.notes.append(f"teacher agreement not measured: {self.recipe.teacher} needs input sides that are "
                              "multiples of 32")
            return None
        from ..models.teacher import load_efficientnet_lite0

        teacher = load_efficientnet_lite0()
        spec = dict(self.canonical_spec, normalization_in_graph=False)
        inputs = canonical_inputs(images, spec)
        out = []
        with torch.no_grad():
            for start in range(0, len(inputs), EVAL_BATCH):
                x = torch.from_numpy(np.concatenate(inputs[start:start + EVAL_BATCH]))
                out.extend(int(i) for i in teacher(x).argmax(1))
        return out

    # -- side files --
    @property
    def tables(self):
        if self._tables is None:
            from ..codec import CodecTables

            eb = self.split.device.entropy_bottleneck
            cdf, lengths, offsets = eb.tables()
            self._tables = CodecTables.from_arrays(cdf, lengths, offsets, eb.precision)
            self._tables.write(self._tmp / TABLES_FILE)
        return self._tables

    def tables_file(self) -> Path:
        self.tables  # writes the file on first use
        return self._tmp / TABLES_FILE

    @property
    def tables_hash(self) -> str:
        h = self.tables.content_hash
        return h.hex() if isinstance(h, (bytes, bytearray)) else str(h)

    @property
    def classifier(self) -> bool:
        """Whether the server part ends in class logits (server.onnx is written only then)."""
        if self._server is None:
            self._server = self._probe_server()
        return self._server["classifier"]

    def _probe_server(self) -> dict:
        server = self.split.server
        if server is None:
            return {"classifier": False, "reason": "model has no server part"}
        with torch.no_grad():
            out = server.eval()(torch.zeros(1, *self.latent_shape, dtype=torch.int32))
        if out.ndim != 2:
            self.notes.append(f"server part outputs shape {tuple(out.shape)} (not class logits): no server.onnx "
                              "and no top-1 agreement")
            return {"classifier": False, "reason": "server part is not a classifier"}
        return {"classifier": True, "num_classes": int(out.shape[1])}

    def server_top1(self, symbols: list[np.ndarray]) -> list[int]:
        """Top-1 class of the server part for each (C, H, W) int32 symbol array."""
        out = []
        with torch.no_grad():
            for start in range(0, len(symbols), EVAL_BATCH):
                batch = torch.from_numpy(np.stack(symbols[start:start + EVAL_BATCH]))
                out.extend(int(i) for i in self.split.server(batch).argmax(1))
        return out

    def server_file(self) -> Path | None:
        """server.onnx (exported once per run, checked against eager with onnxruntime)."""
        if not self.classifier:
            return None
        path = self._tmp / SERVER_FILE
        if not path.exists():
            from ..runtime.encoders import open_backend
            from .onnx import export_onnx

            example = torch.from_numpy(self.reference.symbols[0][None].copy())
            export_onnx(self.split.server.eval(), example, path, "symbols", "logits", target="server.onnx",
                        strip_metadata=True)
            session = open_backend("onnx", path)
            diffs = []
            for sym in self.reference.symbols[:2]:
                got = session.run(np.ascontiguousarray(sym[None]))
                with torch.no_grad():
                    want = self.split.server(torch.from_numpy(sym[None])).numpy()
                diffs.append(float(np.abs(got - want).max()))
            self._server["check"] = {"runtime": "onnxruntime", "max_abs_logit_diff_vs_eager": max(diffs)}
            if max(diffs) > 1e-2:
                raise VerificationError(f"server.onnx logits differ from eager by {max(diffs):.3g}")
        return path

    def server_manifest(self) -> dict | None:
        if not self.classifier:
            return None
        return {"file": SERVER_FILE, "input": "symbols", "output": "logits",
                "num_classes": self._server["num_classes"]}

    def labels_file(self) -> Path | None:
        from .recipe import PACKAGE_DIR

        f = PACKAGE_DIR / "data" / "imagenet_labels.txt"
        if not self.classifier or not f.is_file():
            return None
        n = len(f.read_text(encoding="utf-8").splitlines())
        return f if n == self._server["num_classes"] else None

    def close(self):
        shutil.rmtree(self._tmp, ignore_errors=True)


# ---- one artifact ----------------------------------------------------------------------------------------------
@contextmanager
def _step(result: ArtifactResult, name: str, progress: Progress, label: str):
    progress("step_start", artifact=label, step=name)
    t0 = time.perf_counter()
    yield
    result.timings_s[name] = round(time.perf_counter() - t0, 3)
    progress("step_end", artifact=label, step=name, seconds=result.timings_s[name])


def _export_one(ctx: ExportContext, target: str, quant: str, out_dir: Path, progress: Progress,
                result: ArtifactResult) -> None:
    exporter = get_exporter(target)
    req = ExportRequest(model_id=ctx.model_id, target=target, quantization=quant, input_size=ctx.input_size,
                        mean=ctx.mean, std=ctx.std, normalization_in_graph=ctx.normalization_in_graph,
                        output=ctx.output, latent_shape=ctx.latent_shape,
                        options=ctx.recipe.options_for(target))
    exporter.check_request(req)
    label = f"{target}-{quant}"
    staged = StagedArtifact(out_dir / label)
    stage = staged.begin()
    notes: list[str] = []
    with _step(result, "capture", progress, label):
        captured = exporter.capture(ctx.module, ctx.example, req)
    with _step(result, "quantize", progress, label):
        calib = ctx.calib_batches() if quant != "none" and exporter.needs_calibration(req) else []
        captured = exporter.quantize(captured, ctx.module, calib, req)
        if calib:
            notes.append(f"calibration: {ctx.calib_desc}")
    with _step(result, "lower", progress, label):
        lowered = exporter.lower(captured, stage, req)
        files = dict(lowered.files)
        shutil.copyfile(ctx.tables_file(), stage / TABLES_FILE)
        files["tables"] = TABLES_FILE
        server = ctx.server_file()
        if server is not None:
            shutil.copyfile(server, stage / SERVER_FILE)
            files["server"] = SERVER_FILE
        labels = ctx.labels_file()
        if labels is not None:
            shutil.copyfile(labels, stage / LABELS_FILE)
            files["labels"] = LABELS_FILE
    with _step(result, "verify", progress, label):
        verified = exporter.verify(stage, lowered, ctx.eval_inputs, req)
    with _step(result, "report", progress, label):
        from ..codec import encode_latent

        result.size_bytes = _tree_size(stage / lowered.encoder_file)
        report = build_report(
            model_id=ctx.model_id, target=target, quantization=quant, verify=verified, ref=ctx.reference,
            kind=ctx.output, medians=ctx.medians, encode=lambda s: encode_latent(ctx.tables, s),
            server_top1=ctx.server_top1 if ctx.classifier else None,
            reference_desc=f"PyTorch {torch.__version__} eager fp32 ({platform.machine()})",
            notes=notes + list(lowered.notes) + ctx.notes, details=lowered.details,
            extra={"server_check": (ctx._server or {}).get("check"), "size_bytes": result.size_bytes,
                   "timings_s": dict(result.timings_s)})
        write_report(stage, report)
    result.executed = verified.executed
    result.metrics = report["metrics"]
    result.targets = report["targets"]
    if verified.executed:
        flips = report["metrics"]["symbol_flip_fraction"]
        limit = MAX_FP32_FLIP_FRACTION if quant == "none" else MAX_INT8_FLIP_FRACTION
        if flips > limit:
            raise VerificationError(f"{label}: {100 * flips:.2f} % of symbols differ from eager fp32 (limit "
                                    f"{100 * limit:.2f} %); see {stage / 'report.md'}")
    tool_versions = {"fsplit_mobile": __version__, "python": platform.python_version(),
                     "numpy": np.__version__, **exporter.tool_versions()}
    manifest = build_manifest(req, lowered, files=files, medians=ctx.medians.tolist(), tables_hash=ctx.tables_hash,
                              tables_precision=ctx.tables.precision, resize=ctx.recipe.resize,
                              server=ctx.server_manifest(), tool_versions=tool_versions)
    result.path = staged.commit(manifest)
    result.ok = True


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


def export(target="all", quantize="none", *, checkpoint=None, recipe=None, calib=None, input_size=None,
           output=None, out=None, normalization_in_graph=None, keep_going=None, torch_threads: int | None = 1,
           progress: Progress | None = None) -> ExportSummary:
    """Export a model to one artifact folder per (target, quantization) under `out` (docs/artifact.md).

    target: "executorch" | "coreml" | "tflite" | "onnx" | "all" or a list; quantize: "none" | "int8" | ... or a
    list. With neither `checkpoint` nor `recipe` the bundled default model is exported (bundled recipe
    frankensplit_lite0); `checkpoint` alone uses the checkpoint's own settings; both: the recipe with
    that checkpoint. Raises ExportError (one clear line) on the first failure unless keep_going (default: True
    for several targets), in which case every failure is in the summary.

    torch_threads: torch intra-op threads during the export (default 1). Export is graph work plus small
    eager passes (calibration, reference, server part); on a busy host, OpenMP threads spinning against
    other processes made those passes ~20x slower (measured on a shared 2-core machine), so one thread is
    the robust default. The runtimes used for verification keep their own thread pools.
    """
    with _torch_threads(torch_threads):
        return _export(target, quantize, checkpoint=checkpoint, recipe=recipe, calib=calib, input_size=input_size,
                       output=output, out=out, normalization_in_graph=normalization_in_graph,
                       keep_going=keep_going, progress=progress)


def _export(target, quantize, *, checkpoint, recipe, calib, input_size, output, out, normalization_in_graph,
            keep_going, progress) -> ExportSummary:
    progress = progress or _noop
    targets = resolve_targets(target)
    quants = [quantize] if isinstance(quantize, str) else list(quantize)
    for q in quants:
        if q not in QUANTIZATIONS:
            raise ExportError(f"unknown quantization {q!r}; choose one of: {', '.join(QUANTIZATIONS)}")
    if recipe is not None:
        rec = load_recipe(recipe)
        if checkpoint is not None:
            rec.checkpoint = Path(checkpoint)
    elif checkpoint is not None:
        rec = checkpoint_recipe(Path(checkpoint))
    else:
        if not DEFAULT_RECIPE.is_file():
            raise RecipeError(f"default recipe {DEFAULT_RECIPE} not found: this fsplit-mobile installation lacks its "
                              "package data (reinstall it, or pass --recipe/--checkpoint)")
        rec = load_recipe(DEFAULT_RECIPE)
    if keep_going is None:
        keep_going = len(targets) * len(quants) > 1

    progress("load_start", recipe=str(rec.path) if rec.path else None, checkpoint=str(rec.checkpoint))
    ctx = ExportContext(rec, input_size=input_size, output=output, normalization_in_graph=normalization_in_graph,
                        calib=calib)
    progress("load_end", model_id=ctx.model_id, latent_shape=list(ctx.latent_shape))
    out_dir = Path(out) if out is not None else Path("artifacts") / ctx.model_id
    summary = ExportSummary(ctx.model_id, out_dir)
    try:
        for t in targets:
            for q in quants:
                result = ArtifactResult(t, q)
                summary.results.append(result)
                progress("artifact_start", artifact=f"{t}-{q}", steps=STEPS)
                try:
                    _export_one(ctx, t, q, out_dir, progress, result)
                except ExportError as e:
                    result.error = str(e)
                    if not keep_going:
                        raise
                except Exception as e:  # a converter bug: keep the message, name the artifact
                    result.error = f"{t}-{q}: unexpected {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                    if not keep_going:
                        raise ExportError(result.error) from e
                finally:
                    progress("artifact_end", artifact=f"{t}-{q}", ok=result.ok, path=result.path,
                             error=result.error)
    finally:
        ctx.close()
    return summary
