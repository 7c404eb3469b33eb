"""Closed-loop load generator for `fsplit-serve`: N concurrent clients (one keep-alive connection each) POST
stream containers for T seconds; throughput, latency percentiles and errors by status.

    python -m fsplit_mobile.serve.loadgen --url http://127.0.0.1:8000 --clients 8 --seconds 20 P1.bin P2.bin ...
"""

import asyncio
import json
import time

import numpy as np


def percentiles(latencies_ms) -> dict:
    if not latencies_ms:
        return {}
    a = np.asarray(latencies_ms)
    return {f"p{p}": float(np.percentile(a, p)) for p in (50, 90, 99)} | {
        "max": float(a.max()),
        "mean": float(a.mean()),
    }


def _fsplit_server_ms(r) -> float:
    return r.json()["timings_ms"]["total"]


async def _client(url, bodies, offset, deadline, out, server_ms_of):
    import httpx

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1)) as http:
        i = offset
        while time.perf_counter() < deadline:
            data, headers = bodies[i % len(bodies)]
            i += 1
            t0 = time.perf_counter()
            try:
                r = await http.post(url, content=data, headers=headers)
                status: int | str = r.status_code
                server_ms = server_ms_of(r) if status == 200 else None
            except httpx.HTTPError as exc:
                status, server_ms = f"transport:{type(exc).__name__}", None
            out.append((t0, (time.perf_counter() - t0) * 1e3, status, server_ms))


async def _run(url, bodies, clients, seconds, server_ms_of):
    out: list[tuple[float, float, int | str, float | None]] = []  # (start, latency ms, status, server ms)
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*[_client(url, bodies, k * 7, deadline, out, server_ms_of) for k in range(clients)])
    return out, time.perf_counter() - start


def run_load(
    base_url: str,
    payloads: list[bytes],
    clients: int,
    seconds: float,
    path: str = "/v1/infer",
    content_type: str = "application/octet-stream",
    request=None,
    server_ms=None,
) -> dict:
    """Run the load; all requests count (no warm-up is dropped). Errors are any non-200 answer.
    Other protocols (benchmarks/load/triton_load.py: KServe v2): `request(payload) -> (body, headers)` builds each
    request, `server_ms(response) -> float` reads the server's own time from a 200 answer."""
    if clients < 1 or seconds <= 0 or not payloads:
        raise ValueError("need clients >= 1, seconds > 0 and at least one payload")
    request = request or (lambda p: (p, {"content-type": content_type}))
    bodies = [request(p) for p in payloads]
    url = base_url.rstrip("/") + path
    rows, wall = asyncio.run(_run(url, bodies, clients, seconds, server_ms or _fsplit_server_ms))
    ok = [r for r in rows if r[2] == 200]
    errors: dict[str, int] = {}
    for r in rows:
        if r[2] != 200:
            errors[str(r[2])] = errors.get(str(r[2]), 0) + 1
    return {
        "clients": clients,
        "seconds": seconds,
        "wall_s": wall,
        "requests": len(rows),
        "ok": len(ok),
        "errors": errors,
        "error_count": len(rows) - len(ok),
        "throughput_rps": len(ok) / wall,
        "latency_ms": percentiles([r[1] for r in ok]),
        "server_total_ms": percentiles([r[3] for r in ok]),
        "payload_bytes_mean": float(np.mean([len(p) for p in payloads])),
    }


def main(argv=None):
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("payloads", nargs="+")
    args = parser.parse_args(argv)
    payloads = [Path(p).read_bytes() for p in args.payloads]
    print(json.dumps(run_load(args.url, payloads, args.clients, args.seconds), indent=1))


if __name__ == "__main__":
    main()
