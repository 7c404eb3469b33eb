"""fsplit-bench through the adb transport: the real Debian ``adb`` client and server talk to an adb daemon
stand-in (tests/doubles/adb_standin.py) that is NOT a phone and NOT Android: it speaks the adb
wire protocol and runs shell commands on this host in a temporary folder. What this covers: our use of
adb push/shell (v2 exit codes, separate stderr)/pull, device lookup, and failure handling."""

import subprocess
import sys

import pytest

from bench_support import (
    Tmpfs,
    build_native_runner,
    corrupt_encoder_artifact,
    crashing_runner,
    free_port,
    tiny_artifacts,
    used_kb,
)
from doubles.adb_standin import AdbStandin
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.errors import (
    DeviceDisconnectedError,
    DeviceDiskFullError,
    DeviceNotFoundError,
    RunnerFailedError,
)
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import AdbTransport

PYTHON = RunnerSpec(kind="python", python=sys.executable)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_artifacts(tmp_path_factory)


@pytest.fixture
def standin(tmp_path, adb_port):
    device = AdbStandin(tmp_path / "standin-root").start()
    yield device
    device.stop()
    subprocess.run(["adb", "-P", str(adb_port), "disconnect", device.serial], capture_output=True, timeout=30)


def _transport(standin, adb_port, stage_root=None, serial=None):
    return AdbTransport(
        serial=serial or standin.serial, server_port=adb_port, stage_root=str(stage_root or standin.root)
    )


def _config(**kw):
    base = dict(runs=3, warmup=1, image_limit=1, runner=PYTHON)
    base.update(kw)
    return BenchConfig(**base)


@pytest.mark.slow
def test_adb_standin_not_a_phone_full_benchmark(tiny, standin, adb_port, tmp_path):
    py = run_benchmark(
        tiny["executorch"],
        _transport(standin, adb_port),
        _config(image_limit=2),
        out_dir=tmp_path / "py",
        progress=False,
    )
    assert py["status"] == "complete" and py["stages"]["encoder_ms"]["n"] == 6
    assert py["device"]["transport"] == f"adb:{standin.serial}"
    assert py["device"]["board_model"] == "fsplit-mobile test stand-in adb stand-in (not a phone, not Android)"
    native = run_benchmark(
        tiny["executorch"],
        _transport(standin, adb_port),
        _config(image_limit=2, runner=RunnerSpec(kind="native", native_binary=str(build_native_runner()))),
        out_dir=tmp_path / "native",
        progress=False,
    )
    assert native["status"] == "complete"
    assert [i["stream_sha256"] for i in native["images"]] == [i["stream_sha256"] for i in py["images"]]
    leftovers = [p.name for p in standin_root(standin).iterdir() if p.name.startswith("fsplit-bench-")]
    assert leftovers == []


def standin_root(standin):
    from pathlib import Path

    return Path(standin.root)


def test_adb_standin_device_missing(tiny, adb_port, tmp_path):
    transport = AdbTransport(serial=f"127.0.0.1:{free_port()}", server_port=adb_port, stage_root=str(tmp_path))
    with pytest.raises(DeviceNotFoundError, match="not available"):
        run_benchmark(tiny["onnx"], transport, _config(), out_dir=tmp_path / "out", progress=False)


def test_adb_standin_disconnect_mid_run_keeps_partial_results(tiny, standin, adb_port, tmp_path):
    def pull_the_cable(event):
        if event["event"] == "sample" and event["run"] == 0:
            standin.drop_connections(refuse_new=True)

    with pytest.raises(DeviceDisconnectedError, match="lost"):
        run_benchmark(
            tiny["onnx"],
            _transport(standin, adb_port),
            _config(runs=5000),
            out_dir=tmp_path / "out",
            progress=False,
            on_event=pull_the_cable,
        )
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and result["error"]["type"] == "DeviceDisconnectedError"
    assert 1 <= len(result["samples"]) < 5000


def test_adb_standin_runner_crash(tiny, standin, adb_port, tmp_path):
    spec = RunnerSpec(kind="native", native_binary=str(crashing_runner(tmp_path)))
    with pytest.raises(RunnerFailedError, match=r"crashed \(signal 11\) after 2 samples") as info:
        run_benchmark(
            tiny["executorch"],
            _transport(standin, adb_port),
            _config(runner=spec),
            out_dir=tmp_path / "out",
            progress=False,
        )
    assert "about to crash" in info.value.stderr_tail  # stderr arrives separately through shell v2
    assert len(load_result(tmp_path / "out")["samples"]) == 2


def test_adb_standin_runner_nonzero_exit(tiny, standin, adb_port, tmp_path):
    bad = corrupt_encoder_artifact(tiny["onnx"], tmp_path / "bad")
    with pytest.raises(RunnerFailedError, match="exit code 2: ONNX Runtime cannot load encoder.onnx") as info:
        run_benchmark(bad, _transport(standin, adb_port), _config(), out_dir=tmp_path / "out", progress=False)
    assert info.value.exit_code == 2


def test_adb_standin_full_disk_on_push_and_during_run(tiny, standin, adb_port, tmp_path):
    with Tmpfs(tmp_path / "tiny-disk", 64) as small:
        with pytest.raises(DeviceDiskFullError, match="storage full while pushing"):
            run_benchmark(
                tiny["onnx"],
                _transport(standin, adb_port, stage_root=small),
                _config(),
                out_dir=tmp_path / "push",
                progress=False,
            )
    assert load_result(tmp_path / "push")["error"]["type"] == "DeviceDiskFullError"

    with Tmpfs(tmp_path / "probe", 65536) as probe:
        run_benchmark(
            tiny["onnx"],
            _transport(standin, adb_port, stage_root=probe),
            _config(keep_stage=True),
            out_dir=tmp_path / "probe-out",
            progress=False,
        )
        bundle_kb = used_kb(probe)
    with Tmpfs(tmp_path / "small", bundle_kb + 8) as small:
        with pytest.raises(DeviceDiskFullError, match="during the run"):
            run_benchmark(
                tiny["onnx"],
                _transport(standin, adb_port, stage_root=small),
                _config(runs=2000),
                out_dir=tmp_path / "run",
                progress=False,
            )
    result = load_result(tmp_path / "run")
    assert result["status"] == "partial" and 10 < len(result["samples"]) < 2000


def test_adb_standin_cli_run(tiny, standin, adb_port, tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    res = CliRunner().invoke(
        main,
        [
            "--artifact",
            str(tiny["onnx"]),
            "--device",
            f"adb:{standin.serial}",
            "--adb-server-port",
            str(adb_port),
            "--remote-dir",
            str(standin.root),
            "--runner",
            "python",
            "--python",
            sys.executable,
            "--runs",
            "2",
            "--warmup",
            "0",
            "--image-limit",
            "1",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    result = load_result(tmp_path / "out")
    assert result["status"] == "complete" and result["device"]["adb_shell_v2"] is True
    # Default runner on adb is the native one; an ONNX artifact is refused with the reason.
    res = CliRunner().invoke(
        main,
        [
            "--artifact",
            str(tiny["onnx"]),
            "--device",
            f"adb:{standin.serial}",
            "--adb-server-port",
            str(adb_port),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2 and "native runner runs ExecuTorch artifacts only" in res.output
