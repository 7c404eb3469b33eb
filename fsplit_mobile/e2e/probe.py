"""The client process of the end-to-end benchmark (run inside the client network namespace): sends payload
files to the server over one keep-alive connection per method and times each request.

    python -m fsplit_mobile.e2e.probe JOBS.json OUT.json

JOBS.json: {"base_url", "reps", "jobs": [{"method", "path", "content_type", "files": [...]}]}
OUT.json:  {"results": {method: [{"file", "request_ms", "server_ms", "status"}, ...]}}
The first request of each method (warm-up: TCP handshake, slow start from cold) is not recorded.
"""

import json
import sys
import time
from pathlib import Path


def wait_ready(base_url: str, seconds: float):
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(base_url + "/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server at {base_url} not ready after {seconds} s")
        time.sleep(0.25)


def link_check(base_url: str) -> dict:
    """TCP connect time and small keep-alive request times: both about one RTT on an idle link."""
    import socket
    from urllib.parse import urlsplit

    import httpx

    u = urlsplit(base_url)
    if u.port is None:
        raise ValueError(f"link_check needs a URL with an explicit port, got {base_url!r}")
    connects = []
    for _ in range(3):
        t0 = time.perf_counter()
        with socket.create_connection((u.hostname, u.port), timeout=30):
            connects.append((time.perf_counter() - t0) * 1e3)
    small = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        http.get("/healthz")
        for _ in range(5):
            t0 = time.perf_counter()
            http.get("/healthz")
            small.append((time.perf_counter() - t0) * 1e3)
    return {"tcp_connect_ms": sorted(connects)[1], "healthz_ms": sorted(small)[2]}


def run_jobs(spec: dict) -> dict:
    import httpx

    wait_ready(spec["base_url"], spec.get("wait_s", 120))
    results = {}
    for job in spec["jobs"]:
        payloads = [(f, Path(f).read_bytes()) for f in job["files"]]
        rows = []
        with httpx.Client(base_url=spec["base_url"], timeout=120) as http:
            headers = {"content-type": job["content_type"]}
            http.post(job["path"], content=payloads[0][1], headers=headers)  # warm-up
            for _ in range(spec["reps"]):
                for name, data in payloads:
                    t0 = time.perf_counter()
                    r = http.post(job["path"], content=data, headers=headers)
                    elapsed = (time.perf_counter() - t0) * 1e3
                    server = r.json().get("timings_ms", {}).get("total") if r.status_code == 200 else None
                    rows.append(
                        {
                            "file": name,
                            "bytes": len(data),
                            "request_ms": elapsed,
                            "server_ms": server,
                            "status": r.status_code,
                        }
                    )
        results[job["method"]] = rows
    return {"results": results, "link_check": link_check(spec["base_url"])}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(run_jobs(spec)))


if __name__ == "__main__":
    main()
