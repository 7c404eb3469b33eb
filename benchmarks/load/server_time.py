"""Where does the server time go? The same call (`ServerEngine.infer`), the same timer (`timings_ms.total`,
perf_counter around parse + decode + tail + top-5) in three places, one after another in one run: a plain loop
in this process, `fsplit-serve` (uvicorn) and `fsplit-serve --engine ray` (1 replica). For each, besides the
wall-clock `total`, the kernel's own account of every thread of the serving process (/proc/PID/task/*/schedstat:
nanoseconds on a CPU, nanoseconds runnable but waiting for one) and each thread's nice value: wall time = CPU
time + time waiting for a CPU (+ blocking, none here), so a difference in `total` that is not a difference in
CPU time is the scheduler's.

Run it in a network namespace of its own (Ray is started inside it):

    unshare -n nice -n 10 .venv/bin/python benchmarks/load/server_time.py --artifact artifacts/default/onnx-none
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from fsplit_mobile.client import SplitClient
from fsplit_mobile.e2e.study import machine_description
from fsplit_mobile.e2e.workload import heldout_crops
from fsplit_mobile.serve.engine import ServerEngine
from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of, netns_pids

PORT = 8000
URL = f"http://127.0.0.1:{PORT}"
BIN = Path(sys.executable).parent


def thread_stats(pid: int) -> dict[int, tuple[int, int, int]]:
    """tid -> (ns on a CPU, ns runnable waiting for a CPU, nice) for every thread of `pid`."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run_ns, wait_ns, _ = (int(x) for x in (task / "schedstat").read_text().split())
            nice = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, ValueError):
            continue
        out[int(task.name)] = (run_ns, wait_ns, nice)
    return out


def delta(before: dict, after: dict) -> dict:
    """Sum over the process's threads of CPU and run-queue time between two snapshots, and the busiest
    thread (the one running the engine) with its nice value."""
    rows = []
    for tid, (run, wait, nice) in after.items():
        r0, w0, _ = before.get(tid, (0, 0, nice))
        rows.append((run - r0, wait - w0, nice, tid))
    rows.sort(reverse=True)
    busiest = rows[0] if rows else (0, 0, 0, 0)
    return {
        "cpu_ms": sum(r[0] for r in rows) / 1e6,
        "runqueue_ms": sum(r[1] for r in rows) / 1e6,
        "busiest_thread": {"cpu_ms": busiest[0] / 1e6, "runqueue_ms": busiest[1] / 1e6, "nice": busiest[2]},
        "nice_values": sorted({r[2] for r in rows}),
    }


def summarise(name: str, totals, walls, stats: dict, n: int, cpus) -> dict:
    per = {k: v / n for k, v in stats.items() if k in ("cpu_ms", "runqueue_ms")}
    busiest = {k: (v / n if k != "nice" else v) for k, v in stats["busiest_thread"].items()}
    row = {
        "name": name,
        "requests": n,
        "server_total_ms_p50": float(np.median(totals)),
        "server_total_ms_mean": float(np.mean(totals)),
        "server_cpu_ms_p50": float(np.median(cpus)),
        "client_ms_p50": float(np.median(walls)) if walls else None,
        "process_cpu_ms_per_request": per["cpu_ms"],
        "process_runqueue_ms_per_request": per["runqueue_ms"],
        "engine_thread_per_request": busiest,
        "nice_values": stats["nice_values"],
    }
    print(json.dumps(row), flush=True)
    return row


def plain_loop(artifact, payloads, n: int, intra_op_threads: int) -> dict:
    """ServerEngine.infer on a worker thread of this process, as app.py calls it."""
    engine = ServerEngine(artifact, intra_op_threads=intra_op_threads)
    with ThreadPoolExecutor(1) as pool:
        for p in payloads[:4]:
            pool.submit(engine.infer, p).result()  # warm-up
        before = thread_stats(os.getpid())
        timings = [pool.submit(engine.infer, payloads[i % len(payloads)]).result().timings_ms for i in range(n)]
        after = thread_stats(os.getpid())
    totals, cpus = [t["total"] for t in timings], [t["cpu"] for t in timings]
    return summarise("plain loop (this process)", totals, [], delta(before, after), n, cpus)


def serving_pids(kind: str, server: subprocess.Popen) -> list[int]:
    if kind == "uvicorn":
        return [server.pid]
    out = []
    for pid in netns_pids(netns_of()):
        try:
            if b"ServeReplica" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            pass
    return out


def served(kind: str, extra: list[str], args, payloads, n: int) -> dict:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [str(BIN / "fsplit-serve"), "--artifact", args.artifact, "--port", str(PORT), "--max-concurrency", "1"]
    cmd += ["--intra-op-threads", str(args.intra_op_threads), "--log-level", "warning", *extra]
    log = open(Path(args.work) / f"server_time_{kind}.log", "w")
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
                raise SystemExit(f"{kind} did not start (see {log.name})")
            time.sleep(0.5)
        pids = serving_pids(kind, server)
        if len(pids) != 1:
            raise SystemExit(f"expected one serving process for {kind}, found {pids}")
        headers = {"content-type": "application/octet-stream"}
        with httpx.Client(timeout=60) as http:
            for p in payloads[:4]:
                http.post(URL + "/v1/infer", content=p, headers=headers).raise_for_status()
            before = thread_stats(pids[0])
            totals, walls, cpus = [], [], []
            for i in range(n):
                t0 = time.perf_counter()
                r = http.post(URL + "/v1/infer", content=payloads[i % len(payloads)], headers=headers)
                walls.append((time.perf_counter() - t0) * 1e3)
                r.raise_for_status()
                totals.append(r.json()["timings_ms"]["total"])
                cpus.append(r.json()["timings_ms"]["cpu"])
            after = thread_stats(pids[0])
        name = "fsplit-serve (uvicorn)" if kind == "uvicorn" else "fsplit-serve --engine ray, 1 replica"
        return summarise(name, totals, walls, delta(before, after), n, cpus)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:
            pass
        kill_netns(netns_of())
        log.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="artifacts/default/onnx-none")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--intra-op-threads", type=int, default=1)
    p.add_argument("--work", default="/tmp/fsplit-server-time")
    p.add_argument("--out", default="benchmarks/results/load/server_time.json")
    p.add_argument("--only", default="loop,uvicorn,ray")
    args = p.parse_args()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout.splitlines()
    if [line.split(": ")[1] for line in links] != ["lo"]:
        raise SystemExit("run this in a network namespace of its own: unshare -n ...")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    with SplitClient(Path(args.artifact), "http://unused") as client:
        payloads = [client.encode(c)[0] for c in heldout_crops(crops_per_image=1)[:16]]
    only = args.only.split(",")
    rows = []
    if "loop" in only:
        rows.append(plain_loop(args.artifact, payloads, args.requests, args.intra_op_threads))
    if "uvicorn" in only:
        rows.append(served("uvicorn", [], args, payloads, args.requests))
    if "ray" in only:
        rows.append(served("ray", ["--engine", "ray", "--replicas", "1"], args, payloads, args.requests))
    if "loop" in only:
        rows.append(plain_loop(args.artifact, payloads, args.requests, args.intra_op_threads))  # drift check
    machine, machine_text = machine_description()
    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[:3]
    Path(args.out).write_text(
        json.dumps(
            {
                "schema": "fsplit-server-time/1",
                "artifact": args.artifact,
                "intra_op_threads": args.intra_op_threads,
                "own_nice": os.getpriority(os.PRIO_PROCESS, 0),
                "loadavg_at_end": loadavg,
                "rows": rows,
                "machine": machine,
            },
            indent=1,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
