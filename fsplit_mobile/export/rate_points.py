"""Variable bit-rate export: one artifact per (target, quantization) carrying several rate points.

A bottleneck-unit checkpoint (models/bottleneck_unit.py) holds one unit per rate point, all sharing the frozen
teacher; a rate-point set (models/checkpoint/point_set.py) holds one complete checkpoint per point (the lightweight
encoder's rate points). Each named point is exported with the ordinary `export()` (same backends, verification and fidelity
report), then the folders are merged: rate point 0's files keep their usual names (so the artifact is a valid
single-rate artifact for readers that know nothing of rate points), rate point i > 0 gets `rp<i>-encoder.<ext>`,
`rp<i>-tables.fsct`, `rp<i>-server.onnx` and `rp<i>-report.{json,md}`; the manifest lists all of them under
`rate_points` with the bytes/bpp measured on the recipe's evaluation images (docs/artifact.md).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..models import bottleneck_unit as bu
from ..models.checkpoint import point_set
from ..models.checkpoint import units as unit_io
from ..runtime.artifact import Artifact
from .api import ExportSummary, export
from .errors import ExportError, RecipeError
from .manifest import StagedArtifact
from .recipe import DEFAULT_RECIPE, load_recipe

SHARED_ROLES = ("labels",)  # identical for every rate point: stored once
REPORT_FILES = ("report.json", "report.md")


def _missing(checkpoint: Path, names: list[str] | None, have: list[str], kind: str) -> None:
    missing = [n for n in (names or []) if n not in have]
    if missing:
        raise RecipeError(
            f"{checkpoint}: no {kind} {', '.join(map(repr, missing))} (rate points named by the recipe); "
            f"the checkpoint has {', '.join(map(repr, have))}"
        )


def _points(checkpoint: Path, names: list[str] | None) -> tuple[list[str], Callable[[str, Path], Path], str]:
    """(rate point names in export order, a writer of one point as a single-rate checkpoint, model id) of a
    bottleneck-unit checkpoint or a rate-point set; a requested name the checkpoint lacks is refused, naming it."""
    from ..models.checkpoint import read_checkpoint

    payload = read_checkpoint(checkpoint)
    if point_set.is_point_set(payload):
        default, named = point_set.points_of(payload, f"{checkpoint}: ")
        _missing(checkpoint, names, list(named), "rate point")
        order = names or [default, *(n for n in named if n != default)]
        model_id = named[order[0]]["config"].get("model_id") or "rate-points"
        return order, lambda name, path: point_set.single_checkpoint(checkpoint, name, path), model_id
    if not isinstance(payload, dict) or payload.get("architecture") != bu.ARCHITECTURE:
        raise RecipeError(
            f"{checkpoint}: rate points need a {bu.ARCHITECTURE} checkpoint (one unit per rate point) or a "
            f"rate-point set ({point_set.POINT_SET_FORMAT})"
        )
    config, units = unit_io.units_from_payload(payload, f"{checkpoint}: ")
    by_name = {u.name: u for u in units}
    _missing(checkpoint, names, list(by_name), "unit")
    meta = payload.get("meta") or {}

    def write(name: str, path: Path) -> Path:
        single = bu.model_config(config["split_block"], [by_name[name].config], config.get("model_id"))
        return unit_io.save_units(path, single, [by_name[name]], {**meta, "rate_point": name})

    return names or list(by_name), write, config.get("model_id") or bu.ARCHITECTURE


def _measured(folder: Path, input_size: list[int]) -> dict:
    """Mean stream bytes and bpp of the artifact on the evaluation images (its fidelity report)."""
    metrics = json.loads((folder / "report.json").read_text())["metrics"]
    bpp = float(metrics["bpp_artifact"])
    return {
        "bytes_mean": round(bpp * input_size[0] * input_size[1] / 8, 1),
        "bpp": bpp,
        "top1_agreement": metrics.get("top1_agreement_artifact"),
    }


def _entry(index: int, name: str, manifest: dict, files: dict, measured: dict) -> dict:
    tables = dict(manifest["tables"], file=files["tables"])
    entry = {
        "index": index,
        "name": name,
        "files": files,
        "tables": tables,
        "latent": manifest["latent"],
        "output": manifest["output"],
        "measured": measured,
    }
    if "server" in manifest:
        entry["server"] = dict(manifest["server"], file=files["server"])
    if "payload" in manifest:  # each point's own measured choice (its tables and latents)
        entry["payload"] = manifest["payload"]
    return entry


def _folder(result) -> Path:
    """The folder of an artifact `export()` reported as made (every result was checked ok above)."""
    if result.path is None:
        raise ExportError(f"{result.target}-{result.quantization}: export reported no artifact folder")
    return Path(result.path)


def _merge(folders: list[Path], names: list[str], final: Path) -> Path:
    """One artifact folder from the per-rate-point folders of one (target, quantization)."""
    staged = StagedArtifact(final)
    stage = staged.begin()
    base = Artifact.open(folders[0]).manifest
    input_size = base["input"]["resize"]["size"]
    points = []
    for index, (folder, name) in enumerate(zip(folders, names)):
        manifest = Artifact.open(folder).manifest
        files = {}
        for role, file_name in manifest["files"].items():
            out_name = file_name if index == 0 or role in SHARED_ROLES else f"rp{index}-{file_name}"
            if not (stage / out_name).exists():
                src = folder / file_name
                (shutil.copytree if src.is_dir() else shutil.copyfile)(src, stage / out_name)
            files[role] = out_name
        for report in REPORT_FILES:
            if (folder / report).exists():
                shutil.copyfile(folder / report, stage / (report if index == 0 else f"rp{index}-{report}"))
        points.append(_entry(index, name, manifest, files, _measured(folder, input_size)))
    manifest = {**base, "rate_points": points}
    manifest["files"] = points[0]["files"]
    return staged.commit(manifest)  # sha256 of every file, manifest last


def export_rate_points(
    target="onnx",
    quantize="none",
    *,
    checkpoint=None,
    recipe=None,
    units: list[str] | None = None,
    out=None,
    **export_kwargs,
) -> ExportSummary:
    """Export the units `units` (default: the recipe's model.rate_points, else every unit of the checkpoint, in
    checkpoint order) as rate points 0, 1, ... of one artifact per (target, quantization) under `out`.

    Each unit goes through `export()` (export_kwargs pass on); the summary lists the merged artifacts. A unit
    named by `units` or the recipe but absent from the checkpoint raises RecipeError naming it.
    """
    if recipe is None and checkpoint is None:  # the bundled default, as a bare export() does
        recipe = DEFAULT_RECIPE
    rec = load_recipe(recipe) if recipe is not None else None
    if checkpoint is None:
        if rec is None or rec.checkpoint is None:
            raise RecipeError(
                "rate points need a bottleneck-unit checkpoint: pass --checkpoint (or set model.checkpoint)"
            )
        checkpoint = rec.checkpoint
    checkpoint = Path(checkpoint)
    requested = list(units) if units else (rec.rate_points if rec is not None and rec.rate_points else None)
    names, write_point, model_id = _points(checkpoint, requested)
    if len(names) > 256:
        raise RecipeError(f"{len(names)} rate points: the stream container names at most 256")
    out_dir = Path(out) if out is not None else Path("artifacts") / model_id
    with tempfile.TemporaryDirectory(prefix="fsplit-rate-points-") as tmp:
        summaries = []
        for index, name in enumerate(names):
            ckpt = write_point(name, Path(tmp) / f"rp{index}.pt")
            summary = export(
                target, quantize, checkpoint=ckpt, recipe=recipe, out=Path(tmp) / f"rp{index}", **export_kwargs
            )
            failed = [r.error for r in summary.results if not r.ok]
            if failed:
                raise ExportError(f"rate point {index} ({name!r}): " + "; ".join(str(e) for e in failed))
            summaries.append(summary)
        merged = ExportSummary(
            summaries[0].model_id,
            out_dir,
            timings_s={f"rp{i}_{k}": v for i, s in enumerate(summaries) for k, v in s.timings_s.items()},
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        for pos, result in enumerate(summaries[0].results):
            folders = [_folder(s.results[pos]) for s in summaries]
            result.path = _merge(folders, names, out_dir / folders[0].name)
            merged.results.append(result)
    return merged
