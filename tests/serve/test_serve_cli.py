"""The `fsplit-serve` command as a real process (one and two uvicorn workers), and its argument errors."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fsplit_mobile.client import SplitClient
from serve_support import build_tiny_artifact, free_port, random_images, session_pids

SERVE = [str(Path(sys.executable).parent / "fsplit-serve")]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return build_tiny_artifact(tmp_path_factory.mktemp("cli") / "a")


def wait_healthy(url, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"fsplit-serve exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("fsplit-serve did not become healthy")


@pytest.mark.parametrize("workers", [1, 2])
def test_serves_over_http(artifact, workers):
    port = free_port()
    proc = subprocess.Popen(
        SERVE
        + [
            "--artifact",
            str(artifact),
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--max-payload",
            "2048",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        with SplitClient(artifact, url) as client:
            for img in random_images(4, seed=workers):
                assert len(client.infer(img).top5) == 5
        assert httpx.get(url + "/v1/model").json()["limits"]["max_payload"] == 2048
        r = httpx.post(url + "/v1/infer", content=b"\0" * 3000, headers={"content-type": "application/octet-stream"})
        assert r.status_code == 413
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def _start(artifact, port, workers):
    return subprocess.Popen(
        SERVE + ["--artifact", str(artifact), "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_workers_die_with_a_killed_master_and_a_restart_binds_at_once(artifact):
    """kill -9 of the master: no process of its session survives (workers, no resource tracker) within a few
    seconds, and a new fsplit-serve on the same port starts at once. 2 trials here; benchmarks/attack runs 10."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    for _trial in range(2):
        proc = _start(artifact, port, 2)
        try:
            wait_healthy(url, proc)
            with httpx.Client(timeout=5) as http:  # both workers have served (fresh connections spread)
                assert all(
                    http.get(url + "/healthz", headers={"connection": "close"}).status_code == 200 for _ in range(6)
                )
            workers = [pid for pid in session_pids(proc.pid) if pid != proc.pid]
            assert len(workers) == 2  # master + 2 workers, nothing else (no resource tracker)
            if _trial == 0:  # a worker that dies on its own is replaced by the master
                os.kill(workers[0], signal.SIGKILL)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    now = [pid for pid in session_pids(proc.pid) if pid != proc.pid]
                    if len(now) == 2 and workers[0] not in now:
                        break
                    time.sleep(0.1)
                assert len(now) == 2 and workers[0] not in now, now
                wait_healthy(url, proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            deadline = time.monotonic() + 10
            while session_pids(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert session_pids(proc.pid) == []
            with pytest.raises(httpx.ConnectError):
                httpx.get(url + "/healthz", timeout=2)
        finally:
            for pid in session_pids(proc.pid):
                os.kill(pid, signal.SIGKILL)
    proc = _start(artifact, port, 1)  # the port is free: binds at once
    try:
        wait_healthy(url, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_help_and_bad_arguments(tmp_path):
    out = subprocess.run(SERVE + ["--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--max-concurrency" in out.stdout and "--artifact" in out.stdout
    (tmp_path / "empty").mkdir()
    out = subprocess.run(SERVE + ["--artifact", str(tmp_path / "empty")], capture_output=True, text=True)
    assert out.returncode == 2 and "manifest.json" in out.stderr
    out = subprocess.run(
        SERVE + ["--artifact", str(tmp_path / "empty"), "--timeout", "0"], capture_output=True, text=True
    )
    assert out.returncode == 2 and "timeout_s must be > 0" in out.stderr
