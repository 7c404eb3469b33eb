"""Host-side view of an artifact folder: :class:`fsplit_mobile.runtime.Artifact` plus what bench ships."""

from ..runtime.artifact import Artifact
from ..runtime.targets import accelerator_targets, device_agent_targets

# the targets the Python device agent runs, and those compiled for an accelerator (fsplit_mobile/runtime/targets.py)
RUNNABLE_TARGETS = device_agent_targets()
ACCELERATOR_TARGETS = accelerator_targets()


def load_artifact(path) -> Artifact:
    """Open and check an artifact folder (manifest, files, sha256); raises ArtifactError when bad."""
    return Artifact.open(path)


def device_files(art: Artifact):
    """Files a device runner needs: manifest, encoder, tables (not the server part)."""
    return [art.path / "manifest.json", art.encoder_file, art.tables_file]


def summary(art: Artifact) -> dict:
    return {
        "path": str(art.path),
        "model_id": art.model_id,
        "rate_point": art.manifest.get("rate_point"),  # {"index", "name"} when run at one point (--rate-point)
        "target": art.target,
        "quantization": art.quantization,
        "encoder": art.encoder_file.name,
        "accelerator": {k: v for k, v in (art.accelerator or {}).items() if k not in ("placement", "profile")} or None,
        "encoder_sha256": art.manifest.get("sha256", {}).get(art.encoder_file.name),
        "tables_hash": art.manifest.get("tables", {}).get("content_hash"),
    }
