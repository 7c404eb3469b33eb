"""Test support for the serve tests: a tiny but complete artifact folder (docs/artifact.md) built by hand,
and a real uvicorn server on a free loopback port in a background thread.

The tiny artifact: encoder.onnx (image 1x3x32x32 -> Conv 8x8/8 -> round(y - median) -> int32 symbols
1x8x4x4), tables.fsct (Laplace-shaped CDFs per channel, built with the package's own table code),
server.onnx (symbols -> + median -> linear -> 10 logits), labels.txt, manifest.json with sha256s.
"""

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np

CHANNELS, SIZE, STRIDE, CLASSES = 8, 32, 8, 10
LATENT = (CHANNELS, SIZE // STRIDE, SIZE // STRIDE)


def laplace_tables(channels: int, seed: int, spread: int = 6):
    """CompressAI-layout tables: per channel a discretised Laplace pmf over [-spread, spread] + tail mass."""
    from fsplit_mobile.codec.tables import CodecTables
    from fsplit_mobile.entropy.cdf import pmf_to_quantized_cdf

    rng = np.random.default_rng(seed)
    support = np.arange(-spread, spread + 1)
    width = support.size + 2
    cdf = np.zeros((channels, width), dtype=np.int32)
    for c in range(channels):
        scale = rng.uniform(0.5, 3.0)
        pmf = np.exp(-np.abs(support) / scale)
        pmf = 0.98 * pmf / pmf.sum()
        cdf[c] = pmf_to_quantized_cdf(np.append(pmf, 0.02), 16)
    lengths = np.full(channels, width, dtype=np.int32)
    offsets = np.full(channels, -spread, dtype=np.int32)
    return CodecTables.from_arrays(cdf, lengths, offsets, 16)


def _encoder_onnx(weight, medians):
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Conv", ["image", "w"], ["y"], strides=[STRIDE, STRIDE], kernel_shape=[STRIDE, STRIDE]),
        helper.make_node("Sub", ["y", "med"], ["centered"]),
        helper.make_node("Round", ["centered"], ["rounded"]),
        helper.make_node("Cast", ["rounded"], ["symbols"], to=TensorProto.INT32),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_encoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("symbols", TensorProto.INT32, [1, *LATENT])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(medians.reshape(1, -1, 1, 1), "med")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _server_onnx(medians, w, b):
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Cast", ["symbols"], ["sf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["sf", "med"], ["y_hat"]),
        helper.make_node("Reshape", ["y_hat", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_server",
        [helper.make_tensor_value_info("symbols", TensorProto.INT32, [1, *LATENT])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, CLASSES])],
        [
            numpy_helper.from_array(medians.reshape(1, -1, 1, 1), "med"),
            numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "flat_shape"),
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(b, "b"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def build_tiny_artifact(folder, seed: int = 0, model_id: str = "tiny-test", payload: dict | None = None) -> Path:
    """Write a complete artifact folder; different seeds give different tables (hashes) and weights. `payload`:
    the manifest's payload block (docs/artifact.md; none: the single stream)."""
    import onnx

    from fsplit_mobile.runtime.artifact import sha256_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1000 + seed)
    tables = laplace_tables(CHANNELS, seed)
    tables.write(folder / "tables.fsct")
    medians = rng.normal(0, 0.3, CHANNELS).astype(np.float32)
    enc_w = (rng.normal(0, 1, (CHANNELS, 3, STRIDE, STRIDE)) * 0.15).astype(np.float32)
    onnx.save(_encoder_onnx(enc_w, medians), folder / "encoder.onnx")
    srv_w = rng.normal(0, 0.5, (int(np.prod(LATENT)), CLASSES)).astype(np.float32)
    srv_b = rng.normal(0, 0.1, CLASSES).astype(np.float32)
    onnx.save(_server_onnx(medians, srv_w, srv_b), folder / "server.onnx")
    (folder / "labels.txt").write_text("".join(f"class-{i}\n" for i in range(CLASSES)))
    files = {"encoder": "encoder.onnx", "tables": "tables.fsct", "server": "server.onnx", "labels": "labels.txt"}
    manifest = {
        "schema": "fsplit-artifact/1",
        "model_id": model_id,
        "target": "onnx",
        "quantization": "none",
        "files": files,
        "input": {
            "name": "image",
            "shape": [1, 3, SIZE, SIZE],
            "dtype": "float32",
            "layout": "NCHW",
            "color": "RGB",
            "resize": {"size": [SIZE, SIZE], "method": "bilinear"},
            "value_range": [0.0, 1.0],
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "normalization_in_graph": True,
            "quantization": None,
        },
        "output": {
            "name": "symbols",
            "kind": "symbols",
            "shape": [1, *LATENT],
            "dtype": "int32",
            "layout": "NCHW",
            "quantization": None,
        },
        "latent": {
            "channels": LATENT[0],
            "height": LATENT[1],
            "width": LATENT[2],
            "medians": [float(m) for m in medians],
        },
        "tables": {"file": "tables.fsct", "content_hash": tables.content_hash, "precision": 16},
        "server": {"file": "server.onnx", "input": "symbols", "output": "logits", "num_classes": CLASSES},
        "tool_versions": {"fsplit_mobile": "test"},
        "sha256": {name: sha256_path(folder / name) for name in files.values()},
    }
    if payload is not None:
        manifest["payload"] = dict(payload)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder


def random_images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadedServer:
    """uvicorn serving `app` on 127.0.0.1:<free port> in a daemon thread (a real socket server), with the
    connection layer `fsplit-serve` uses (fsplit_mobile.serve.server.uvicorn_config)."""

    def __init__(self, app, limits=None, **config):
        import uvicorn

        from fsplit_mobile.serve.server import uvicorn_config

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        limits = limits or getattr(getattr(app, "state", None), "limits", None)
        if limits is None:
            from fsplit_mobile.serve.limits import ServeLimits

            limits = ServeLimits()
        cfg = uvicorn_config(app, limits, "warning", host="127.0.0.1", port=self.port, **config)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(15)


def session_pids(sid: int) -> list[int]:
    """Live processes of session `sid` (Linux /proc; zombies are not counted: they hold no socket)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def run_schemathesis(base_url: str, report_dir, max_examples: int, seed: int = 1, timeout_s: float = 600) -> dict:
    """The schemathesis CLI (all phases, positive and negative data, every default check except "schema-valid
    bodies are accepted": random bytes are schema-valid yet not stream containers) against a running server.
    Returns {"rc", "cases", "statuses": {status: count}, "interactions", "output"} from its ndjson report;
    "interactions": [{"method", "uri", "headers": {name: [values]}, "body": bytes | None, "status", "content"}]."""
    import base64
    import subprocess
    import sys

    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    ndjson = report_dir / "schemathesis.ndjson"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        base_url.rstrip("/") + "/openapi.json",
        "--max-examples",
        str(max_examples),
        "--mode",
        "all",
        "--seed",
        str(seed),
        "--generation-deterministic",
        "--exclude-checks",
        "positive_data_acceptance",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(ndjson),
        "--no-color",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    statuses: dict[int, int] = {}
    cases = 0
    interactions = []

    def raw(field) -> bytes | None:
        if isinstance(field, dict) and "$base64" in field:
            return base64.b64decode(field["$base64"])
        return None if field is None else str(field).encode()

    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        for interaction in (finished["recorder"].get("interactions") or {}).values():
            response = interaction.get("response") or {}
            if "status_code" in response:
                cases += 1
                statuses[response["status_code"]] = statuses.get(response["status_code"], 0) + 1
                request = interaction["request"]
                interactions.append(
                    {
                        "method": request["method"],
                        "uri": request["uri"],
                        "headers": request.get("headers") or {},
                        "body": raw(request.get("body")),
                        "status": response["status_code"],
                        "content": raw(response.get("content")) or b"",
                    }
                )
    return {
        "rc": out.returncode,
        "cases": cases,
        "statuses": dict(sorted(statuses.items())),
        "interactions": interactions,
        "output": out.stdout[-4000:] + out.stderr[-2000:],
    }


# -- raw-socket clients (tests/serve/test_serve_hostile.py, benchmarks/attack) ----------------------------------


def connect(port, timeout=5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s: socket.socket, seconds: float = 5.0) -> tuple[int, dict, bytes, bool]:
    """(status, headers, body, closed): one response, then whether the server closed the connection."""
    s.settimeout(seconds)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    want = int(headers.get("content-length", 0))
    while len(body) < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body, closed_by_server(s, seconds)


def closed_by_server(s: socket.socket, seconds: float) -> bool:
    s.settimeout(seconds)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


HEAD = "POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
FRAMING_CASES = [  # (request bytes, expected status)
    (HEAD + "Content-Length: -1\r\n\r\n", 400),
    (HEAD + "Content-Length: abc\r\n\r\n", 400),
    (HEAD + "Content-Length: +4680\r\n\r\n", 400),
    (HEAD + "Content-Length: 10\r\nContent-Length: 12\r\n\r\n0123456789", 400),
    (HEAD + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
    (HEAD + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    (HEAD + "Transfer-Encoding: gzip\r\n\r\n", 501),
    (HEAD + "X-Big: " + "a" * 20000, 431),  # a head that never ends: refused past h11's 16 KiB
    ("GARBAGE\r\n\r\n", 400),
]


def send_until_closed(s: socket.socket, block: bytes, budget_bytes: int, budget_s: float) -> int:
    sent, deadline = 0, time.monotonic() + budget_s
    try:
        while sent < budget_bytes and time.monotonic() < deadline:
            sent += s.send(block)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    return sent
