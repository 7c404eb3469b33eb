"""Helpers for the fsplit-bench tests: tiny artifacts built here (besides the real exporter's output in
test_bench_default_model.py), and paths. They follow docs/artifact.md: a 2-conv encoder (3x64x64 -> 4x8x8
latent, float output, medians in the manifest, normalization outside the graph) lowered to ExecuTorch/XNNPACK,
the same in fp32 ONNX and in LiteRT (NHWC input), and codec tables.
"""

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np

from repo_paths import REPO

CHANNELS, LATENT = 4, 8
INPUT = 64
MEDIANS = [0.25, -0.5, 0.0, 1.0]


def _encoder():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 5, stride=4, padding=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, CHANNELS, 3, stride=2, padding=1),
    )
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(4.0)
    return net.eval()


def _tables():
    from fsplit_mobile.codec import CodecTables
    from fsplit_mobile.entropy.cdf import pmf_to_quantized_cdf

    support = np.arange(-8, 9)
    rows = []
    for c in range(CHANNELS):
        scale = 1.0 + c
        pmf = np.exp(-np.abs(support) / scale)
        pmf = 0.99 * pmf / pmf.sum()
        rows.append(pmf_to_quantized_cdf(np.append(pmf, 0.01), 16))
    cdf = np.stack(rows)
    return CodecTables.from_arrays(cdf, np.full(CHANNELS, cdf.shape[1]), np.full(CHANNELS, -8), 16)


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _manifest(target, encoder_name, tables, layout="NCHW"):
    return {
        "schema": "fsplit-artifact/1",
        "model_id": "bench-test-tiny",
        "target": target,
        "quantization": "none",
        "files": {"encoder": encoder_name, "tables": "tables.fsct"},
        "input": {
            "name": "image",
            "shape": [1, 3, INPUT, INPUT],
            "dtype": "float32",
            "layout": layout,
            "color": "RGB",
            "resize": {"size": [INPUT, INPUT], "method": "bilinear"},
            "value_range": [0.0, 1.0],
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "normalization_in_graph": False,
            "quantization": None,
        },
        "output": {
            "name": "latent",
            "kind": "latent",
            "shape": [1, CHANNELS, LATENT, LATENT],
            "dtype": "float32",
            "layout": "NCHW",
            "quantization": None,
        },
        "latent": {"channels": CHANNELS, "height": LATENT, "width": LATENT, "medians": MEDIANS},
        "tables": {"file": "tables.fsct", "content_hash": tables.content_hash, "precision": 16},
        "tool_versions": {"fsplit_mobile": "test-fixture"},
        "sha256": {},
    }


def _finish(folder: Path, manifest: dict):
    for name in manifest["files"].values():
        manifest["sha256"][name] = _sha(folder / name)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def build_tiny_artifacts(out: Path) -> dict:
    """Write out/executorch-none, out/onnx-none and out/tflite-none; return {target: folder}."""
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    out = Path(out)
    net, example = _encoder(), (torch.rand(1, 3, INPUT, INPUT),)
    tables = _tables()
    folders = {}

    et = out / "executorch-none"
    et.mkdir(parents=True, exist_ok=True)
    program = to_edge_transform_and_lower(
        torch.export.export(net, example), partitioner=[XnnpackPartitioner()]
    ).to_executorch()
    (et / "encoder.pte").write_bytes(program.buffer)
    tables.write(et / "tables.fsct")
    _finish(et, _manifest("executorch", "encoder.pte", tables))
    folders["executorch"] = et

    ox = out / "onnx-none"
    ox.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net, example, str(ox / "encoder.onnx"), input_names=["image"], output_names=["latent"], dynamo=False
    )
    tables.write(ox / "tables.fsct")
    _finish(ox, _manifest("onnx", "encoder.onnx", tables))
    folders["onnx"] = ox

    tf = out / "tflite-none"
    tf.mkdir(parents=True, exist_ok=True)
    _write_tflite(net, tf / "encoder.tflite")
    tables.write(tf / "tables.fsct")
    manifest = _manifest("tflite", "encoder.tflite", tables, layout="NHWC")
    manifest["input"]["shape"] = [1, INPUT, INPUT, 3]
    _finish(tf, manifest)
    folders["tflite"] = tf
    return folders


def _write_tflite(net, path):
    import os

    import litert_torch
    import torch

    os.environ["LITERT_TORCH_SHOW_PROGRESS"] = "n"
    nhwc = litert_torch.to_channel_last_io(net, args=[0]).eval()
    litert_torch.convert(nhwc, (torch.rand(1, INPUT, INPUT, 3),)).export(str(path))


_TINY_CACHE = {}


def tiny_artifacts(tmp_path_factory) -> dict:
    """build_tiny_artifacts once per test session (shared by the bench test modules)."""
    if "folders" not in _TINY_CACHE:
        _TINY_CACHE["folders"] = build_tiny_artifacts(tmp_path_factory.mktemp("tiny-artifacts"))
    return _TINY_CACHE["folders"]


def reference_symbols(artifact_dir, rgb):
    """Symbols by PyTorch eager on the same tensor the device sees (checks the runner's numbers)."""
    import torch

    from fsplit_mobile.runtime.preprocess import InputConverter

    manifest = json.loads((Path(artifact_dir) / "manifest.json").read_text())
    x = InputConverter(manifest["input"])(rgb)
    with torch.no_grad():
        y = _encoder()(torch.from_numpy(x)).numpy()[0]
    return np.rint(y - np.asarray(MEDIANS, np.float32)[:, None, None]).astype(np.int32)


def copy_artifact(src, dst) -> Path:
    shutil.copytree(src, dst)
    return Path(dst)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


__all__ = ["REPO", "build_tiny_artifacts", "reference_symbols", "copy_artifact", "free_port", "math"]


# ---- native runner, failing runners, small disks ------------------------------------------------------------
def build_native_runner(target: str = "host") -> Path:
    """Build runtimes/native (runtimes/native/build.sh host|aarch64, incremental); return the binary."""
    import subprocess

    build = REPO / "runtimes" / "native" / ("build" if target == "host" else f"build-{target}")
    proc = subprocess.run(
        [str(REPO / "runtimes" / "native" / "build.sh"), target, str(build)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"native runner build ({target}) failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return build / "fsplit-bench-native"


def aarch64_executorch_lib_dir() -> Path:
    """Where runtimes/native/build.sh aarch64 unpacked the aarch64 executorch wheel's libraries."""
    return next((REPO / ".cache" / "wheels-aarch64").glob("unpacked-*/executorch/lib"))


CRASHING_RUNNER = """#!/bin/sh
# Test double for a device runner that dies: prints a start and two samples, then SIGSEGVs itself.
echo '@fsplit {"event":"hello","schema":"fsplit-bench-events/1","runner":"crash-test","runtime":{"name":"none"}}'
echo '@fsplit {"event":"sample","image":"x","run":0,"preprocess_ms":1,"encoder_ms":2,"entropy_ms":0.5,"total_ms":3.5}'
echo '@fsplit {"event":"sample","image":"x","run":1,"preprocess_ms":1,"encoder_ms":2,"entropy_ms":0.5,"total_ms":3.5}'
echo 'about to crash' >&2
kill -SEGV $$
"""


def crashing_runner(folder) -> Path:
    path = Path(folder) / "crashing-runner.sh"
    path.write_text(CRASHING_RUNNER)
    path.chmod(0o755)
    return path


def corrupt_encoder_artifact(src, dst) -> Path:
    """A copy of `src` whose encoder file is garbage (manifest hashes updated, so only loading fails)."""
    dst = copy_artifact(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    enc = dst / manifest["files"]["encoder"]
    enc.write_bytes(b"this is not a model file" * 10)
    manifest["sha256"][enc.name] = _sha(enc)
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


class Tmpfs:
    """``with Tmpfs(path, size_kb):`` a small tmpfs (full-disk tests; needs root, as CI and this machine have)."""

    def __init__(self, path, size_kb: int):
        self.path, self.size_kb = Path(path), int(size_kb)

    def __enter__(self):
        import subprocess

        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_kb}k", "tmpfs", str(self.path)], check=True)
        return self.path

    def __exit__(self, *exc):
        import subprocess

        subprocess.run(["umount", "-l", str(self.path)], check=False)


def used_kb(path) -> int:
    import os

    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024
