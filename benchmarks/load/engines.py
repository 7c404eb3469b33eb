"""fsplit-serve (uvicorn) against Ray Serve (`fsplit-serve --engine ray`: 1 and 2 replicas, Ray's default proxy
and RAY_SERVE_ENABLE_HA_PROXY=1) in one run on one artifact: startup, throughput, p50/p99, memory, and top-5
differences against fsplit-serve on the held-out crops' streams. Results + machine in benchmarks/results/load/.

Run it inside a network namespace of its own (Ray's HA mode opens ports on all interfaces):

    unshare -n .venv/bin/python benchmarks/load/engines.py --artifact artifacts/default/onnx-none
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fsplit_mobile.client import SplitClient
from fsplit_mobile.e2e.study import machine_description
from fsplit_mobile.e2e.workload import heldout_crops
from fsplit_mobile.serve.loadgen import run_load
from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of, netns_pids

PORT = 8000
URL = f"http://127.0.0.1:{PORT}"
BIN = Path(sys.executable).parent
CONFIGS = [  # name, extra fsplit-serve arguments, extra environment
    ("fsplit-serve (uvicorn, 1 worker)", [], {}),
    ("ray, 1 replica", ["--engine", "ray", "--replicas", "1"], {}),
    ("ray, 2 replicas", ["--engine", "ray", "--replicas", "2"], {}),
    ("ray, 1 replica, HA proxy", ["--engine", "ray", "--replicas", "1"], {"RAY_SERVE_ENABLE_HA_PROXY": "1"}),
    ("ray, 2 replicas, HA proxy", ["--engine", "ray", "--replicas", "2"], {"RAY_SERVE_ENABLE_HA_PROXY": "1"}),
    # Ray starts its workers with OMP_NUM_THREADS=1 (num_cpus): the same for fsplit-serve, side by side
    ("fsplit-serve, OMP_NUM_THREADS=1", [], {"OMP_NUM_THREADS": "1"}),
    ("fsplit-serve again (drift check)", [], {}),  # the shared machine's load changes during the run
]


def pss_mib(pids) -> float:
    """Proportional set size of these processes (shared pages split between them: sums are not inflated)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def answers(payloads) -> list:
    with httpx.Client(timeout=30) as http:
        out = []
        for p in payloads:
            r = http.post(URL + "/v1/infer", content=p, headers={"content-type": "application/octet-stream"})
            out.append(r.json()["top5"] if r.status_code == 200 else r.status_code)
        return out


def run_config(name, extra, env_extra, args, payloads, reference):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **env_extra}
    cmd = [
        str(BIN / "fsplit-serve"),
        "--artifact",
        args.artifact,
        "--port",
        str(PORT),
        "--max-concurrency",
        str(args.max_concurrency),
        "--max-queue",
        str(max(args.clients)),
        "--intra-op-threads",
        str(args.intra_op_threads),
        "--log-level",
        "warning",
        *extra,
    ]
    log = open(Path(args.work) / (name.replace(" ", "_").replace(",", "") + ".log"), "w")
    t0 = time.monotonic()
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = t0 + 300
        while True:
            try:
                if httpx.get(URL + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"{name} did not start (see {log.name})")
            time.sleep(0.3)
        startup = time.monotonic() - t0
        got = answers(payloads)
        diffs = sum(a != b for a, b in zip(got, reference)) if reference is not None else 0
        run_load(URL, payloads, 2, 3.0)  # warm-up
        runs = []
        for n in args.clients:
            r = run_load(URL, payloads, n, args.seconds)
            runs.append(r)
            print(
                f"{name}: {n} clients {r['throughput_rps']:.1f} req/s p50 {r['latency_ms']['p50']:.1f} ms "
                f"p99 {r['latency_ms']['p99']:.1f} ms errors {r['error_count']}",
                flush=True,
            )
        memory = pss_mib(netns_pids(netns_of()))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            pass
        kill_netns(netns_of())
        log.close()
    return {
        "name": name,
        "args": extra,
        "env": env_extra,
        "startup_s": startup,
        "pss_mib": memory,
        "top5_differences": diffs,
        "runs": runs,
    }, got


def render(result: dict, seconds: float, machine_text: str) -> str:
    """The Markdown table of one run (the first configuration is the x 1.00 reference)."""
    results = result["results"]
    base = {r["clients"]: r["throughput_rps"] for r in results[0]["runs"]}
    lines = [
        f"# fsplit-serve vs Ray Serve on loopback: {result['artifact']}",
        "",
        f"One run, configurations one after another, {seconds:g} s per row, closed loop, "
        f"{result['payloads']} held-out crops' streams; --max-concurrency {result['max_concurrency']} (per "
        f"replica), --intra-op-threads {result['intra_op_threads']}, everything at nice 10. Client, server and "
        "Ray share the host's 2 cores; the machine was also loaded by other engineers' jobs (load average at "
        f"the end: {' '.join(result['loadavg_at_end'])}). The last configuration repeats the first: the "
        "difference between them is the drift of the machine's load during the run. Server p50: the "
        "server's own parse + decode + tail time (`timings_ms.total`). Memory: PSS of every process of the "
        "server (Ray: the whole local cluster). Startup: process start to the first 200 on /healthz. "
        "Top-5 differences: against fsplit-serve on every stream.",
        "",
        "| configuration | clients | req/s | x fsplit-serve | p50 ms | p99 ms | server p50 ms | errors | "
        "startup s | PSS MiB | top-5 diffs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for r in res["runs"]:
            lat = r["latency_ms"]
            lines.append(
                f"| {res['name']} | {r['clients']} | {r['throughput_rps']:.1f} | "
                f"{r['throughput_rps'] / base[r['clients']]:.2f} | {lat['p50']:.1f} | {lat['p99']:.1f} | "
                f"{r['server_total_ms']['p50']:.1f} | {r['error_count']} | {res['startup_s']:.1f} | "
                f"{res['pss_mib']:.0f} | {res['top5_differences']} |"
            )
    lines += ["", "```", machine_text, "```", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="artifacts/default/onnx-none")
    p.add_argument("--clients", default="1,8")
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--max-concurrency", type=int, default=2)
    p.add_argument("--intra-op-threads", type=int, default=1)
    p.add_argument("--work", default="/tmp/fsplit-engines")
    p.add_argument("--out", default="benchmarks/results/load")
    p.add_argument("--render", metavar="JSON", help="only write the Markdown of an earlier run's JSON")
    args = p.parse_args()
    if args.render:
        result = json.loads(Path(args.render).read_text())
        Path(args.render).with_suffix(".md").write_text(
            render(result, result.get("seconds", args.seconds), result.get("machine_text", ""))
        )
        return
    args.clients = [int(c) for c in args.clients.split(",")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout.splitlines()
    if [line.split(": ")[1] for line in links] != ["lo"]:  # netns_pids() must find the server's processes only
        raise SystemExit("run this in a network namespace of its own: unshare -n ...")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    art = Path(args.artifact)
    with SplitClient(art, "http://unused") as client:
        payloads = [client.encode(c)[0] for c in heldout_crops(crops_per_image=4)]
    results, reference = [], None
    for name, extra, env_extra in CONFIGS:
        row, got = run_config(name, extra, env_extra, args, payloads, reference)
        reference = reference if reference is not None else got
        results.append(row)
    machine, machine_text = machine_description()
    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[:3]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"engines-{art.name}"
    (out / f"{stem}.json").write_text(
        json.dumps(
            {
                "schema": "fsplit-load-engines/1",
                "artifact": str(art),
                "payloads": len(payloads),
                "seconds": args.seconds,
                "max_concurrency": args.max_concurrency,
                "intra_op_threads": args.intra_op_threads,
                "loadavg_at_end": loadavg,
                "results": results,
                "machine": machine,
                "machine_text": machine_text,
            },
            indent=1,
        )
    )
    result = json.loads((out / f"{stem}.json").read_text())
    (out / f"{stem}.md").write_text(render(result, args.seconds, machine_text))
    print(f"wrote {out / stem}.json and .md")


if __name__ == "__main__":
    main()
