"""What only the SSH transport has, against a real OpenSSH server (Debian openssh-server) started on 127.0.0.1 with a
temporary host key and authorized key (the "board" is this host): a hung link and a lost listener. The contract
every transport keeps (full runs, absent devices, cut links, crashing runners, full disks, the CLI) is
test_bench_transports.py with the ssh flow of transport_flows.py."""

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from bench_support import tiny_artifacts
from doubles.sshd import TempSshd
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.errors import DeviceDisconnectedError
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports.ssh import SshTransport

PYTHON = RunnerSpec(kind="python", python=sys.executable)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_artifacts(tmp_path_factory)


def _config(**kw):
    base = dict(runs=3, warmup=1, image_limit=1, runner=PYTHON)
    base.update(kw)
    return BenchConfig(**base)


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
