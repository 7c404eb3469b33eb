#!/usr/bin/env python3
"""Copy an fsplit-export artifact folder into the Android demo's assets (app/src/main/assets/artifact/).

    python android_demo/scripts/import_artifact.py artifacts/default/executorch-int8

Only what the phone needs is copied: manifest.json, the encoder (.pte) and the tables file (plus labels.txt when
present); server.onnx stays on the server. Checks first that the folder is a complete ExecuTorch artifact whose
files match the sha256 recorded in its manifest. The previous assets/artifact/ is replaced; manifest.json is
written last. Standard library only.
"""

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_ASSETS = DEMO_DIR / "app" / "src" / "main" / "assets"
ROLES = ("encoder", "tables", "labels")


class ImportError_(Exception):
    """The folder is not an artifact this app can run."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_artifact(src: Path) -> dict:
    """Return {role: file name} of the files to copy, after validating the artifact."""
    manifest_path = src / "manifest.json"
    if not manifest_path.is_file():
        hint = " (the export is still running or crashed)" if src.name.endswith(".partial") else ""
        raise ImportError_(f"{manifest_path} not found: not an fsplit-export artifact folder{hint}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImportError_(f"{manifest_path} is not valid JSON: {e}") from None
    if manifest.get("schema") != "fsplit-artifact/1":
        raise ImportError_(f"{manifest_path}: schema {manifest.get('schema')!r}, expected 'fsplit-artifact/1'")
    if manifest.get("target") != "executorch":
        raise ImportError_(
            f"the app runs ExecuTorch artifacts (.pte); this one targets {manifest.get('target')!r}: "
            "export with --target executorch"
        )
    files = manifest.get("files") or {}
    tables = files.get("tables") or (manifest.get("tables") or {}).get("file")
    chosen = {"encoder": files.get("encoder"), "tables": tables, "labels": files.get("labels")}
    if not chosen["encoder"] or not chosen["tables"]:
        raise ImportError_(f"{manifest_path} names no encoder or no tables file")
    recorded = manifest.get("sha256") or {}
    out = {}
    for role in ROLES:
        name = chosen[role]
        if not name:
            continue
        if "/" in name or "\\" in name or name.startswith("."):
            raise ImportError_(f"{manifest_path}: files.{role} must be a plain file name, got {name!r}")
        path = src / name
        if not path.is_file():
            if role == "labels":
                continue
            raise ImportError_(f"{path} ({role}) is missing")
        if name in recorded and _sha256(path) != recorded[name]:
            raise ImportError_(f"{path} does not match the sha256 in manifest.json (modified or corrupt copy)")
        out[role] = name
    return out


def import_artifact(src, assets=DEFAULT_ASSETS) -> Path:
    src, assets = Path(src), Path(assets)
    files = check_artifact(src)
    dest = assets / "artifact"
    staging = assets / "artifact.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in files.values():
        shutil.copy2(src / name, staging / name)
    shutil.copy2(src / "manifest.json", staging / "manifest.json")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact", help="artifact folder written by fsplit-export (e.g. artifacts/default/executorch-int8)")
    p.add_argument("--assets", default=str(DEFAULT_ASSETS), help="the app's assets folder (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        dest = import_artifact(args.artifact, args.assets)
    except (ImportError_, OSError) as e:
        print(f"import_artifact: {e}", file=sys.stderr)
        return 2
    names = sorted(x.name for x in dest.iterdir())
    print(f"copied {', '.join(names)} to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
