"""The device-transport contract (issue 21 item 5): fsplit-bench through every transport's flow
(tests/transport_flows.py: adb to an adb daemon stand-in that is not a phone, ssh to a real OpenSSH server on this
host). Every test runs over every flow: a full benchmark with the Python agent and the native runner, an absent
device, a link cut mid-run, a crashing runner, a runner that cannot load the model, a full disk while pushing and
during the run, the CLI, and a device with no runner flags (provisioning). What only one transport has stays in
its own file (test_bench_ssh.py)."""

import sys

import pytest

from bench_support import (
    Tmpfs,
    build_native_runner,
    corrupt_encoder_artifact,
    crashing_runner,
    tiny_artifacts,
    used_kb,
)
from doubles.sshd import TempSshd
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.errors import (
    DeviceDisconnectedError,
    DeviceDiskFullError,
    DeviceNotFoundError,
    RunnerFailedError,
)
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import run_benchmark
from transport_flows import FLOWS, config

flows = pytest.mark.parametrize("flow", list(FLOWS.values()), ids=list(FLOWS))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_artifacts(tmp_path_factory)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    with TempSshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def device(flow, request, tmp_path):
    """The flow's device, started for this test (adb: a fresh stand-in; ssh: the module's server)."""
    return flow.start(request, tmp_path)


@pytest.mark.slow
@flows
def test_full_benchmark_python_agent_and_native_runner(flow, device, tiny, tmp_path):
    stage_root = device.full_run_stage(tmp_path)
    py = run_benchmark(
        tiny["executorch"],
        device.transport(stage_root),
        config(image_limit=2),
        out_dir=tmp_path / "py",
        progress=False,
    )
    assert py["status"] == "complete" and py["stages"]["encoder_ms"]["n"] == 6
    assert py["device"]["transport"] == device.id
    native = run_benchmark(
        tiny["executorch"],
        device.transport(stage_root),
        config(image_limit=2, runner=RunnerSpec(kind="native", native_binary=str(build_native_runner()))),
        out_dir=tmp_path / "native",
        progress=False,
    )
    assert native["status"] == "complete"
    assert [i["stream_sha256"] for i in native["images"]] == [i["stream_sha256"] for i in py["images"]]
    flow.check_full(device, py, native, stage_root, tmp_path / "py")


@flows
def test_device_missing(flow, request, tiny, tmp_path):
    transport = flow.missing(request, tmp_path)
    with pytest.raises(DeviceNotFoundError, match=flow.missing_match):
        run_benchmark(tiny["onnx"], transport, config(), out_dir=tmp_path / "out", progress=False)


@flows
def test_disconnect_mid_run_keeps_partial_results(flow, device, tiny, tmp_path):
    def cut_the_link(event):
        if event["event"] == "sample" and event["run"] == 0:
            device.drop_link()

    with pytest.raises(DeviceDisconnectedError, match="lost"):
        run_benchmark(
            tiny["onnx"],
            device.transport(),
            config(runs=5000),
            out_dir=tmp_path / "out",
            progress=False,
            on_event=cut_the_link,
        )
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and result["error"]["type"] == "DeviceDisconnectedError"
    assert 1 <= len(result["samples"]) < 5000
    flow.check_disconnect(result)


@flows
def test_runner_crash_is_reported_with_signal(flow, device, tiny, tmp_path):
    spec = RunnerSpec(kind="native", native_binary=str(crashing_runner(tmp_path)))
    with pytest.raises(RunnerFailedError, match=r"crashed \(signal 11\) after 2 samples") as info:
        run_benchmark(
            tiny["executorch"], device.transport(), config(runner=spec), out_dir=tmp_path / "out", progress=False
        )
    assert "about to crash" in info.value.stderr_tail  # stderr arrives separately (adb: through shell v2)
    result = load_result(tmp_path / "out")
    assert len(result["samples"]) == 2
    flow.check_crash(result)


@flows
def test_runner_nonzero_exit_names_the_problem(flow, device, tiny, tmp_path):
    bad = corrupt_encoder_artifact(tiny["onnx"], tmp_path / "bad")
    with pytest.raises(RunnerFailedError, match="exit code 2: ONNX Runtime cannot load encoder.onnx") as info:
        run_benchmark(bad, device.transport(), config(), out_dir=tmp_path / "out", progress=False)
    assert info.value.exit_code == 2
    flow.check_nonzero_exit(tmp_path / "out")


@flows
def test_full_disk_on_push(flow, device, tiny, tmp_path):
    with Tmpfs(tmp_path / "tiny-disk", 64) as small:
        with pytest.raises(DeviceDiskFullError, match="storage full while pushing"):
            run_benchmark(tiny["onnx"], device.transport(small), config(), out_dir=tmp_path / "push", progress=False)
    result = load_result(tmp_path / "push")
    assert result["error"]["type"] == "DeviceDiskFullError"
    flow.check_full_disk_on_push(result)


@flows
def test_full_disk_during_run_keeps_partial_results(flow, device, tiny, tmp_path):
    # Measure how much the staged bundle takes, then give the "board" just a little more than that.
    with Tmpfs(tmp_path / "probe", 65536) as probe:
        run_benchmark(
            tiny["onnx"],
            device.transport(probe),
            config(keep_stage=True),
            out_dir=tmp_path / "probe-out",
            progress=False,
        )
        bundle_kb = used_kb(probe)
    with Tmpfs(tmp_path / "small", bundle_kb + 8) as small:
        with pytest.raises(DeviceDiskFullError, match="during the run"):
            run_benchmark(
                tiny["onnx"],
                device.transport(small),
                config(runs=2000),
                out_dir=tmp_path / "run",
                progress=False,
            )
    result = load_result(tmp_path / "run")
    assert result["status"] == "partial" and result["error"]["type"] == "DeviceDiskFullError"
    assert 10 < len(result["samples"]) < 2000  # what was measured before the disk filled up is kept


@flows
def test_cli_run(flow, device, tiny, tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    argv = [
        *flow.cli_run_args(device),
        "--artifact",
        str(tiny["onnx"]),
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
    ]
    res = CliRunner().invoke(main, argv)
    assert res.exit_code == 0, res.output
    result = load_result(tmp_path / "out")
    assert result["status"] == "complete"
    flow.check_cli(device, result)
    flow.check_cli_refusal(device, tiny, tmp_path)


@pytest.mark.slow
@flows
def test_zero_setup_with_no_runner_flags(flow, device, tiny, tmp_path):
    """No runner flags: fsplit-bench provisions the device, or says what to pass where it cannot
    (fsplit_mobile/bench/provision; its units are in test_bench_provision.py)."""
    flow.check_zero_setup(device, tiny, tmp_path)
