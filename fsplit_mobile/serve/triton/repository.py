"""Write a Triton model repository for one artifact folder (docs/triton.md):

    <out>/<model>/config.pbtxt      python backend, dynamic batching, KServe v2 input `stream` (UINT8 bytes)
    <out>/<model>/1/model.py        `from fsplit_mobile.serve.triton.model import TritonPythonModel`
    <out>/<model>/1/artifact/       manifest.json and every file it lists (codec tables, server.onnx = decoder +
                                    tail, labels.txt, the encoder and each rate point's files; sha256-checked)

The model runs fsplit-serve's ServerEngine (C rANS decoder, ONNX Runtime for server.onnx) inside Triton's python
backend, so Triton's Python must import fsplit_mobile (server.py sets PYTHONPATH for the bundled tritonserver).
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from .model import ARTIFACT_DIR, INPUT

MODEL_PY = '''"""Triton python model of an fsplit artifact (written by fsplit_mobile.serve.triton.repository).

Triton's python stub runs an isolated interpreter (PYTHONPATH ignored): the folders in $FSPLIT_TRITON_PATH go
first on sys.path (as site dirs: .pth files, editable installs), so the model imports the environment that
started tritonserver (fsplit_mobile.serve.triton.server sets it). Without it, Triton's own Python must have
fsplit_mobile installed.
"""

import os
import site
import sys

_before = list(sys.path)
for _folder in reversed(os.environ.get("FSPLIT_TRITON_PATH", "").split(os.pathsep)):
    if _folder:
        site.addsitedir(_folder)
sys.path[:] = [p for p in sys.path if p not in _before] + _before

from fsplit_mobile.serve.triton.model import TritonPythonModel  # noqa: E402, F401
'''


class RepositoryError(ValueError):
    """The repository cannot be written (artifact unreadable, output folder in the way)."""


@dataclass(frozen=True)
class TritonModelOptions:
    name: str = "fsplit"
    max_batch_size: int = 8  # requests Triton's dynamic batcher hands to one execute() call
    max_queue_delay_us: int = 0  # how long the batcher waits to fill a batch (0: take what is queued)
    instances: int = 1  # python-backend stub processes (each loads the model)
    intra_op_threads: int = 1  # ONNX Runtime threads per instance (fsplit-serve's --intra-op-threads)
    max_queue_size: int = 0  # queued requests per model before Triton refuses (0: unbounded)

    def __post_init__(self):
        if not self.name or not all(ch.isalnum() or ch in "-_." for ch in self.name) or self.name[0] == ".":
            raise RepositoryError(f"model name {self.name!r}: use letters, digits, '-', '_', '.'")
        for field, low in (("max_batch_size", 1), ("max_queue_delay_us", 0), ("instances", 1)):
            if getattr(self, field) < low:
                raise RepositoryError(f"{field} must be >= {low}")
        if self.intra_op_threads < 0 or self.max_queue_size < 0:
            raise RepositoryError("intra_op_threads and max_queue_size must be >= 0")


def config_pbtxt(opts: TritonModelOptions) -> str:
    queue = f"\n  default_queue_policy {{ max_queue_size: {opts.max_queue_size} }}" if opts.max_queue_size else ""
    return f"""# Written by fsplit_mobile.serve.triton.repository (docs/triton.md). Input: one stream container's bytes.
name: "{opts.name}"
backend: "python"
max_batch_size: {opts.max_batch_size}
input [
  {{ name: "{INPUT}" data_type: TYPE_UINT8 dims: [ -1 ] allow_ragged_batch: true }}
]
output [
  {{ name: "top5_index" data_type: TYPE_INT64 dims: [ 5 ] }},
  {{ name: "top5_score" data_type: TYPE_FP64 dims: [ 5 ] }},
  {{ name: "rate_point" data_type: TYPE_INT32 dims: [ 1 ] }},
  {{ name: "answer" data_type: TYPE_UINT8 dims: [ -1 ] }}
]
dynamic_batching {{
  max_queue_delay_microseconds: {opts.max_queue_delay_us}{queue}
}}
instance_group [ {{ kind: KIND_CPU count: {opts.instances} }} ]
parameters {{ key: "artifact" value: {{ string_value: "{ARTIFACT_DIR}" }} }}
parameters {{ key: "intra_op_threads" value: {{ string_value: "{opts.intra_op_threads}" }} }}
"""


def artifact_files(artifact_dir) -> list[str]:
    """manifest.json and every file its `files` and `rate_points[].files` list (what Artifact.open checks)."""
    from ...runtime import rate_points
    from ...runtime.artifact import Artifact

    artifact = Artifact.open(artifact_dir)  # sha256s checked now: a broken artifact fails here, not in Triton
    names = {"manifest.json"}
    for index in rate_points.indices(artifact):
        names.update(rate_points.view(artifact, index).manifest["files"].values())
    return sorted(names)


def write_model_repository(artifact_dir, out, opts: TritonModelOptions | None = None, overwrite: bool = False) -> Path:
    """Write the repository into `out` (created; an existing non-empty folder only with overwrite). Returns the
    model's folder. The artifact is checked (manifest, sha256s, server part) before anything is written."""
    from ..engine import ServerEngine
    from ..errors import ArtifactLoadError

    opts = opts or TritonModelOptions()
    artifact_dir, out = Path(artifact_dir), Path(out)
    try:
        ServerEngine(artifact_dir)  # the checks the model makes when Triton loads it
        names = artifact_files(artifact_dir)
    except (ArtifactLoadError, OSError, ValueError) as exc:
        raise RepositoryError(str(exc)) from exc
    model_dir = out / opts.name
    if model_dir.exists():
        if not overwrite:
            raise RepositoryError(f"{model_dir} exists (overwrite it with --overwrite)")
        shutil.rmtree(model_dir)
    partial = out / f".{opts.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    version = partial / "1"
    (version / ARTIFACT_DIR).mkdir(parents=True)
    for name in names:
        src = artifact_dir / name
        dst = version / ARTIFACT_DIR / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():  # e.g. an .mlpackage encoder
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
    (version / "model.py").write_text(MODEL_PY)
    (partial / "config.pbtxt").write_text(config_pbtxt(opts))
    partial.rename(model_dir)  # a crashed write never leaves a model folder Triton would try to load
    return model_dir
