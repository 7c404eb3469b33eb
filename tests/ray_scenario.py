"""A two-node Ray cluster on loopback, run by test_serve_ray.py inside a network namespace of its own
(`unshare -n`: only `lo`, so none of Ray's ports is reachable from outside and 127.0.0.1 stays 127.0.0.1).

    python tests/ray_scenario.py WORKDIR REPORT.json

Head node (2 CPUs) + worker node (1 CPU, separate `ray start`), token auth on, then `fsplit-serve --engine ray
--replicas 2` (a real CLI process, the artifact shipped as working_dir) and a reference `fsplit-serve` app on
uvicorn in this process, both on the tiny artifact. It records what the test asserts: answers of both servers
to the same good streams and generated bad inputs, which nodes served, and a closed-loop load during which the
worker node's raylet is SIGKILLed. Every wait is bounded; at the end every process of this namespace is killed.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

# tests/ (the support modules) and tests/serve/ (test_serve_faults): this runs as a script, outside pytest
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent / "serve")]
from fsplit_mobile.client import SplitClient  # noqa: E402
from fsplit_mobile.serve.app import create_app  # noqa: E402
from fsplit_mobile.serve.limits import ServeLimits  # noqa: E402
from fsplit_mobile.serve.ray.netns_procs import kill_netns, netns_of  # noqa: E402
from serve_support import ThreadedServer, build_tiny_artifact, random_images  # noqa: E402
from test_serve_faults import generate_cases  # noqa: E402

HEAD_PORT, HTTP_PORT, WORKER_NM_PORT, PROXY_PORT = 6390, 8000, 7390, 8100
RAY_URL = f"http://127.0.0.1:{HTTP_PORT}"  # the CLI's guarded front (fsplit_mobile/serve/ray/front.py)
PROXY_URL = f"http://127.0.0.1:{PROXY_PORT}"  # Ray's own proxy behind it (kept by Serve across CLI runs)
LIMITS = dict(max_payload=4096, timeout_s=5.0, max_concurrency=2, max_queue=16)
BAD_EVERY = 5  # every 5th generated bad input (~560 of ~2,800, all kinds)
LOAD_S, KILL_AT_S, LOAD_CLIENTS = 16.0, 5.0, 3
SLOW_TRIPS, BURST = 200_000, 8  # ONNX Loop iterations per request of the slow artifact; requests fired at once
BIN = Path(sys.executable).parent


def wait_for(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready within {timeout_s} s")


def ray_cmd(*args, env, timeout_s=180):
    out = subprocess.run([str(BIN / "ray"), *args], env=env, capture_output=True, text=True, timeout=timeout_s)
    if out.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args)} failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")


def worker_raylet_pid() -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"raylet") and f"--node_manager_port={WORKER_NM_PORT}".encode() in cmd:
                return int(entry.name)
    raise RuntimeError("the worker node's raylet was not found")


def answer(r: httpx.Response) -> dict:
    body = r.json()
    body.pop("timings_ms", None)
    return {"status": r.status_code, "body": body, "retry_after": r.headers.get("retry-after")}


def post(http, url, payload, **headers):
    return http.post(
        url + "/v1/infer", content=payload, headers={"content-type": "application/octet-stream", **headers}
    )


def load_with_kill(good: list[bytes], env) -> dict:
    """LOAD_CLIENTS closed-loop clients for LOAD_S s; the worker's raylet SIGKILLed at KILL_AT_S."""
    events: list[tuple[float, int, str]] = []  # (time since start, status, node)
    lock = threading.Lock()
    start = time.monotonic()

    def client(i):
        with httpx.Client(timeout=10) as http:
            k = i
            while time.monotonic() - start < LOAD_S:
                try:
                    r = post(http, RAY_URL, good[k % len(good)])
                    status, node = r.status_code, r.headers.get("x-fsplit-node", "")
                except httpx.HTTPError:
                    status, node = 0, ""
                with lock:
                    events.append((time.monotonic() - start, status, node))
                k += LOAD_CLIENTS

    threads = [threading.Thread(target=client, args=(i,)) for i in range(LOAD_CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(KILL_AT_S)
    raylet = worker_raylet_pid()
    os.kill(raylet, signal.SIGKILL)
    killed_at = time.monotonic() - start
    for t in threads:
        t.join(LOAD_S + 30)
    return {"killed_at": killed_at, "events": sorted(events)}


def slow_artifact(folder: Path, trips: int = SLOW_TRIPS) -> Path:
    """The tiny artifact whose server part first burns time in an ONNX Loop (~0.2-1 s here): requests that
    stay in the gate long enough for the back-pressure phase to overlap them. Answers are unchanged."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from fsplit_mobile.runtime.artifact import sha256_path

    art = build_tiny_artifact(folder, seed=0)
    model = onnx.load(art / "server.onnx")
    body = helper.make_graph(
        [helper.make_node("Add", ["v", "one"], ["v_out"]), helper.make_node("Identity", ["cond"], ["cond_out"])],
        "burn",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1]),
        ],
        [numpy_helper.from_array(np.ones(1, np.float32), "one")],
    )
    g = model.graph
    g.initializer.extend(
        [
            numpy_helper.from_array(np.array(trips, np.int64), "trips"),
            numpy_helper.from_array(np.array(True), "true"),
            numpy_helper.from_array(np.zeros(1, np.float32), "v0"),
            numpy_helper.from_array(np.zeros(1, np.float32), "zero"),
        ]
    )
    out = g.output[0].name
    g.node[-1].output[0] = "raw_logits"
    g.node.extend(
        [
            helper.make_node("Loop", ["trips", "true", "v0"], ["burnt"], body=body),
            helper.make_node("Mul", ["burnt", "zero"], ["nothing"]),
            helper.make_node("Add", ["raw_logits", "nothing"], [out]),
        ]
    )
    onnx.save(model, art / "server.onnx")
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["sha256"]["server.onnx"] = sha256_path(art / "server.onnx")
    (art / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return art


def start_cli(art: Path, log: Path, env, *extra: str, until: str | None = None) -> subprocess.Popen:
    """`fsplit-serve --engine ray` on the running cluster, proxy on the head; waits until it answers (or,
    with `until`, until its log shows that text)."""
    cli = subprocess.Popen(
        [
            str(BIN / "fsplit-serve"),
            "--engine",
            "ray",
            "--artifact",
            str(art),
            "--ray-address",
            f"127.0.0.1:{HEAD_PORT}",
            "--cpus-per-replica",
            "1",
            "--ray-proxy",
            "HeadOnly",
            "--port",
            str(HTTP_PORT),
            "--ray-proxy-port",
            str(PROXY_PORT),
            "--intra-op-threads",
            "1",
            *extra,
        ],
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    if until is None:
        wait_for(lambda: httpx.get(RAY_URL + "/healthz", timeout=5).status_code == 200, 240, "Ray Serve app")
    else:
        wait_for(lambda: until in log.read_text() or cli.poll() is not None, 240, f"{until!r} in the CLI log")
    return cli


def stop_cli(cli: subprocess.Popen) -> int | None:
    cli.send_signal(signal.SIGTERM)
    try:
        return cli.wait(60)
    except subprocess.TimeoutExpired:
        return None


def burst(payload: bytes, n: int) -> list[dict]:
    """n requests released at once (a barrier), one connection each."""
    gate = threading.Barrier(n)
    out: list[dict] = []

    def one():
        with httpx.Client(timeout=60) as http:
            gate.wait(30)
            r = post(http, RAY_URL, payload)
        ctype = r.headers.get("content-type", "")
        out.append(
            {
                "status": r.status_code,
                "retry_after": r.headers.get("retry-after"),
                "error": r.json().get("error") if ctype.startswith("application/json") else None,
                "text": r.text[:200],
            }
        )

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def main(workdir: Path, report_path: Path):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    workdir.mkdir(parents=True, exist_ok=True)
    token = workdir / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_SERVE_PROXY_PREFER_LOCAL_NODE_ROUTING": "0",
    }
    os.environ.update(env)
    art = build_tiny_artifact(workdir / "served", seed=0)
    other = build_tiny_artifact(workdir / "other", seed=1)
    report: dict = {"timings_s": {}}
    t0 = time.monotonic()
    temp = workdir / "ray"  # this run's session files, apart from any other Ray on the host
    ray_cmd(
        "start",
        "--head",
        f"--port={HEAD_PORT}",
        "--num-cpus=2",
        "--include-dashboard=false",
        f"--temp-dir={temp}",
        "--disable-usage-stats",
        env=env,
    )
    ray_cmd(
        "start", f"--address=127.0.0.1:{HEAD_PORT}", "--num-cpus=1", f"--node-manager-port={WORKER_NM_PORT}", env=env
    )
    report["timings_s"]["cluster"] = time.monotonic() - t0
    slow = slow_artifact(workdir / "slow")
    log = workdir / "fsplit-serve-ray.log"
    cli = None
    try:
        cli = start_cli(
            art,
            log,
            env,
            "--replicas",
            "2",
            "--max-payload",
            str(LIMITS["max_payload"]),
            "--timeout",
            str(LIMITS["timeout_s"]),
            "--max-concurrency",
            str(LIMITS["max_concurrency"]),
            "--max-queue",
            str(LIMITS["max_queue"]),
        )
        report["timings_s"]["serving"] = time.monotonic() - t0
        with ThreadedServer(create_app(art, limits=ServeLimits(**LIMITS), intra_op_threads=1)) as ref:
            with SplitClient(art, ref.url) as mine, SplitClient(other, ref.url) as theirs:
                good = [mine.encode(img)[0] for img in random_images(24, seed=21)]
                foreign = [theirs.encode(img)[0] for img in random_images(8, seed=22)]
            with httpx.Client(timeout=10) as http:
                nodes = []
                report["good"] = []
                for p in good + good:  # twice: each stream seen by the router more than once
                    rr, r = post(http, RAY_URL, p), post(http, ref.url, p)
                    nodes.append(rr.headers.get("x-fsplit-node"))
                    report["good"].append([answer(rr), answer(r)])
                report["nodes"] = sorted(set(nodes))
                cases = generate_cases(good, foreign)[::BAD_EVERY]
                report["bad"] = [
                    [kind, answer(post(http, RAY_URL, p)), answer(post(http, ref.url, p))] for p, _want, kind in cases
                ]
                http_cases = {
                    "oversize": lambda u: post(http, u, b"\0" * (LIMITS["max_payload"] + 1)),
                    "content-type": lambda u: http.post(
                        u + "/v1/infer", content=good[0], headers={"content-type": "text/plain"}
                    ),
                    "wrong-method": lambda u: http.get(u + "/v1/infer"),
                    "unknown-path": lambda u: http.get(u + "/v2/nothing"),
                    "empty": lambda u: post(http, u, b""),
                }
                report["http"] = {k: [answer(f(RAY_URL)), answer(f(ref.url))] for k, f in http_cases.items()}
                report["model"] = [http.get(RAY_URL + "/v1/model").json(), http.get(ref.url + "/v1/model").json()]
        report["load"] = load_with_kill(good, env)
        report["cli_exit"], cli = stop_cli(cli), None
        # back-pressure: one replica, 1 running + 0 waiting in its gate (Ray hands it up to 2), 4 in Ray's
        # queue; 8 at once: the gate refuses with fsplit-serve's JSON 503, Ray's queue with its own 503
        log = workdir / "fsplit-serve-ray-slow.log"
        cli = start_cli(
            slow,
            log,
            env,
            "--replicas",
            "1",
            "--max-concurrency",
            "1",
            "--max-queue",
            "0",
            "--ray-max-queued",
            "4",
            "--timeout",
            "30",
        )
        report["burst"] = burst(good[0], BURST)
        with httpx.Client(timeout=60) as http:
            report["burst_after"] = answer(post(http, RAY_URL, good[0]))
        report["cli_exit_last"], cli = stop_cli(cli), None
        # SIGTERM while the CLI is still starting (connected, deploying): the start-up is abandoned, the app
        # deleted, exit 0 (not Ray's failure-signal handler's abort)
        log = workdir / "fsplit-serve-ray-starting.log"
        cli = start_cli(art, log, env, "--replicas", "1", until="deploying")
        report["cli_exit_starting"], cli = stop_cli(cli), None
        report["log_starting"] = log.read_text()[-3000:]
        gone = httpx.get(PROXY_URL + "/healthz", timeout=10)  # Ray's proxy, no route left: its own text 404
        report["after_starting"] = {"status": gone.status_code, "text": gone.text[:200]}
        report["timings_s"]["total"] = time.monotonic() - t0
    finally:
        if cli is not None:
            report["cli_exit_last"] = stop_cli(cli)
        report["log_tail"] = log.read_text()[-3000:] if log.exists() else ""
        report_path.write_text(json.dumps(report))
        kill_netns(netns_of())  # the head, the worker and everything they started


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
