"""fsplit-bench through the SSH transport against a real OpenSSH server (Debian openssh-server) started on
127.0.0.1 with a temporary host key and authorized key. The "board" is this host: commands run here."""

import json
import os
import signal
import sys
import time
from pathlib import Path

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
from doubles.sshd import TempSshd
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.errors import (
    DeviceDisconnectedError,
    DeviceDiskFullError,
    DeviceNotFoundError,
    RunnerFailedError,
)
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import open_transport
from fsplit_mobile.bench.transports.ssh import SshTransport

PYTHON = RunnerSpec(kind="python", python=sys.executable)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_artifacts(tmp_path_factory)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    with TempSshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def _transport(sshd, device=None, **kw):
    return open_transport(device or sshd.device, ssh_identity=sshd.identity, ssh_known_hosts=sshd.known_hosts, **kw)


def _config(**kw):
    base = dict(runs=3, warmup=1, image_limit=1, runner=PYTHON)
    base.update(kw)
    return BenchConfig(**base)


@pytest.mark.slow
def test_ssh_full_benchmark_python_agent_and_native_runner(tiny, sshd, tmp_path):
    stage_root = tmp_path / "board-tmp"
    stage_root.mkdir()
    py = run_benchmark(
        tiny["executorch"],
        _transport(sshd, stage_root=str(stage_root)),
        _config(image_limit=2),
        out_dir=tmp_path / "py",
        progress=False,
    )
    assert py["status"] == "complete" and py["stages"]["encoder_ms"]["n"] == 6
    assert py["device"]["transport"] == sshd.device
    assert py["device"]["cores"] >= 1 and "cpu_model" in py["device"]
    assert (tmp_path / "py" / "device-events.jsonl").is_file()  # pulled from the board
    native = run_benchmark(
        tiny["executorch"],
        _transport(sshd, stage_root=str(stage_root)),
        _config(image_limit=2, runner=RunnerSpec(kind="native", native_binary=str(build_native_runner()))),
        out_dir=tmp_path / "native",
        progress=False,
    )
    assert native["status"] == "complete" and native["runner"]["runner"] == "native"
    assert [i["stream_sha256"] for i in native["images"]] == [i["stream_sha256"] for i in py["images"]]
    assert list(stage_root.iterdir()) == []  # staging folders cleaned up on the board


def test_ssh_device_missing(tiny, tmp_path, sshd):
    transport = _transport(sshd, device=f"ssh://{sshd.user}@127.0.0.1:{free_port()}")
    with pytest.raises(DeviceNotFoundError, match="Connection refused"):
        run_benchmark(tiny["onnx"], transport, _config(), out_dir=tmp_path, progress=False)


def test_ssh_disconnect_mid_run_keeps_partial_results(tiny, sshd, tmp_path):
    def drop_link(event):
        if event["event"] == "sample" and event["run"] == 0:
            sshd.drop_sessions()

    with pytest.raises(DeviceDisconnectedError, match="lost"):
        run_benchmark(
            tiny["onnx"], _transport(sshd), _config(runs=5000), out_dir=tmp_path, progress=False, on_event=drop_link
        )
    result = load_result(tmp_path)
    assert result["status"] == "partial" and result["error"]["type"] == "DeviceDisconnectedError"
    assert 1 <= len(result["samples"]) < 5000
    assert result["stages"]["encoder_ms"]["n"] == len(result["samples"])


def test_ssh_runner_crash_is_reported_with_signal(tiny, sshd, tmp_path):
    spec = RunnerSpec(kind="native", native_binary=str(crashing_runner(tmp_path)))
    with pytest.raises(RunnerFailedError, match=r"crashed \(signal 11\) after 2 samples") as info:
        run_benchmark(
            tiny["executorch"], _transport(sshd), _config(runner=spec), out_dir=tmp_path / "out", progress=False
        )
    assert "about to crash" in info.value.stderr_tail
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and len(result["samples"]) == 2


def test_ssh_runner_nonzero_exit_names_the_problem(tiny, sshd, tmp_path):
    bad = corrupt_encoder_artifact(tiny["onnx"], tmp_path / "bad")
    with pytest.raises(RunnerFailedError, match="exit code 2: ONNX Runtime cannot load encoder.onnx") as info:
        run_benchmark(bad, _transport(sshd), _config(), out_dir=tmp_path / "out", progress=False)
    assert info.value.exit_code == 2
    assert load_result(tmp_path / "out")["error"]["type"] == "RunnerFailedError"


def test_ssh_full_disk_on_push(tiny, sshd, tmp_path):
    with Tmpfs(tmp_path / "small", 64) as small:
        with pytest.raises(DeviceDiskFullError, match="storage full while pushing"):
            run_benchmark(
                tiny["onnx"],
                _transport(sshd, stage_root=str(small)),
                _config(),
                out_dir=tmp_path / "out",
                progress=False,
            )
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and result["error"]["type"] == "DeviceDiskFullError"


def test_ssh_full_disk_during_run_keeps_partial_results(tiny, sshd, tmp_path):
    # Measure how much the staged bundle takes, then give the "board" just a little more than that.
    with Tmpfs(tmp_path / "probe", 65536) as probe:
        run_benchmark(
            tiny["onnx"],
            _transport(sshd, stage_root=str(probe)),
            _config(keep_stage=True),
            out_dir=tmp_path / "probe-out",
            progress=False,
        )
        bundle_kb = used_kb(probe)
    with Tmpfs(tmp_path / "small", bundle_kb + 8) as small:
        with pytest.raises(DeviceDiskFullError, match="during the run"):
            run_benchmark(
                tiny["onnx"],
                _transport(sshd, stage_root=str(small)),
                _config(runs=2000),
                out_dir=tmp_path / "out",
                progress=False,
            )
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and result["error"]["type"] == "DeviceDiskFullError"
    assert 10 < len(result["samples"]) < 2000  # what was measured before the disk filled up is kept


def test_ssh_cli_run_with_key_options(tiny, sshd, tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    res = CliRunner().invoke(
        main,
        [
            "run",
            "--artifact",
            str(tiny["onnx"]),
            "--device",
            sshd.device,
            "--ssh-identity",
            sshd.identity,
            "--ssh-known-hosts",
            sshd.known_hosts,
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
    assert result["status"] == "complete" and result["device"]["transport"] == sshd.device
    res = CliRunner().invoke(
        main,
        [
            "run",
            "--artifact",
            str(tiny["onnx"]),
            "--device",
            f"ssh://{sshd.user}@127.0.0.1:{free_port()}",
            "--ssh-identity",
            sshd.identity,
            "--out",
            str(tmp_path / "missing"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 2 and "DeviceNotFoundError" in res.output


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def test_ssh_hung_link_is_a_disconnect_naming_the_timeout(tiny, tmp_path):
    """Every sshd session process is frozen (SIGSTOP) mid-run: TCP stays up, nothing answers. ssh's keep-alives
    (1 s x 2 here) end the run as DeviceDisconnectedError naming that timeout with ssh's own message; the
    listener still answers, so the staging folder is removed."""
    stage_root = tmp_path / "board-tmp"
    stage_root.mkdir()
    frozen: list[int] = []
    with TempSshd(tmp_path / "sshd") as server:
        transport = SshTransport(
            "127.0.0.1",
            user=server.user,
            port=server.port,
            identity=server.identity,
            known_hosts=server.known_hosts,
            stage_root=str(stage_root),
            alive_interval=1,
            alive_count=2,
        )

        def freeze(event):
            if event["event"] == "sample" and not frozen:
                frozen.extend(_descendants(server.proc.pid))
                _signal_all(frozen, signal.SIGSTOP)

        t0 = time.monotonic()
        try:
            with pytest.raises(DeviceDisconnectedError, match=r"hung.*2 keep-alives 1 s apart.*Timeout, server"):
                run_benchmark(
                    tiny["onnx"],
                    transport,
                    _config(runs=5000),
                    out_dir=tmp_path / "out",
                    progress=False,
                    on_event=freeze,
                )
        finally:
            _signal_all(frozen, signal.SIGKILL)
        assert time.monotonic() - t0 < 60
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and "hung" in result["error"]["message"]
    assert "stage_left_on_device" not in result and list(stage_root.iterdir()) == []


def test_ssh_lost_listener_run_is_never_complete(tiny, tmp_path):
    """Only the sshd listener dies mid-run: the session goes on and the runner exits 0, but the device-side
    events file cannot be pulled. The run is partial, says which file is missing and that (and where) the
    staging folder was left, since the link does not allow removing it."""
    stage_root = tmp_path / "board-tmp"
    stage_root.mkdir()
    with TempSshd(tmp_path / "sshd") as server:
        transport = SshTransport(
            "127.0.0.1",
            user=server.user,
            port=server.port,
            identity=server.identity,
            known_hosts=server.known_hosts,
            stage_root=str(stage_root),
            connect_timeout=5,
        )

        def kill_listener(event):
            if event["event"] == "sample" and server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait(5)

        with pytest.raises(DeviceDisconnectedError, match="device-events.jsonl could not be pulled"):
            run_benchmark(
                tiny["onnx"],
                transport,
                _config(runs=20),
                out_dir=tmp_path / "out",
                progress=False,
                on_event=kill_listener,
            )
        server.drop_sessions()
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and "not complete" in result["error"]["message"]
    assert any(e["event"] == "end" for e in map(json.loads, (tmp_path / "out" / "events.jsonl").open()))
    left = result["stage_left_on_device"]
    assert left["path"].startswith(str(stage_root)) and Path(left["path"]).is_dir()
    assert "Connection refused" in left["reason"]
