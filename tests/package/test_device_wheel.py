"""The slim device-side distribution (runtimes/device: fsplit-mobile-device): its wheel carries the device agent,
the runtime glue and the codec with the C coder as a ctypes library, and nothing of the export stack. Installed
into an empty venv next to numpy and one runtime (the exact wheels provisioning pushes to boards, no index, no
torch), it runs the bench as ``--installed-agent`` and codes the same bytes as the full install."""

import platform
import subprocess
import sys
import zipfile

import pytest

from bench_support import REPO, tiny_artifacts
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.provision import wheels
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import LocalTransport


def _site_size(venv) -> int:
    site = next(venv.glob("lib/python*/site-packages"))
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file())


@pytest.mark.slow
def test_device_wheel_installs_without_torch_and_runs_the_agent(tmp_path_factory, tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(REPO / "runtimes" / "device"),
        ],
        check=True,
    )
    wheel = next((tmp_path / "dist").glob("fsplit_mobile_device-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "fsplit_mobile/codec/libfsplit_rans.so" in names and "fsplit_mobile/bench/device/agent.py" in names
    assert not [
        n
        for n in names
        if n.startswith(("fsplit_mobile/export/", "fsplit_mobile/training/"))
        or n.endswith(".cpython-311-x86_64-linux-gnu.so")
    ]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and not [r for r in requires if "torch" in r or "executorch" in r or "coremltools" in r]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    runtime = wheels.download(
        [wheels.pinned("numpy"), wheels.pinned("ai-edge-litert")],
        platform.machine(),
        f"{sys.version_info[0]}.{sys.version_info[1]}",
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            str(wheel),
            *map(str, runtime),
        ],
        check=True,
    )
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.util as u; "
            "from fsplit_mobile.codec import _binding; print(_binding._rans.__name__, "
            "u.find_spec('torch') is None)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )  # not the checkout, whose fsplit_mobile would shadow the install
    assert probe.stdout.split() == ["fsplit_mobile.codec._rans_ctypes", "True"]
    print(f"device-side install (agent + numpy + ai-edge-litert): {_site_size(venv) / 1e6:.1f} MB")

    tiny = tiny_artifacts(tmp_path_factory)
    config = dict(runs=1, warmup=0, image_limit=2)
    slim = run_benchmark(
        tiny["tflite"],
        LocalTransport(),
        BenchConfig(
            runner=RunnerSpec(kind="python", python=str(venv / "bin" / "python"), installed_agent=True), **config
        ),
        out_dir=tmp_path / "slim",
        progress=False,
    )
    full = run_benchmark(
        tiny["tflite"], LocalTransport(), BenchConfig(**config), out_dir=tmp_path / "full", progress=False
    )
    assert slim["status"] == "complete"
    assert [i["stream_sha256"] for i in slim["images"]] == [i["stream_sha256"] for i in full["images"]]
