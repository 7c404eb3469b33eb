"""fsplit-bench --accelerator: a QNN artifact in the Python device agent through the local, ssh (real sshd) and
adb (stand-in) transports. The "device" is this x86_64 host and the QNN libraries are onnxruntime-qnn's x86_64
HTP *simulator* playing the device's libraries: this checks loading, placement and error handling, NOT a
phone or its timings. The GPU path (CUDA/TensorRT EPs, Jetson) is not available here: its error is tested."""

import json
import subprocess
import sys

import pytest

from accel_support import qnn_artifact
from bench_support import tiny_artifacts
from doubles.adb_standin import AdbStandin
from doubles.sshd import TempSshd
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.errors import ArtifactError, BenchError, RunnerFailedError
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import AdbTransport, open_transport
from fsplit_mobile.runtime import qnn

pytest.importorskip("onnxruntime_qnn")
PYTHON = RunnerSpec(kind="python", python=sys.executable)


@pytest.fixture(scope="module")
def arts(tmp_path_factory):
    tiny = tiny_artifacts(tmp_path_factory)
    d = tmp_path_factory.mktemp("qnn-arts")
    return {
        "onnx": tiny["onnx"],
        "executorch": tiny["executorch"],
        "qnn": qnn_artifact(tiny["onnx"], d / "qnn-sm8650-int8"),
        "qnn_sinh": qnn_artifact(tiny["onnx"], d / "qnn-sinh", inject="Sinh"),
    }


def _config(**kw):
    base = dict(runs=2, warmup=1, image_limit=1, runner=PYTHON)
    base.update(kw)
    return BenchConfig(**base)


def _local():
    return open_transport("local")


def test_qnn_artifact_fully_on_the_npu_locally(arts, tmp_path):
    res = run_benchmark(arts["qnn"], _local(), _config(), out_dir=tmp_path / "r", progress=False)
    assert res["status"] == "complete" and res["stages"]["encoder_ms"]["n"] == 2
    assert res["runner"]["accelerator"] == "npu" and res["runner"]["runtime"]["name"] == "onnxruntime-qnn"
    p = res["placement"]
    assert p["fully_offloaded"] and p["fallback"] == [] and p["partitions"] == 1
    assert "simulator" in p["accelerator"]
    assert res["artifact"]["accelerator"]["soc"] == "SM8650"
    report = (tmp_path / "r" / "report.md").read_text()
    assert "no CPU fallback" in report


def test_fallback_is_flagged_by_name(arts, tmp_path):
    res = run_benchmark(arts["qnn_sinh"], _local(), _config(warmup=0), out_dir=tmp_path / "r", progress=False)
    assert res["status"] == "complete"
    assert [(n["name"], n["op_type"]) for n in res["placement"]["fallback"]] == [("injected_sinh", "Sinh")]
    assert "CPU FALLBACK: injected_sinh (Sinh)" in (tmp_path / "r" / "report.md").read_text()


def test_gpu_not_available_here_keeps_partial_result(arts, tmp_path):
    with pytest.raises(RunnerFailedError, match="neither CUDAExecutionProvider nor TensorrtExecutionProvider"):
        run_benchmark(arts["onnx"], _local(), _config(accelerator="gpu"), out_dir=tmp_path / "r", progress=False)
    partial = load_result(tmp_path / "r")
    assert partial["status"] == "partial" and "CUDAExecutionProvider" in partial["error"]["message"]


def test_wrong_accelerator_for_the_artifact(arts, tmp_path):
    with pytest.raises(RunnerFailedError, match="needs a qnn artifact"):
        run_benchmark(arts["executorch"], _local(), _config(accelerator="npu"), out_dir=tmp_path / "a", progress=False)
    with pytest.raises(RunnerFailedError, match="runs only with --accelerator npu"):
        run_benchmark(arts["qnn"], _local(), _config(accelerator="cpu"), out_dir=tmp_path / "b", progress=False)
    with pytest.raises(ArtifactError, match="--runner python"):
        run_benchmark(
            arts["qnn"], _local(), _config(runner=RunnerSpec(kind="native")), out_dir=tmp_path / "c", progress=False
        )
    with pytest.raises(BenchError, match="needs the Python device agent"):
        run_benchmark(
            arts["executorch"],
            _local(),
            _config(runner=RunnerSpec(kind="native"), accelerator="gpu"),
            out_dir=tmp_path / "d",
            progress=False,
        )


@pytest.mark.slow
def test_ssh_board_with_qnn_libs_and_without(arts, tmp_path, tmp_path_factory):
    wheel = str(qnn._wheel_dir())
    empty = tmp_path / "no-qnn"
    empty.mkdir()
    with TempSshd(tmp_path_factory.mktemp("sshd")) as sshd:
        transport = open_transport(sshd.device, ssh_identity=sshd.identity, ssh_known_hosts=sshd.known_hosts)
        ok = run_benchmark(
            arts["qnn"], transport, _config(accelerator="npu", qnn_libs=wheel), out_dir=tmp_path / "ok", progress=False
        )
        assert ok["status"] == "complete" and ok["placement"]["fully_offloaded"]
        assert ok["config"]["qnn_libs"] == wheel
        with pytest.raises(RunnerFailedError, match=r"libQnnHtp.so not found \(looked in: " + str(empty)):
            run_benchmark(
                arts["qnn"], transport, _config(qnn_libs=str(empty)), out_dir=tmp_path / "bad", progress=False
            )
    bad = json.loads((tmp_path / "bad" / "result.json").read_text())
    assert bad["status"] == "partial" and "--qnn-libs" in bad["error"]["message"]


@pytest.mark.slow
def test_adb_standin_runs_the_qnn_artifact(arts, tmp_path, adb_port):
    device = AdbStandin(tmp_path / "standin-root").start()
    try:
        transport = AdbTransport(serial=device.serial, server_port=adb_port, stage_root=str(device.root))
        res = run_benchmark(
            arts["qnn_sinh"], transport, _config(accelerator="npu"), out_dir=tmp_path / "r", progress=False
        )
    finally:
        device.stop()
        subprocess.run(["adb", "-P", str(adb_port), "disconnect", device.serial], capture_output=True, timeout=30)
    assert res["status"] == "complete" and res["device"]["transport"] == f"adb:{device.serial}"
    assert [n["name"] for n in res["placement"]["fallback"]] == ["injected_sinh"]


def test_cli_prints_placement_and_warns_on_fallback(arts, tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    args = [
        "run",
        "--device",
        "local",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--image-limit",
        "1",
        "--no-progress",
        "--python",
        sys.executable,
    ]
    res = CliRunner().invoke(main, args + ["--artifact", str(arts["qnn_sinh"]), "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "CPU FALLBACK: injected_sinh (Sinh)" in res.output and "warning:" in res.output
    res = CliRunner().invoke(
        main, args + ["--artifact", str(arts["onnx"]), "--accelerator", "gpu", "--out", str(tmp_path / "b")]
    )
    assert res.exit_code == 2 and "CUDAExecutionProvider" in res.output and "partial results kept" in res.output
