"""The shared preparation of one export run: what every artifact uses, built once, explicitly, up front.

`prepare(ctx, calibrate=...)` runs before the first artifact and is timed as its own step ("prepare" in the
progress events, the summary and benchmarks/results/export.json), so no artifact's `lower` is charged for it:

- the codec tables (tables.fsct) of the entropy bottleneck,
- the held-out evaluation inputs and the eager fp32 reference (outputs, symbols, coded sizes, server and
  teacher top-1),
- the stream payload the artifact's writers use (payload.py: measured on the reference latents),
- server.onnx (only when the server part ends in class logits), checked against eager with onnxruntime,
  and labels.txt when the bundled labels match its classes,
- the calibration inputs, when some artifact of the run calibrates (an unusable calibration folder fails
  only those artifacts, as it always did).

Everything is computed here and then only read: nothing writes a file on access.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .calibration import calibration_batches, canonical_inputs, list_images, load_views
from .context import EVAL_BATCH, ExportContext
from .errors import ExportError, VerificationError
from .fidelity import Reference, to_symbols

if TYPE_CHECKING:
    from ..codec import CodecTables

TABLES_FILE = "tables.fsct"
SERVER_FILE = "server.onnx"
LABELS_FILE = "labels.txt"
MAX_SERVER_LOGIT_DIFF = 1e-2


@dataclass
class Shared:
    """The shared preparation's results (read-only for the artifacts)."""

    workdir: Path
    tables: CodecTables
    tables_hash: str
    reference: Reference
    eval_inputs: list[np.ndarray]
    server: dict  # {"classifier": bool, "num_classes"?, "check"?, "reason"?}
    server_file: Path | None = None
    labels_file: Path | None = None
    calibration: list[torch.Tensor] | None = None
    calibration_error: ExportError | None = None
    calib_desc: str = ""
    notes: list[str] = field(default_factory=list)
    payload: dict = field(default_factory=lambda: {"format": "single", "lanes": 1})  # the manifest's block

    def encode(self, symbols) -> bytes:
        """A stream container of `symbols` in the artifact's payload (what its writers will send)."""
        from ..codec import encode_latent

        return encode_latent(
            self.tables, symbols, payload_format=self.payload["format"], lanes=int(self.payload["lanes"])
        )

    @property
    def tables_file(self) -> Path:
        return self.workdir / TABLES_FILE

    @property
    def classifier(self) -> bool:
        return bool(self.server["classifier"])

    def calibration_batches(self) -> list[torch.Tensor]:
        """The calibration inputs; the calibration folder's error when it was unusable."""
        if self.calibration_error is not None:
            raise self.calibration_error
        if self.calibration is None:
            raise ExportError("no artifact of this run was planned to calibrate")
        return self.calibration

    def side_files(self) -> dict[str, tuple[str, Path]]:
        """role -> (file name in the artifact folder, source path) of the shared files every artifact carries."""
        files = {"tables": (TABLES_FILE, self.tables_file)}
        if self.server_file is not None:
            files["server"] = (SERVER_FILE, self.server_file)
        if self.labels_file is not None:
            files["labels"] = (LABELS_FILE, self.labels_file)
        return files

    def server_manifest(self) -> dict | None:
        if not self.classifier:
            return None
        return {"file": SERVER_FILE, "input": "symbols", "output": "logits", "num_classes": self.server["num_classes"]}

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def prepare(ctx: ExportContext, calibrate: bool, payload: str = "auto") -> Shared:
    """Build the shared preparation of `ctx` (calibration inputs only when `calibrate`; `payload`: the choice
    payload.choose makes, "auto" by default)."""
    workdir = Path(tempfile.mkdtemp(prefix="fsplit-export-"))
    try:
        notes: list[str] = []
        tables = _write_tables(ctx, workdir / TABLES_FILE)
        h = tables.content_hash
        server = _probe_server(ctx, notes)
        eval_files = list_images(ctx.recipe.eval_images, "evaluation")
        reference, inputs = _reference(ctx, eval_files, tables, server["classifier"], notes)
        shared = Shared(
            workdir=workdir,
            tables=tables,
            tables_hash=h.hex() if isinstance(h, (bytes, bytearray)) else str(h),
            reference=reference,
            eval_inputs=inputs,
            server=server,
            notes=notes,
            payload=_payload_block(ctx, tables, reference, payload, notes),
        )
        reference.bytes_per_sample = [len(shared.encode(s)) for s in reference.symbols]
        if shared.classifier:
            shared.server_file = _server_onnx(ctx, reference, workdir / SERVER_FILE, server)
            shared.labels_file = _labels(server["num_classes"])
        if calibrate:
            try:
                shared.calibration, shared.calib_desc = _calibration(ctx, eval_files, notes)
            except ExportError as e:
                shared.calibration_error = e
        return shared
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _write_tables(ctx: ExportContext, path: Path) -> CodecTables:
    from ..codec import CodecTables

    eb = ctx.split.device.entropy_bottleneck
    cdf, lengths, offsets = eb.tables()
    tables = CodecTables.from_arrays(cdf, lengths, offsets, eb.precision)
    tables.write(path)
    return tables


def _probe_server(ctx: ExportContext, notes: list[str]) -> dict:
    """Whether the server part ends in class logits (server.onnx and top-1 agreement only then)."""
    server = ctx.split.server
    if server is None:
        return {"classifier": False, "reason": "model has no server part"}
    with torch.no_grad():
        out = server.eval()(torch.zeros(1, *ctx.latent_shape, dtype=torch.int32))
    if out.ndim != 2:
        notes.append(
            f"server part outputs shape {tuple(out.shape)} (not class logits): no server.onnx and no top-1 agreement"
        )
        return {"classifier": False, "reason": "server part is not a classifier"}
    return {"classifier": True, "num_classes": int(out.shape[1])}


def _reference(
    ctx: ExportContext, files: list[Path], tables, classifier: bool, notes: list[str]
) -> tuple[Reference, list[np.ndarray]]:
    from ..codec import encode_latent

    images = load_views(files, ctx.input_size, ctx.recipe.eval_views, ctx.recipe.resize, "evaluation")
    inputs = canonical_inputs(images, ctx.canonical_spec)
    unrounded: list[np.ndarray] = []
    outputs = _eager_outputs(ctx, inputs, unrounded)
    symbols = [to_symbols(o, ctx.output, ctx.medians) for o in outputs]
    sizes = [len(encode_latent(tables, s)) for s in symbols]
    server_top1 = ctx.server_top1(symbols) if classifier else None
    teacher_top1 = _teacher_top1(ctx, images, notes) if classifier else None
    reference = Reference(
        names=[n for n, _ in images],
        outputs=outputs,
        symbols=symbols,
        bytes_per_sample=sizes,
        teacher_top1=teacher_top1,
        server_top1=server_top1,
        input_size=ctx.input_size,
        images=[f.name for f in files],
        views=ctx.recipe.eval_views,
        unrounded=unrounded,
    )
    return reference, inputs


def _teacher_top1(ctx: ExportContext, images, notes: list[str]) -> list[int] | None:
    if ctx.recipe.teacher == "none":
        return None
    if any(s % 32 for s in ctx.input_size):
        notes.append(f"teacher agreement not measured: {ctx.recipe.teacher} needs input sides that are multiples of 32")
        return None
    from ..models.teacher import load_efficientnet_lite0

    teacher = load_efficientnet_lite0()
    inputs = canonical_inputs(images, dict(ctx.canonical_spec, normalization_in_graph=False))
    out: list[int] = []
    with torch.no_grad():
        for start in range(0, len(inputs), EVAL_BATCH):
            x = torch.from_numpy(np.concatenate(inputs[start : start + EVAL_BATCH]))
            out.extend(int(i) for i in teacher(x).argmax(1))
    return out


def _server_onnx(ctx: ExportContext, reference: Reference, path: Path, server: dict) -> Path:
    """server.onnx, exported once per run and checked against eager with onnxruntime."""
    from ..runtime.encoders import open_backend
    from .backends.onnx import export_onnx

    example = torch.from_numpy(reference.symbols[0][None].copy())
    export_onnx(ctx.split.server.eval(), example, path, "symbols", "logits", target="server.onnx")
    session = open_backend("onnx", path)
    diffs = []
    for sym in reference.symbols[:2]:
        got = session.run(np.ascontiguousarray(sym[None]))
        with torch.no_grad():
            want = ctx.split.server(torch.from_numpy(sym[None])).numpy()
        diffs.append(float(np.abs(got - want).max()))
    server["check"] = {"runtime": "onnxruntime", "max_abs_logit_diff_vs_eager": max(diffs)}
    if max(diffs) > MAX_SERVER_LOGIT_DIFF:
        raise VerificationError(f"server.onnx logits differ from eager by {max(diffs):.3g}")
    return path


def _labels(num_classes: int) -> Path | None:
    from .recipe import PACKAGE_DIR

    f = PACKAGE_DIR / "data" / "imagenet_labels.txt"
    if not f.is_file():
        return None
    return f if len(f.read_text(encoding="utf-8").splitlines()) == num_classes else None


def _calibration(ctx: ExportContext, eval_files: list[Path], notes: list[str]) -> tuple[list[torch.Tensor], str]:
    files = list_images(ctx.calib_dir, "calibration")
    eval_hashes = _file_hashes(eval_files)
    overlap = [f.name for f in files if _file_hashes([f]) & eval_hashes]
    if overlap:
        notes.append(f"calibration images overlap the held-out evaluation images: {', '.join(overlap)}")
    images = load_views(files, ctx.input_size, ctx.recipe.calib_views, ctx.recipe.resize, "calibration")
    desc = f"{len(files)} images x {ctx.recipe.calib_views} views from {ctx.calib_dir}"
    return calibration_batches(images, ctx.canonical_spec), desc


def _eager_outputs(ctx: ExportContext, inputs: list[np.ndarray], unrounded: list | None = None) -> list[np.ndarray]:
    """The eager fp32 device outputs of canonical inputs, one (1, C, H, W) array each, EVAL_BATCH at a time."""
    outputs: list[np.ndarray] = []
    for start in range(0, len(inputs), EVAL_BATCH):
        batch = torch.from_numpy(np.concatenate(inputs[start : start + EVAL_BATCH]))
        outputs.extend(o[None] for o in ctx.device_canonical(batch, unrounded).numpy())
    return outputs


PAYLOAD_IMAGES = 16  # calibration images (first by name, one view each) the payload choice is measured on


def _payload_block(ctx: ExportContext, tables, reference: Reference, choice: str, notes: list[str]) -> dict:
    """payload.choose on the eager symbols of the first PAYLOAD_IMAGES calibration images: a format choice, so not
    made on the held-out evaluation images. Without calibration images it falls back to the evaluation latents, and
    says so in the block and the notes."""
    from . import payload as payload_choice

    try:
        files = list_images(ctx.calib_dir, "calibration")[:PAYLOAD_IMAGES] if ctx.calib_dir else []
    except ExportError:
        files = []
    if not files:
        notes.append(f"payload measured on the evaluation images: no calibration images in {ctx.calib_dir}")
        block = payload_choice.choose(tables, reference.symbols, choice)
        block["measured"]["images"] = "evaluation"
        return block
    inputs = canonical_inputs(
        load_views(files, ctx.input_size, 1, ctx.recipe.resize, "calibration"), ctx.canonical_spec
    )
    symbols = [to_symbols(o, ctx.output, ctx.medians) for o in _eager_outputs(ctx, inputs)]
    block = payload_choice.choose(tables, symbols, choice)
    block["measured"]["images"] = f"calibration: {len(files)} images x 1 view from {ctx.calib_dir}"
    return block


def _file_hashes(files) -> set[str]:
    return {hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}
