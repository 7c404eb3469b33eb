"""The end-to-end benchmark's machinery: the shaped link between network namespaces (real RTT and bandwidth),
the benchmark's server and probe processes over it, the computed fallback, quality matching and crossovers."""

import json
import subprocess
import sys

import pytest

from fsplit_mobile.e2e.netns import ShapedLink, probe_modes
from fsplit_mobile.e2e.report import crossover, speedups
from fsplit_mobile.e2e.study import measure_transfer_computed
from fsplit_mobile.e2e.workload import MethodRun, match_quality
from serve_support import build_tiny_artifact, random_images

PY = sys.executable
SINK = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9555)); s.listen(); print("ready", flush=True)
while True:
    c, _ = s.accept()
    while c.recv(65536):
        pass
    c.sendall(b"k"); c.close()
"""
SEND = """
import socket, sys, time
n = int(sys.argv[2]); t0 = time.perf_counter()
s = socket.create_connection((sys.argv[1], 9555)); t1 = time.perf_counter()
s.sendall(b"x" * n); s.shutdown(socket.SHUT_WR); s.recv(1); t2 = time.perf_counter()
print(f"{(t1 - t0) * 1e3} {(t2 - t0) * 1e3}")
"""


def test_some_shaping_mode_works_here():
    modes = probe_modes()
    assert any(v is True for v in modes.values()), modes


@pytest.mark.parametrize("rate,rtt,nbytes", [(5, 40, 250_000), (50, 10, 250_000)])
def test_link_has_the_rtt_and_bandwidth_asked_for(rate, rtt, nbytes):
    with ShapedLink(rate_mbit=rate, rtt_ms=rtt) as link:
        sink = subprocess.Popen(
            link.exec_prefix(link.server_ns) + [PY, "-c", SINK, link.server_ip], stdout=subprocess.PIPE, text=True
        )
        try:
            assert sink.stdout.readline().strip() == "ready"
            out = subprocess.run(
                link.exec_prefix(link.client_ns) + [PY, "-c", SEND, link.server_ip, str(nbytes)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout.split()
        finally:
            sink.kill()
            sink.wait()
    connect_ms, total_ms = map(float, out)
    assert rtt * 0.9 <= connect_ms <= rtt * 1.5 + 5  # the handshake takes one RTT
    wire_ms = nbytes * 8 / (rate * 1e6) * 1e3
    assert total_ms >= wire_ms * 0.9 + rtt  # cannot beat the bandwidth
    assert total_ms <= wire_ms * 1.3 + 12 * rtt + 100  # nor be far slower (slow start costs a few RTTs)
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert link.client_ns not in names and link.server_ns not in names  # cleaned up


def test_benchmark_server_and_probe_over_the_link(tmp_path):
    art = build_tiny_artifact(tmp_path / "tiny")
    from fsplit_mobile.client import SplitClient

    with SplitClient(art, "http://unused") as client:
        payloads = [client.encode(img)[0] for img in random_images(3, seed=2)]
    files = []
    for i, p in enumerate(payloads):
        files.append(tmp_path / f"p{i}.bin")
        files[-1].write_bytes(p)
    with ShapedLink(rate_mbit=10, rtt_ms=30) as link:
        port = 8471
        server = subprocess.Popen(
            link.exec_prefix(link.server_ns)
            + [
                PY,
                "-m",
                "fsplit_mobile.e2e.server",
                "--split",
                f"tiny={art}",
                "--host",
                link.server_ip,
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            spec = {
                "base_url": f"http://{link.server_ip}:{port}",
                "reps": 2,
                "wait_s": 60,
                "jobs": [
                    {
                        "method": "tiny",
                        "path": "/split/tiny/v1/infer",
                        "content_type": "application/octet-stream",
                        "files": [str(f) for f in files],
                    }
                ],
            }
            (tmp_path / "jobs.json").write_text(json.dumps(spec))
            subprocess.run(
                link.exec_prefix(link.client_ns)
                + [PY, "-m", "fsplit_mobile.e2e.probe", str(tmp_path / "jobs.json"), str(tmp_path / "out.json")],
                check=True,
                timeout=120,
            )
        finally:
            server.terminate()
            server.wait(20)
    got = json.loads((tmp_path / "out.json").read_text())
    rows = got["results"]["tiny"]
    assert len(rows) == 6 and all(r["status"] == 200 for r in rows)
    assert all(r["request_ms"] >= 30 * 0.9 for r in rows)  # at least one RTT
    assert 27 <= got["link_check"]["tcp_connect_ms"] <= 60


def test_computed_transfer_formula(tmp_path):
    f = tmp_path / "p.bin"
    f.write_bytes(b"\0" * 10_000)
    rows = measure_transfer_computed([{"method": "m", "files": [str(f)]}], {str(f): 5.0}, [1, 100], rtt_ms=20)
    slow, fast = rows["m"]["1"][0]["request_ms"], rows["m"]["100"][0]["request_ms"]
    assert slow == pytest.approx(20 + 5 + (10_000 + 200 + 900) * 1500 / 1448 * 8 / 1e6 * 1e3)
    assert 25 < fast < slow


def test_match_quality_picks_lowest_quality_reaching_the_target():
    ref = [1, 2, 3, 4]
    runs = {
        q: MethodRun(f"q{q}", top1=top1)
        for q, top1 in {10: [1, 0, 0, 0], 50: [1, 2, 3, 0], 70: [1, 2, 0, 4], 90: [1, 2, 3, 4]}.items()
    }
    assert match_quality(runs, ref, 0.75) == (50, True)
    assert match_quality(runs, ref, 0.25) == (10, True)
    assert match_quality({10: runs[10], 50: runs[50]}, ref, 1.0) == (50, False)


def test_crossover_and_speedups():
    bws = [1, 10, 100]
    assert crossover(bws, [100, 50, 40], [300, 60, 20]) == [
        {"mbit": pytest.approx(10 ** (4 / 3), abs=0.01), "split_faster_below": True}
    ]
    assert crossover(bws, [10, 10, 10], [20, 30, 40]) == []
    results = {
        "bandwidths_mbit": bws,
        "split_methods": ["s"],
        "offload_methods": ["jpeg-q50"],
        "e2e_ms": {
            "s": {str(b): {"total": t} for b, t in zip(bws, [100, 50, 40])},
            "jpeg-q50": {str(b): {"total": t} for b, t in zip(bws, [300, 60, 20])},
        },
    }
    s = speedups(results)["s"]["jpeg-q50"]
    assert s["per_bandwidth"] == {"1": 3.0, "10": 1.2, "100": 0.5} and s["max"] == 3.0
