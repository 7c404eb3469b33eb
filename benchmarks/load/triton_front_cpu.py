"""CPU per request of the guarded Triton front (the fsplit-serve CLI process) beside Triton's own processes
(tritonserver + python stubs), from /proc utime+stime over 300 sequential requests per API: a measure that
waiting for a CPU on a loaded host does not change. Prints JSON (benchmarks/results/load/triton-front/).

    nice -n 19 .venv/bin/python benchmarks/load/triton_front_cpu.py [--artifact DIR]
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fsplit_mobile.client import SplitClient
from fsplit_mobile.e2e.workload import heldout_crops
from fsplit_mobile.serve.triton import kserve

TCK = os.sysconf("SC_CLK_TCK")
OCTET = {"content-type": "application/octet-stream"}


def stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # state ppid ... utime(11) stime(12)


def cpu_s(pid: int) -> float:
    f = stat(pid)
    return (int(f[11]) + int(f[12])) / TCK


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(stat(int(entry.name))[1]) == pid:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifact", default="artifacts/default/onnx-none")
    p.add_argument("--rounds", type=int, default=3, help="passes over 100 held-out crops' streams per API")
    args = p.parse_args()
    with SplitClient(args.artifact, "http://unused") as client:
        streams = [client.encode(c)[0] for c in heldout_crops(crops_per_image=2)][:100]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(Path(sys.executable).parent / "fsplit-serve"), "--engine", "triton", "--artifact", args.artifact]
    cmd += ["--port", str(port), "--intra-op-threads", "1", "--log-level", "warning"]
    server = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        triton = [k for t in children(server.pid) for k in [t, *children(t)]]  # tritonserver and its stubs
        out: dict = {"artifact": args.artifact}
        with httpx.Client(timeout=60) as http:
            for name in ("kserve-front", "v1-front"):
                for stream in streams[:10]:  # warm-up
                    http.post(url + "/v1/infer", content=stream, headers=OCTET)
                f0, t0, w0 = cpu_s(server.pid), sum(cpu_s(k) for k in triton), time.perf_counter()
                n = 0
                for _ in range(args.rounds):
                    for stream in streams:
                        if name == "kserve-front":
                            body, headers = kserve.request_body(stream)
                            r = http.post(url + kserve.infer_path(), content=body, headers=headers)
                        else:
                            r = http.post(url + "/v1/infer", content=stream, headers=OCTET)
                        assert r.status_code == 200, r.text
                        n += 1
                f1, t1, w1 = cpu_s(server.pid), sum(cpu_s(k) for k in triton), time.perf_counter()
                out[name] = {
                    "requests": n,
                    "front_cpu_ms_per_req": (f1 - f0) / n * 1e3,
                    "triton_cpu_ms_per_req": (t1 - t0) / n * 1e3,
                    "wall_ms_per_req": (w1 - w0) / n * 1e3,
                }
        out["loadavg"] = os.getloadavg()
        print(json.dumps(out, indent=1))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


if __name__ == "__main__":
    main()
