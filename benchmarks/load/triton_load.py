"""fsplit-serve, Triton (`fsplit-serve --engine triton`) and optionally Ray Serve (`--engine ray`) side by side on
one artifact: each started through the same `fsplit-serve` command on loopback, one after another; the same
held-out crops' streams (answers compared with fsplit-serve's: top-5 and everything else but timings), then the
same closed-loop load (benchmarks' loadgen; Triton gets KServe v2 requests). Results + machine description in
benchmarks/results/load/triton-<artifact>.{json,md}. About 1 minute without Ray, 2 with it (2-core host).

    .venv/bin/python benchmarks/load/triton_load.py --artifact artifacts/default/onnx-none
    unshare -n .venv/bin/python benchmarks/load/triton_load.py --artifact ... --ray   # Ray needs a namespace of its own
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
from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of, netns_pids, process_tree
from fsplit_mobile.serve.triton import kserve

PORT = 8000
URL = f"http://127.0.0.1:{PORT}"
BIN = Path(sys.executable).parent


def configs(args) -> list[tuple[str, list[str], str]]:
    """(name, fsplit-serve arguments, protocol): the same compute per request everywhere (--intra-op-threads)."""
    rows = [
        ("fsplit-serve (uvicorn, 1 worker)", ["--max-concurrency", str(args.concurrency)], "fsplit"),
        (
            f"triton, {args.concurrency} instances, dynamic batching",
            ["--engine", "triton", "--triton-instances", str(args.concurrency)],
            "triton",
        ),
    ]
    if args.triton_fronts:  # the CLI's default is the guarded front: also /v1/infer through it, and no front
        triton = ["--engine", "triton", "--triton-instances", str(args.concurrency)]
        rows[1] = (f"triton, {args.concurrency} instances, front, KServe /v2", triton, "triton")
        rows.append((f"triton, {args.concurrency} instances, front, /v1/infer", triton, "fsplit"))
        rows.append(
            (f"triton, {args.concurrency} instances, no front (KServe)", [*triton, "--triton-front", "none"], "triton")
        )
    if args.ray:
        rows.append(
            (
                "ray, 1 replica",
                ["--engine", "ray", "--replicas", "1", "--max-concurrency", str(args.concurrency)],
                "fsplit",
            )
        )
    return rows


def own_netns() -> bool:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
    return [line.split(": ")[1] for line in links] == ["lo"]


def pss_mib(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def protocol(kind: str):
    """(path, request builder, answer reader, server-ms reader) of one protocol."""
    if kind == "triton":
        return (
            kserve.infer_path(),
            kserve.request_body,
            lambda r: kserve.answer(r.content, r.headers),
            lambda r: kserve.answer(r.content, r.headers)["timings_ms"]["total"],
        )
    octet = {"content-type": "application/octet-stream"}
    return "/v1/infer", lambda p: (p, octet), lambda r: r.json(), lambda r: r.json()["timings_ms"]["total"]


def without_timings(answer) -> dict | int:
    return {k: v for k, v in answer.items() if k != "timings_ms"} if isinstance(answer, dict) else answer


def run_config(name, extra, kind, args, payloads, reference):
    path, request, read, server_ms = protocol(kind)
    cmd = [str(BIN / "fsplit-serve"), "--artifact", args.artifact, "--port", str(PORT), "--max-queue", "64"]
    cmd += ["--intra-op-threads", str(args.intra_op_threads), "--log-level", "warning", *extra]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    log = open(Path(args.work) / (kind + "-" + "".join(c if c.isalnum() else "_" for c in name) + ".log"), "w")
    ready = URL + ("/v2/models/fsplit/ready" if kind == "triton" else "/healthz")
    t0 = time.monotonic()
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            try:
                if httpx.get(ready, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > 300 or server.poll() is not None:
                raise SystemExit(f"{name} did not start (see {log.name})")
            time.sleep(0.3)
        startup = time.monotonic() - t0
        got = []
        with httpx.Client(timeout=60) as http:
            for p in payloads:
                body, headers = request(p)
                r = http.post(URL + path, content=body, headers=headers)
                got.append(without_timings(read(r)) if r.status_code == 200 else r.status_code)
        ref = reference if reference is not None else got
        top5_diffs = sum(not isinstance(a, dict) or a["top5"] != b["top5"] for a, b in zip(got, ref, strict=True))
        answer_diffs = sum(a != b for a, b in zip(got, ref, strict=True))
        run_load(URL, payloads, 2, 2.0, path=path, request=request, server_ms=server_ms)  # warm-up
        runs = []
        for n in args.clients:
            r = run_load(URL, payloads, n, args.seconds, path=path, request=request, server_ms=server_ms)
            runs.append(r)
            print(
                f"{name}: {n} clients {r['throughput_rps']:.1f} req/s p50 {r['latency_ms']['p50']:.1f} ms "
                f"p99 {r['latency_ms']['p99']:.1f} ms errors {r['error_count']}",
                flush=True,
            )
        memory = pss_mib(netns_pids(netns_of()) if own_netns() else process_tree(server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(90)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        if own_netns():
            kill_netns(netns_of())  # whatever Ray left in our namespace
        log.close()
    return {
        "name": name,
        "args": extra,
        "startup_s": startup,
        "pss_mib": memory,
        "top5_differences": top5_diffs,
        "answer_differences": answer_diffs,
        "runs": runs,
    }, got


def render(result: dict) -> str:
    results = result["results"]
    base = {r["clients"]: r["throughput_rps"] for r in results[0]["runs"]}
    lines = [
        f"# fsplit-serve, Triton and Ray on loopback: {result['artifact']}",
        "",
        f"One run, servers one after another, each started with `fsplit-serve --engine ...`; {result['seconds']:g} s "
        f"per row, closed loop, {result['payloads']} held-out crops' streams (the top-5 of each compared with "
        f"fsplit-serve's first: `top-5 diffs`; `answer diffs` compares everything but the timings). "
        f"{result['concurrency']} requests computed at once per server (fsplit-serve and Ray `--max-concurrency`, "
        f"Triton model instances), `--intra-op-threads {result['intra_op_threads']}`. Client and servers share the "
        "host's cores, which other jobs may share: absolute numbers are this moment's "
        f"(load average at the end {' '.join(result['loadavg_at_end'])}), the ratios are side by side. Server p50: "
        "the server's own parse + decode + tail time (`timings_ms.total` of the answer). PSS: the server's "
        "processes (Triton: tritonserver + its python stubs; Ray: the whole local cluster). Startup: command "
        "start to ready.",
        "",
        "| server | clients | req/s | x fsplit-serve | p50 ms | p99 ms | server p50 ms | errors | startup s | PSS MiB "
        "| top-5 diffs | answer diffs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for r in res["runs"]:
            lat = r["latency_ms"]
            lines.append(
                f"| {res['name']} | {r['clients']} | {r['throughput_rps']:.1f} | "
                f"{r['throughput_rps'] / base[r['clients']]:.2f} | {lat['p50']:.1f} | {lat['p99']:.1f} | "
                f"{r['server_total_ms']['p50']:.1f} | {r['error_count']} | {res['startup_s']:.1f} | "
                f"{res['pss_mib']:.0f} | {res['top5_differences']} | {res['answer_differences']} |"
            )
    if result.get("note"):
        lines += ["", result["note"]]
    lines += ["", "```", result["machine_text"], "```", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="artifacts/default/onnx-none")
    p.add_argument("--clients", default="1,8")
    p.add_argument("--seconds", type=float, default=6)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--intra-op-threads", type=int, default=1)
    p.add_argument("--ray", action="store_true", help="also Ray Serve (run under `unshare -n`)")
    p.add_argument(
        "--triton-fronts",
        action="store_true",
        help="Triton three ways: through its guarded front (KServe, /v1/infer) and with --triton-front none",
    )
    p.add_argument("--work", default="/tmp/fsplit-triton-load")
    p.add_argument("--out", default="benchmarks/results/load")
    p.add_argument("--render", metavar="JSON", help="only write the Markdown of an earlier run's JSON")
    args = p.parse_args()
    if args.render:
        Path(args.render).with_suffix(".md").write_text(render(json.loads(Path(args.render).read_text())))
        return
    args.clients = [int(c) for c in args.clients.split(",")]
    if args.ray:
        if not own_netns():  # Ray rewrites 127.0.0.1 and opens ports: keep it in a namespace of its own
            raise SystemExit("--ray: run this in a network namespace of its own: unshare -n ...")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    machine, machine_text = machine_description()  # load average before the run
    art = Path(args.artifact)
    with SplitClient(art, "http://unused") as client:
        payloads = [client.encode(c)[0] for c in heldout_crops(crops_per_image=2)]
    results, reference = [], None
    for name, extra, kind in configs(args):
        row, got = run_config(name, extra, kind, args, payloads, reference)
        reference = reference if reference is not None else got
        results.append(row)
    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[:3]
    result = {
        "schema": "fsplit-load-triton/1",
        "artifact": str(art),
        "payloads": len(payloads),
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "intra_op_threads": args.intra_op_threads,
        "loadavg_at_end": loadavg,
        "results": results,
        "machine": machine,
        "machine_text": machine_text,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"triton-{art.name}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    stem.with_suffix(".md").write_text(render(result))
    print(f"wrote {stem}.json and .md")


if __name__ == "__main__":
    main()
