"""Autoscaling under a step load (issue 23 part 3): `fsplit-serve --engine ray --min-replicas 1 --max-replicas 3`
(behind its guarded front), the project's closed-loop load generator (fsplit_mobile.serve.loadgen) at 1 client,
then 4 clients (a 4x step), then 1 client again; replicas over time and p50/p99 per window before, during and
after the scale-up. Results: benchmarks/results/load/autoscale.{json,md,png}.

Replicas: the ServeReplica processes of the namespace's local Ray cluster, counted every 0.5 s (a replica
counts from its process start, model loading included, until its process ends).

    unshare -n nice -n 10 .venv/bin/python benchmarks/load/autoscale.py --artifact DIR
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from fsplit_mobile.client import SplitClient
from fsplit_mobile.e2e.study import machine_description
from fsplit_mobile.e2e.workload import heldout_crops
from fsplit_mobile.serve import loadgen
from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of, netns_pids

PORT = 8000
URL = f"http://127.0.0.1:{PORT}"
BIN = Path(sys.executable).parent


def replica_count() -> int:
    n = 0
    for pid in netns_pids(netns_of()):
        try:
            n += b"ServeReplica" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            pass
    return n


def sample_replicas(t_origin: float, stop: threading.Event, out: list):
    while not stop.is_set():
        out.append((time.perf_counter() - t_origin, replica_count()))
        stop.wait(0.5)


def windows(rows, t_origin: float, width: float, end: float) -> list[dict]:
    """Requests by the window their start falls in: count, errors, p50/p99 of the 200s."""
    out = []
    for k in range(int(np.ceil(end / width))):
        lo, hi = k * width, (k + 1) * width
        sel = [r for r in rows if lo <= r[0] - t_origin < hi]
        ok = [r[1] for r in sel if r[2] == 200]
        out.append(
            {
                "t0": lo,
                "t1": hi,
                "requests": len(sel),
                "errors": len(sel) - len(ok),
                "p50_ms": float(np.percentile(ok, 50)) if ok else None,
                "p99_ms": float(np.percentile(ok, 99)) if ok else None,
            }
        )
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="artifacts/default/onnx-none")
    p.add_argument("--base-clients", type=int, default=1)
    p.add_argument("--step", type=int, default=4, help="load multiplier of the step")
    p.add_argument("--before-s", type=float, default=30)
    p.add_argument("--during-s", type=float, default=90)
    p.add_argument("--after-s", type=float, default=40)
    p.add_argument("--window-s", type=float, default=5)
    p.add_argument("--max-concurrency", type=int, default=1)
    p.add_argument("--work", default="/tmp/fsplit-autoscale")
    p.add_argument("--out", default="benchmarks/results/load")
    args = p.parse_args()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout.splitlines()
    if [line.split(": ")[1] for line in links] != ["lo"]:
        raise SystemExit("run this in a network namespace of its own: unshare -n ...")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    art = Path(args.artifact)
    with SplitClient(art, "http://unused") as client:
        payloads = [client.encode(c)[0] for c in heldout_crops(crops_per_image=1)[:16]]
    bodies = [(x, {"content-type": "application/octet-stream"}) for x in payloads]
    cmd = [str(BIN / "fsplit-serve"), "--engine", "ray", "--artifact", str(art), "--port", str(PORT)]
    cmd += ["--min-replicas", "1", "--max-replicas", "3", "--max-concurrency", str(args.max_concurrency)]
    cmd += ["--max-queue", "16", "--intra-op-threads", "1", "--log-level", "warning"]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    log = open(Path(args.work) / "server.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(URL + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"did not start (see {log.name})")
            time.sleep(0.5)
        loadgen.run_load(URL, payloads, 1, 5.0)  # warm-up
        while replica_count() > 1:  # settle at the minimum
            time.sleep(1)
        phases = [
            ("before", args.base_clients, args.before_s),
            ("during", args.base_clients * args.step, args.during_s),
            ("after", args.base_clients, args.after_s),
        ]
        rows: list = []
        replicas: list = []
        stop = threading.Event()
        t_origin = time.perf_counter()
        sampler = threading.Thread(target=sample_replicas, args=(t_origin, stop, replicas))
        sampler.start()
        bounds = []
        try:
            for name, clients, seconds in phases:
                t0 = time.perf_counter() - t_origin
                out, _ = asyncio.run(
                    loadgen._run(URL + "/v1/infer", bodies, clients, seconds, loadgen._fsplit_server_ms)
                )
                rows += out
                bounds.append({"phase": name, "clients": clients, "t0": t0, "t1": time.perf_counter() - t_origin})
                print(f"{name}: {clients} clients, {len(out)} requests", flush=True)
        finally:
            stop.set()
            sampler.join(5)
        end = bounds[-1]["t1"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:
            pass
        kill_netns(netns_of())
        log.close()

    wins = windows(rows, t_origin, args.window_s, end)
    before = [r[1] for r in rows if r[2] == 200 and r[0] - t_origin < bounds[0]["t1"]]
    base_p99 = float(np.percentile(before, 99))
    step_t = bounds[1]["t0"]
    # recovery: the start of the first window after the step from which every window of the step phase has a
    # p99 under 2x the unloaded p99
    during = [w for w in wins if w["t0"] >= step_t and w["t1"] <= bounds[1]["t1"] + 1e-9]
    recovered_at = None
    for i, w in enumerate(during):
        if all(x["p99_ms"] is not None and x["p99_ms"] < 2 * base_p99 for x in during[i:]):
            recovered_at = w["t0"]
            break
    first_up = next((t for t, n in replicas if t >= step_t and n > 1), None)
    result = {
        "schema": "fsplit-autoscale/1",
        "artifact": str(art),
        "command": cmd[1:],
        "phases": bounds,
        "window_s": args.window_s,
        "unloaded_p99_ms": base_p99,
        "recovered_s_after_step": None if recovered_at is None else recovered_at + args.window_s - step_t,
        "first_scale_up_s_after_step": None if first_up is None else first_up - step_t,
        "max_replicas_seen": max(n for _, n in replicas),
        "errors": sum(r[2] != 200 for r in rows),
        "windows": wins,
        "replicas": replicas,
        "machine": machine_description()[0],
    }
    out_dir = Path(args.out)
    (out_dir / "autoscale.json").write_text(json.dumps(result, indent=1))
    plot(result, out_dir / "autoscale.png")
    print(json.dumps({k: v for k, v in result.items() if k not in ("windows", "replicas", "machine")}, indent=1))


def plot(result: dict, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    w = result["windows"]
    mids = [(x["t0"] + x["t1"]) / 2 for x in w]
    ax.plot(mids, [x["p99_ms"] for x in w], "o-", label="p99 per window")
    ax.plot(mids, [x["p50_ms"] for x in w], "s-", alpha=0.6, label="p50 per window")
    ax.axhline(2 * result["unloaded_p99_ms"], color="red", ls="--", label="2x unloaded p99")
    for b in result["phases"]:
        ax.axvspan(b["t0"], b["t1"], alpha=0.08 if b["phase"] != "during" else 0.18, color="gray")
        ax.text(b["t0"] + 1, ax.get_ylim()[1] * 0.02, f"{b['phase']}: {b['clients']} client(s)", fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_ylabel("latency ms")
    ax2 = ax.twinx()
    t, n = zip(*result["replicas"])
    ax2.step(t, n, where="post", color="green", label="replicas")
    ax2.set_ylabel("replicas (processes)")
    ax2.set_ylim(0, 4)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper right", fontsize=8)
    ax.set_title("fsplit-serve --engine ray, autoscaling 1..3 replicas, 4x step in closed-loop clients")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
