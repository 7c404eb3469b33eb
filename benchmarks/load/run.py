"""Load benchmark of fsplit-serve on loopback: N concurrent clients for T seconds (closed loop, one keep-alive
connection each), throughput, p50/p99 latency and errors; results + machine description in
benchmarks/results/load/.

    .venv/bin/python benchmarks/load/run.py --artifact artifacts/default/executorch-none --clients 1,4,16 --seconds 20
"""

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fsplit_mobile.client import SplitClient
from fsplit_mobile.e2e.study import machine_description
from fsplit_mobile.e2e.workload import heldout_crops
from fsplit_mobile.serve.loadgen import run_load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="artifacts/default/executorch-none")
    p.add_argument("--clients", default="1,4,16")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--max-concurrency", type=int, default=2)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--intra-op-threads", type=int, default=1, help="ONNX Runtime threads per request")
    p.add_argument("--out", default="benchmarks/results/load")
    args = p.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    art = Path(args.artifact)
    with SplitClient(art, "http://unused") as client:
        payloads = [client.encode(c)[0] for c in heldout_crops(crops_per_image=4)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(Path(sys.executable).parent / "fsplit-serve"),
        "--artifact",
        str(art),
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--max-concurrency",
        str(args.max_concurrency),
        "--max-queue",
        str(max(clients)),
        "--intra-op-threads",
        str(args.intra_op_threads),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(cmd)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("fsplit-serve did not start")
            time.sleep(0.3)
        run_load(url, payloads, 1, 2.0)  # warm-up
        runs = []
        for n in clients:
            r = run_load(url, payloads, n, args.seconds)
            print(
                f"{n:3d} clients: {r['throughput_rps']:.1f} req/s, p50 {r['latency_ms']['p50']:.1f} ms, "
                f"p99 {r['latency_ms']['p99']:.1f} ms, errors {r['error_count']}",
                flush=True,
            )
            runs.append(r)
        health = httpx.get(url + "/healthz").json()
    finally:
        server.terminate()
        server.wait(30)
    machine, machine_text = machine_description()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"load-{art.name}"
    result = {
        "schema": "fsplit-load/1",
        "artifact": str(art),
        "server": {
            "workers": args.workers,
            "max_concurrency": args.max_concurrency,
            "max_queue": max(clients),
            "intra_op_threads": args.intra_op_threads,
        },
        "runs": runs,
        "health_after": health,
        "machine": machine,
    }
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    lines = [
        f"# fsplit-serve load on loopback: {art}",
        "",
        f"{args.workers} worker(s), --max-concurrency {args.max_concurrency}, --intra-op-threads "
        f"{args.intra_op_threads}, {args.seconds:g} s per row, "
        f"closed loop, {len(payloads)} distinct payloads of {runs[0]['payload_bytes_mean']:.0f} B on average. "
        "Client and server share the host's cores.",
        "",
        "| clients | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | server p50 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lat, s = r["latency_ms"], r["server_total_ms"]
        lines.append(
            f"| {r['clients']} | {r['requests']} | {r['throughput_rps']:.1f} | {lat['p50']:.1f} | "
            f"{lat['p90']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} | {s['p50']:.1f} | {r['error_count']} |"
        )
    lines += ["", "```", machine_text, "```", ""]
    (out / f"{stem}.md").write_text("\n".join(lines))
    print(f"wrote {out / stem}.json and .md")
    if any(r["error_count"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
