"""manifest.json (schema fsplit-artifact/1, docs/artifact.md) and the atomic `<name>.partial` artifact folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..runtime.artifact import SCHEMA, sha256_path
from .errors import ExportError
from .request import ExportRequest
from .results import LoweredModel

PARTIAL_SUFFIX = ".partial"


def build_manifest(
    req: ExportRequest,
    lowered: LoweredModel,
    *,
    files: dict[str, str],
    medians: list[float],
    tables_hash: str,
    tables_precision: int,
    resize: str,
    server: dict | None,
    tool_versions: dict[str, str],
    notes: list[str] | None = None,
    device_compute: dict | None = None,
    payload: dict | None = None,
) -> dict:
    """The manifest without its sha256 section (filled by `finish_manifest`)."""
    c, h, w = req.latent_shape
    inp = lowered.input.to_dict()
    out = lowered.output.to_dict()
    manifest = {
        "schema": SCHEMA,
        "model_id": req.model_id,
        "target": req.target,
        "quantization": req.quantization,
        "files": dict(files),
        "input": {
            "name": inp["name"],
            "shape": inp["shape"],
            "dtype": inp["dtype"],
            "layout": inp["layout"],
            "color": "RGB",
            "resize": {"size": list(req.input_size), "method": resize},
            "value_range": [0.0, 1.0],
            "mean": list(req.mean),
            "std": list(req.std),
            "normalization_in_graph": bool(req.normalization_in_graph),
            "quantization": inp["quantization"],
        },
        "output": {
            "name": out["name"],
            "kind": req.output,
            "shape": out["shape"],
            "dtype": out["dtype"],
            "layout": out["layout"],
            "quantization": out["quantization"],
        },
        "latent": {"channels": int(c), "height": int(h), "width": int(w), "medians": [float(m) for m in medians]},
        "tables": {"file": files["tables"], "content_hash": tables_hash, "precision": int(tables_precision)},
        "tool_versions": dict(tool_versions),
    }
    if lowered.accelerator:
        manifest["accelerator"] = dict(lowered.accelerator)
    if server is not None:
        manifest["server"] = dict(server)
    if device_compute is not None:
        manifest["device_compute"] = dict(device_compute)
    if payload is not None:
        manifest["payload"] = dict(payload)
    if notes:
        manifest["notes"] = list(notes)
    return manifest


def finish_manifest(folder: Path, manifest: dict) -> dict:
    """Add sha256 of every file in the folder (report files included, manifest.json itself excluded)."""
    folder = Path(folder)
    hashes = {}
    for entry in sorted(folder.iterdir()):
        if entry.name == "manifest.json":
            continue
        hashes[entry.name] = sha256_path(entry)
    for role, name in manifest["files"].items():
        if name not in hashes:
            raise ExportError(f"manifest lists {role} file {name}, which was not written")
    manifest["sha256"] = hashes
    return manifest


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class StagedArtifact:
    """An artifact folder written as `<final>.partial`, renamed to `<final>` only by `commit()`.

    On failure the .partial folder stays (for inspection) and never has a manifest.json, so no runner takes it
    for a finished artifact; an existing finished folder of the same name is only replaced on success.
    """

    def __init__(self, final: Path):
        self.final = Path(final)
        self.stage = self.final.with_name(self.final.name + PARTIAL_SUFFIX)

    def begin(self) -> Path:
        if self.stage.exists():
            shutil.rmtree(self.stage)
        self.stage.mkdir(parents=True)
        return self.stage

    def commit(self, manifest: dict) -> Path:
        finish_manifest(self.stage, manifest)
        write_json_atomic(self.stage / "manifest.json", manifest)  # the manifest is the last file written
        old = None
        if self.final.exists():
            old = self.final.with_name(f"{self.final.name}.old-{os.getpid()}")
            os.replace(self.final, old)
        os.replace(self.stage, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final
