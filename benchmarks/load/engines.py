"""fsplit-serve (uvicorn) against Ray Serve (`fsplit-serve --engine ray`: 1 and 2 replicas, Ray's default proxy
and RAY_SERVE_ENABLE_HA_PROXY=1) and Triton behind its guarded front (`fsplit-serve --engine triton`: 1 and 2
model instances) in one run on one artifact, every server asked the same way (fsplit-serve's /v1/infer, the
project's load generator): startup, throughput, p50/p99, memory, and top-5 differences against fsplit-serve on
the held-out crops' streams. Results + machine in benchmarks/results/load/.

Run it inside a network namespace of its own (Ray's HA mode opens ports on all interfaces):

    unshare -n .venv/bin/python benchmarks/load/engines.py --artifact artifacts/default/onnx-none
    unshare -n .venv/bin/python benchmarks/load/engines.py --configs uvicorn,triton1,ray1 --stem engines3
"""

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

from fsplit_mobile.client import SplitClient
from fsplit_mobile.e2e.study import machine_description
from fsplit_mobile.e2e.workload import heldout_crops
from fsplit_mobile.serve.loadgen import run_load
from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of, netns_pids, process_tree

PORT = 8000
URL = f"http://127.0.0.1:{PORT}"
BIN = Path(sys.executable).parent
CONFIGS = {  # key: (name, extra fsplit-serve arguments, extra environment); --configs picks keys, in this order
    "uvicorn": ("fsplit-serve (uvicorn, 1 worker)", [], {}),
    "ray1": ("ray, 1 replica", ["--engine", "ray", "--replicas", "1"], {}),
    "ray2": ("ray, 2 replicas", ["--engine", "ray", "--replicas", "2"], {}),
    # Ray starts its workers at niceness 15 (RAY_worker_niceness) on top of the run's: at 0, its replica runs at the
    # niceness of the other engines' compute (a fair share of a contended host)
    "ray1-nice0": (
        "ray, 1 replica, worker niceness 0",
        ["--engine", "ray", "--replicas", "1"],
        {"RAY_worker_niceness": "0"},
    ),
    "ray1-ha": ("ray, 1 replica, HA proxy", ["--engine", "ray", "--replicas", "1"], {"RAY_SERVE_ENABLE_HA_PROXY": "1"}),
    "ray2-ha": (
        "ray, 2 replicas, HA proxy",
        ["--engine", "ray", "--replicas", "2"],
        {"RAY_SERVE_ENABLE_HA_PROXY": "1"},
    ),
    # Triton behind its guarded front (the CLI's default), /v1/infer like the others; its python stub runs with
    # OMP_NUM_THREADS=1 (triton/server.py), as Ray's workers do
    "triton1": ("triton, guarded front, 1 instance", ["--engine", "triton", "--triton-instances", "1"], {}),
    "triton2": ("triton, guarded front, 2 instances", ["--engine", "triton", "--triton-instances", "2"], {}),
    # Ray starts its workers with OMP_NUM_THREADS=1 (num_cpus): the same for fsplit-serve, side by side
    "uvicorn-omp1": ("fsplit-serve, OMP_NUM_THREADS=1", [], {"OMP_NUM_THREADS": "1"}),
    "uvicorn-again": ("fsplit-serve again (drift check)", [], {}),  # the shared machine's load changes during the run
}
DEFAULT_CONFIGS = "uvicorn,ray1,ray2,ray1-ha,ray2-ha,uvicorn-omp1,uvicorn-again"  # the first results' set


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


def answers(payloads, url=URL) -> list:
    with httpx.Client(timeout=30) as http:
        out = []
        for p in payloads:
            r = http.post(url + "/v1/infer", content=p, headers={"content-type": "application/octet-stream"})
            out.append(r.json()["top5"] if r.status_code == 200 else r.status_code)
        return out


def _ancestors() -> set[int]:
    """This process and its ancestors (whose command lines name the --pause pattern: never paused)."""
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])
    return out


@contextlib.contextmanager
def paused(pattern: str):
    """SIGSTOP the processes whose command line matches `pattern` (as pkill -f; not this process nor its
    ancestors) for the block, SIGCONT after, also on an error or Ctrl-C; no pattern: nothing paused."""
    if not pattern:
        yield
        return
    found = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True).stdout.split()
    pids = [int(x) for x in found if int(x) not in _ancestors()]

    def send(sig):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    send(signal.SIGSTOP)
    try:
        yield
    finally:
        send(signal.SIGCONT)


def start_server(name, extra, env_extra, args, port=PORT):
    """`fsplit-serve ... --port port` started and healthy: (process, log file, seconds to the first 200)."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **env_extra}
    cmd = [
        str(BIN / "fsplit-serve"),
        "--artifact",
        args.artifact,
        "--port",
        str(port),
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
    deadline = t0 + 300
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server, log, time.monotonic() - t0
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            stop_server(server, log)
            raise SystemExit(f"{name} did not start (see {log.name})")
        time.sleep(0.3)


def stop_server(server, log) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def run_config(name, extra, env_extra, args, payloads, reference):
    server, log, startup = start_server(name, extra, env_extra, args)
    try:
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
        stop_server(server, log)
        kill_netns(netns_of())
    return {
        "name": name,
        "args": extra,
        "env": env_extra,
        "startup_s": startup,
        "pss_mib": memory,
        "top5_differences": diffs,
        "runs": runs,
    }, got


def interleaved(keys, args, payloads) -> list[dict]:
    """Every configuration's server up at once (each on its own loopback port, started one after another), then
    `args.rounds` rounds; in each, every server gets a warm-up and its load rows, the servers' order rotating
    from round to round, so that a change of the shared host's load hits them alike. Each row is summarised over
    the rounds (median, min, max), the per-round rows kept. Memory: PSS of each server's processes (Ray: every
    process of the namespace that is not another server's: its local cluster). At most one Ray configuration."""
    if sum("ray" in CONFIGS[k][1] for k in keys) > 1:
        raise SystemExit("--rounds: at most one Ray configuration (one local cluster per namespace)")
    servers, rows, reference = [], [], None
    try:
        for i, key in enumerate(keys):
            name, extra, env_extra = CONFIGS[key]
            port = PORT + i
            server, log, startup = start_server(name, extra, env_extra, args, port)
            servers.append((server, log))
            url = f"http://127.0.0.1:{port}"
            got = answers(payloads, url)
            reference = reference if reference is not None else got
            diffs = sum(a != b for a, b in zip(got, reference))
            rows.append(
                {
                    "name": name,
                    "args": extra,
                    "env": env_extra,
                    "port": port,
                    "url": url,
                    "startup_s": startup,
                    "top5_differences": diffs,
                    "rounds": [],
                }
            )
            print(f"{name}: up on {url} after {startup:.1f} s, {diffs} top-5 differences", flush=True)
        trees = [process_tree(server.pid) for server, _ in servers]
        everything = set(netns_pids(netns_of()))
        for row, tree, key in zip(rows, trees, keys):
            others = set().union(*(t for t in trees if t is not tree))
            mine = (everything - others) if "ray" in CONFIGS[key][1] else tree
            row["pss_mib"] = pss_mib(mine)
        for r in range(args.rounds):
            order = list(range(len(rows)))
            order = order[r % len(order) :] + order[: r % len(order)]
            if r % 2:
                order.reverse()
            for i in order:
                row = rows[i]
                run_load(row["url"], payloads, 2, 2.0)  # warm-up (the server sat idle meanwhile)
                runs = [run_load(row["url"], payloads, n, args.seconds) for n in args.clients]
                row["rounds"].append(runs)
                print(
                    f"round {r + 1} {row['name']}: "
                    + "; ".join(
                        f"{x['clients']} clients {x['throughput_rps']:.1f} req/s p99 {x['latency_ms']['p99']:.1f} ms"
                        for x in runs
                    ),
                    flush=True,
                )
    finally:
        for server, log in servers:
            stop_server(server, log)
        kill_netns(netns_of())
    for row in rows:
        row["runs"] = [summarise([rnd[j] for rnd in row["rounds"]]) for j in range(len(args.clients))]
        for j, run in enumerate(row["runs"]):  # against the first configuration in the same round
            ratios = [a[j]["throughput_rps"] / b[j]["throughput_rps"] for a, b in zip(row["rounds"], rows[0]["rounds"])]
            run["x_first_per_round"] = ratios
            run["x_first_median"] = float(np.median(ratios))
    return rows


def summarise(runs: list[dict]) -> dict:
    """One row over rounds: the median of each figure (and its min/max), errors summed."""

    def stat(get):
        values = [get(r) for r in runs]
        return {"median": float(np.median(values)), "min": float(min(values)), "max": float(max(values))}

    return {
        "clients": runs[0]["clients"],
        "rounds": len(runs),
        "throughput_rps": stat(lambda r: r["throughput_rps"])["median"],
        "throughput_rps_range": stat(lambda r: r["throughput_rps"]),
        "latency_ms": {k: stat(lambda r, k=k: r["latency_ms"][k])["median"] for k in ("p50", "p99")},
        "latency_ms_range": {k: stat(lambda r, k=k: r["latency_ms"][k]) for k in ("p50", "p99")},
        "server_total_ms": {"p50": stat(lambda r: r["server_total_ms"]["p50"])["median"]},
        "error_count": sum(r["error_count"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
    }


def render(result: dict, seconds: float, machine_text: str) -> str:
    """The Markdown table of one run (the first configuration is the x 1.00 reference)."""
    results = result["results"]
    base = {r["clients"]: r["throughput_rps"] for r in results[0]["runs"]}
    triton = any("triton" in r["args"] for r in results)
    load = result.get("note") or "the machine was also loaded by other engineers' jobs"
    rounds = result.get("rounds") or 0
    if rounds:
        how = (
            f"One run, every server up at once (each on its own loopback port), then {rounds} rounds in which each "
            f"server in turn gets a 2 s warm-up and its rows, the order rotating from round to round (so a change "
            f"of the shared host's load hits every server alike); {seconds:g} s per row; each figure is the median "
            "over the rounds, [min-max] beside it (x fsplit-serve: the median of the per-round ratios); errors "
            "summed. Closed loop, "
        )
        drift = (
            "The spread over the rounds is the drift of the machine's load during the run; idle servers sat beside "
            "the one measured (Ray's idle cluster costs some CPU). "
        )
    else:
        how = f"One run, configurations one after another, {seconds:g} s per row, closed loop, "
        drift = (
            "The last configuration repeats the first: the difference between them is the drift of the machine's "
            "load during the run. "
        )
    lines = [
        f"# fsplit-serve vs {'Triton and ' if triton else ''}Ray Serve on loopback: {result['artifact']}",
        "",
        how + f"{result['payloads']} held-out crops' streams; --max-concurrency {result['max_concurrency']} (per "
        f"replica{'; Triton: the front admits that many at once' if triton else ''}), --intra-op-threads "
        f"{result['intra_op_threads']}, everything at nice {result.get('nice', 10)}. Client, server and "
        f"{'the engine' if triton else 'Ray'} share the host's 2 cores; {load} (load average at "
        f"the end: {' '.join(result['loadavg_at_end'])}). " + drift + "Server p50: the "
        "server's own parse + decode + tail time (`timings_ms.total`). Memory: PSS of every process of the "
        f"server (Ray: the whole local cluster{'; Triton: the front, tritonserver and its python stubs' if triton else ''}). "
        "Startup: process start to the first 200 on /healthz. "
        "Top-5 differences: against fsplit-serve on every stream.",
        "",
        "| configuration | clients | req/s | x fsplit-serve | p50 ms | p99 ms | server p50 ms | errors | "
        "startup s | PSS MiB | top-5 diffs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        if res.get("error"):
            lines.append(f"| {res['name']} | - | did not start in {res['attempts']} attempts: {res['error']} |")
        for r in res["runs"]:
            lat = r["latency_ms"]
            rps, p99 = f"{r['throughput_rps']:.1f}", f"{lat['p99']:.1f}"
            if "throughput_rps_range" in r:
                span, span99 = r["throughput_rps_range"], r["latency_ms_range"]["p99"]
                rps += f" [{span['min']:.0f}-{span['max']:.0f}]"
                p99 += f" [{span99['min']:.0f}-{span99['max']:.0f}]"
            ratio = r.get("x_first_median", r["throughput_rps"] / base[r["clients"]])
            lines.append(
                f"| {res['name']} | {r['clients']} | {rps} | "
                f"{ratio:.2f} | {lat['p50']:.1f} | {p99} | "
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
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"keys of CONFIGS, in order: {', '.join(CONFIGS)}")
    p.add_argument("--stem", default="engines", help="results file: <stem>-<artifact name>.{json,md}")
    p.add_argument("--nice", type=int, default=10, help="the niceness the run was started with (for the text)")
    p.add_argument(
        "--pause",
        default="",
        metavar="PATTERN",
        help="pause (SIGSTOP) the processes matching this pkill -f pattern during each configuration (start, "
        "answers, load rows, stop), resume (SIGCONT) after: e.g. a training job on a shared host; write the "
        "pattern so that it does not match its own text (fsplit_mobile[.]training), or another's pkill -f "
        "pauses this run",
    )
    p.add_argument("--resume-s", type=float, default=20, help="--pause: seconds the job runs between configurations")
    p.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="0: configurations one after another (start, rows, stop); N: all servers up at once, N rounds of "
        "rows in rotating order (see interleaved()); at most one Ray configuration",
    )
    p.add_argument("--retries", type=int, default=1, help="starts of a configuration that did not start, again")
    p.add_argument("--note", default="", help="how the host was loaded during the run (for the text)")
    p.add_argument("--render", metavar="JSON", help="only write the Markdown of an earlier run's JSON")
    args = p.parse_args()
    if args.render:
        result = json.loads(Path(args.render).read_text())
        Path(args.render).with_suffix(".md").write_text(
            render(result, result.get("seconds", args.seconds), result.get("machine_text", ""))
        )
        return
    args.clients = [int(c) for c in args.clients.split(",")]
    keys = args.configs.split(",")
    unknown = [k for k in keys if k not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown --configs {unknown}: {', '.join(CONFIGS)}")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout.splitlines()
    if [line.split(": ")[1] for line in links] != ["lo"]:  # netns_pids() must find the server's processes only
        raise SystemExit("run this in a network namespace of its own: unshare -n ...")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    art = Path(args.artifact)
    with SplitClient(art, "http://unused") as client:
        payloads = [client.encode(c)[0] for c in heldout_crops(crops_per_image=4)]
    results, reference = [], None
    for attempt in range(1 + args.retries if args.rounds else 0):
        try:  # the job stays paused for the whole run: servers' starts, answers and the rounds
            with paused(args.pause):
                results = interleaved(keys, args, payloads)
            break
        except SystemExit as exc:  # a server did not start (Ray's proxy actor on a loaded host): all again
            print(f"attempt {attempt + 1}: {exc}", flush=True)
            if attempt == args.retries:
                raise
            time.sleep(args.resume_s)
    for i, key in enumerate(keys if not args.rounds else []):
        name, extra, env_extra = CONFIGS[key]
        if i and args.pause:
            time.sleep(args.resume_s)  # the paused job runs between configurations
        for attempt in range(1 + args.retries):
            try:  # startup is measured too: the job stays paused from the server's start to its stop
                with paused(args.pause):
                    row, got = run_config(name, extra, env_extra, args, payloads, reference)
                break
            except SystemExit as exc:  # did not start (Ray's proxy actor on a loaded host)
                print(f"{name}: attempt {attempt + 1}: {exc}", flush=True)
                row, got = {"name": name, "args": extra, "env": env_extra, "error": str(exc), "runs": []}, None
        row["attempts"] = attempt + 1
        reference = reference if reference is not None else got
        results.append(row)
    machine, machine_text = machine_description()
    with open("/proc/loadavg") as f:
        loadavg = f.read().split()[:3]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{args.stem}-{art.name}"
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
                "nice": args.nice,
                "rounds": args.rounds,
                "paused_during_timing": args.pause,
                "note": args.note,
                "configs": keys,
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
