"""Artifact.open(dir): read and validate an artifact folder's manifest.json and files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .targets import QUANTIZATIONS, TARGETS

SCHEMA = "fsplit-artifact/1"
MAX_RATE_POINT_INDEX = 255  # the container's rate point field is 8 bits (docs/formats.md section 3)
# The stream payloads a manifest's `payload` block may name (docs/artifact.md "payload", docs/formats.md sections 1,
# 4, 5) and the lane counts of the interleaved ones. Without the block the artifact's streams are the single stream.
PAYLOAD_FORMATS = ("single", "interleaved", "interleaved2")
PAYLOAD_LANES = (8, 16, 32)
REQUIRED_KEYS = (
    "schema",
    "model_id",
    "target",
    "quantization",
    "files",
    "input",
    "output",
    "latent",
    "tables",
    "tool_versions",
    "sha256",
)


class ArtifactError(Exception):
    """The folder is not a complete, consistent artifact. The message names the file and the problem."""


def payload_of(manifest: dict, where: str = "manifest.json") -> tuple[str, int]:
    """(payload format, lanes) the artifact's streams are written in: the manifest's `payload` block
    (docs/artifact.md), ("single", 1) without it. ArtifactError names a value no writer knows."""
    block = manifest.get("payload")
    if block is None:
        return "single", 1
    if not isinstance(block, dict):
        raise ArtifactError(f"{where}: payload must be an object")
    fmt = block.get("format")
    if fmt not in PAYLOAD_FORMATS:
        raise ArtifactError(f"{where}: payload.format must be one of {', '.join(PAYLOAD_FORMATS)}, got {fmt!r}")
    if fmt == "single":
        if block.get("lanes", 1) != 1:
            raise ArtifactError(f"{where}: payload.lanes must be 1 for the single stream, got {block.get('lanes')!r}")
        return fmt, 1
    lanes = block.get("lanes")
    if isinstance(lanes, bool) or lanes not in PAYLOAD_LANES:
        raise ArtifactError(f"{where}: payload.lanes must be one of {PAYLOAD_LANES} for {fmt}, got {lanes!r}")
    return fmt, int(lanes)


def sha256_path(path: Path) -> str:
    """sha256 of a file, or of a directory (e.g. .mlpackage) as the hash of its sorted (relative path, file hash) list."""
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(f.relative_to(path).as_posix().encode() + b"\0" + sha256_path(f).encode() + b"\n")
        return h.hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Artifact:
    path: Path
    manifest: dict

    @classmethod
    def open(cls, path, check_hashes: bool = True) -> Artifact:
        path = Path(path)
        if path.name.endswith(".partial"):
            raise ArtifactError(f"{path} is an unfinished export (.partial folder)")
        if not path.is_dir():
            raise ArtifactError(f"artifact folder {path} does not exist")
        mf = path / "manifest.json"
        if not mf.is_file():
            raise ArtifactError(f"{path} has no manifest.json (not an artifact, or its export did not finish)")
        try:
            manifest = json.loads(mf.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ArtifactError(f"{mf} is not valid JSON: {e}") from None
        art = cls(path, manifest)
        art.validate()
        if check_hashes:
            art.check_hashes()
        return art

    # ---- validation ----------------------------------------------------------------------------------------
    def validate(self) -> None:
        m, mf = self.manifest, self.path / "manifest.json"
        if not isinstance(m, dict):
            raise ArtifactError(f"{mf}: top level must be an object")
        if m.get("schema") != SCHEMA:
            raise ArtifactError(f"{mf}: schema is {m.get('schema')!r}, expected {SCHEMA!r}")
        missing = [k for k in REQUIRED_KEYS if k not in m]
        if missing:
            raise ArtifactError(f"{mf} lacks {', '.join(missing)}")
        if m["target"] not in TARGETS:
            raise ArtifactError(f"{mf}: unknown target {m['target']!r}")
        if m["quantization"] not in QUANTIZATIONS:
            raise ArtifactError(f"{mf}: unknown quantization {m['quantization']!r}")
        self.check_files(m["files"])
        for key in ("channels", "height", "width"):
            if not isinstance(m["latent"].get(key), int) or m["latent"][key] <= 0:
                raise ArtifactError(f"{mf}: latent.{key} must be a positive integer")
        for side in ("input", "output"):
            for key in ("name", "shape", "dtype", "layout"):
                if key not in m[side]:
                    raise ArtifactError(f"{mf}: {side}.{key} missing")
        payload_of(m, str(mf))
        for entry in m.get("rate_points") or []:
            if isinstance(entry, dict) and "payload" in entry:
                payload_of(entry, f"{mf}: rate point {entry.get('index')!r}")
        self.check_rate_points()

    def check_rate_points(self) -> None:
        """The manifest's `rate_points` (docs/artifact.md "rate_points"), when it has them: indices distinct in
        0..255 with 0 present and equal to the top level; every listed file exists and has a sha256 entry."""
        m, where = self.manifest, self.path / "manifest.json"
        listed = m.get("rate_points")
        if listed is None:
            return
        if not isinstance(listed, list) or not listed:
            raise ArtifactError(f"{where}: rate_points must be a non-empty list")
        seen = set()
        for pos, entry in enumerate(listed):
            if not isinstance(entry, dict):
                raise ArtifactError(f"{where}: rate_points[{pos}] must be an object")
            index = entry.get("index")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_RATE_POINT_INDEX:
                raise ArtifactError(
                    f"{where}: rate_points[{pos}].index must be an integer in 0..{MAX_RATE_POINT_INDEX}, got {index!r}"
                )
            if index in seen:
                raise ArtifactError(f"{where}: rate point index {index} listed twice")
            seen.add(index)
            for key in ("name", "files", "tables", "latent", "output"):
                if key not in entry:
                    raise ArtifactError(f"{where}: rate_points[{pos}] (index {index}) lacks {key}")
            self.check_files(entry["files"], f"rate point {index}: ")
            for name in entry["files"].values():
                if name not in m.get("sha256", {}):
                    raise ArtifactError(f"{where}: no sha256 for {name} (rate point {index})")
            if index == 0 and entry["files"] != m["files"]:
                raise ArtifactError(f"{where}: rate point 0's files differ from the top-level files")
        if 0 not in seen:
            raise ArtifactError(f"{where}: rate_points has no index 0 (the top level is rate point 0)")

    def check_files(self, files: dict, context: str = "") -> None:
        """A `files` block (the top level's, or a rate point's with `context` naming it): encoder and tables
        present, plain file names, each file there."""
        mf = self.path / "manifest.json"
        for role in ("encoder", "tables"):
            if role not in files:
                raise ArtifactError(f"{mf}: {context}files.{role} missing")
        for role, name in files.items():
            if not isinstance(name, str) or "/" in name or name.startswith("."):
                raise ArtifactError(f"{mf}: {context}files.{role} must be a plain file name, got {name!r}")
            if not (self.path / name).exists():
                raise ArtifactError(f"{self.path}: {context}{role} file {name} is missing")

    def check_hashes(self) -> None:
        """Every file listed in `files` must have a sha256 entry that matches its content."""
        recorded = self.manifest["sha256"]
        names = set(self.manifest["files"].values())
        for entry in self.manifest.get("rate_points") or []:  # every rate point's files (validated above)
            names.update(entry["files"].values())
        for name in sorted(names):
            want = recorded.get(name)
            if want is None:
                raise ArtifactError(f"{self.path / 'manifest.json'}: no sha256 for {name}")
            got = sha256_path(self.path / name)
            if got != want:
                raise ArtifactError(
                    f"{name}: sha256 {got[:12]}... differs from manifest {want[:12]}... (file changed after export)"
                )

    # ---- accessors -----------------------------------------------------------------------------------------
    def file(self, role: str) -> Path | None:
        name = self.manifest["files"].get(role)
        return None if name is None else self.path / name

    @property
    def target(self) -> str:
        return self.manifest["target"]

    @property
    def quantization(self) -> str:
        return self.manifest["quantization"]

    @property
    def model_id(self) -> str:
        return self.manifest["model_id"]

    @property
    def accelerator(self) -> dict | None:
        """The manifest's accelerator block (kind, name, SoC, versions, placement), None for CPU targets."""
        return self.manifest.get("accelerator")

    @property
    def payload(self) -> tuple[str, int]:
        """(payload format, lanes) to write this artifact's streams in (docs/artifact.md "payload")."""
        return payload_of(self.manifest, str(self.path / "manifest.json"))

    def required_file(self, role: str) -> Path:
        """The file of a role every artifact has (the manifest check at open time guarantees it is listed)."""
        path = self.file(role)
        if path is None:
            raise ArtifactError(f"{self.path}: manifest.json lists no {role!r} file")
        return path

    @property
    def encoder_file(self) -> Path:
        return self.required_file("encoder")

    @property
    def tables_file(self) -> Path:
        return self.required_file("tables")

    @property
    def input_spec(self) -> dict:
        return self.manifest["input"]

    @property
    def output_spec(self) -> dict:
        return self.manifest["output"]

    @property
    def latent(self) -> dict:
        return self.manifest["latent"]

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        lat = self.manifest["latent"]
        return int(lat["channels"]), int(lat["height"]), int(lat["width"])

    def tables(self):
        """The codec tables (fsplit_mobile.codec), checked against the manifest's content hash."""
        from ..codec import CodecTables

        tables = CodecTables.read(self.tables_file)
        want = self.manifest["tables"].get("content_hash")
        got = tables.content_hash
        got = got.hex() if isinstance(got, (bytes, bytearray)) else str(got)
        if want is not None and got != want:
            raise ArtifactError(f"{self.tables_file.name}: content hash {got} differs from manifest {want}")
        return tables

    def labels(self) -> list[str]:
        f = self.file("labels")
        return f.read_text(encoding="utf-8").splitlines() if f is not None else []
