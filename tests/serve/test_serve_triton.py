"""Triton (`fsplit-serve --engine triton`, fsplit_mobile/serve/triton/) against fsplit-serve on the same artifact:
the real `tritonserver` 2.51 binary of the nvidia-pytriton wheel on a free loopback port (HTTP only), serving the
model repository that `write_model_repository` writes, beside a uvicorn fsplit-serve. The same streams get the
same answers (top-5, labels, scores, hashes: everything but timings), every refused stream the same error code in
a 4xx, malformed KServe requests a refusal while the server stays up, and dynamic batching answers every request
of a batch correctly. The guarded front (fsplit_mobile/serve/triton/front.py, the CLI's default) before the same
Triton answers fsplit-serve's API with fsplit-serve's statuses (409/422 included) on refused streams and on the
schemathesis cases of fsplit-serve's OpenAPI document, and garbage, KServe or not, with a 4xx. One server for
the module (two models in its repository); ~30 s here, plus ~20-70 s for schemathesis."""

import importlib.util
import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

if importlib.util.find_spec("pytriton") is None:  # located, never imported (its Python API pins numpy<2)
    pytest.skip("nvidia-pytriton (the tritonserver binary) is not installed: make setup", allow_module_level=True)

from fsplit_mobile.client import SplitClient  # noqa: E402
from fsplit_mobile.codec import container  # noqa: E402
from fsplit_mobile.e2e.workload import heldout_crops  # noqa: E402
from fsplit_mobile.evaluation.images import bundled_images  # noqa: E402
from fsplit_mobile.serve.app import create_app  # noqa: E402
from fsplit_mobile.serve.limits import ServeLimits  # noqa: E402
from fsplit_mobile.serve.triton import kserve  # noqa: E402
from fsplit_mobile.serve.triton.front import Front, is_parse_error  # noqa: E402
from fsplit_mobile.serve.triton.repository import (  # noqa: E402
    RepositoryError,
    TritonModelOptions,
    write_model_repository,
)
from fsplit_mobile.serve.triton.server import TritonProcess  # noqa: E402
from serve_support import (  # noqa: E402
    LATENT,
    ThreadedServer,
    build_tiny_artifact,
    connect,
    free_port,
    random_images,
    read_response,
    run_schemathesis,
)
from test_serve_faults import generate_cases  # noqa: E402

READY_TIMEOUT_S = 180  # the model loads in ~1 s here; generous for a loaded CI machine
BATCHED = "fsplit_batched"  # second model of the repository: the batcher waits up to 2 s to fill a batch of 4
BAD_EVERY = 10  # every 10th generated bad stream (~280 of ~2,800, all kinds)
SCHEMA_EXAMPLES = 10  # schemathesis examples per operation and phase (~40 cases; test_serve_schema.py runs 60)
OCTET = {"content-type": "application/octet-stream"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("triton")
    art = build_tiny_artifact(root / "served", seed=0)
    other = build_tiny_artifact(root / "other", seed=1)
    repo = root / "models"
    write_model_repository(art, repo, TritonModelOptions(intra_op_threads=1))
    write_model_repository(
        art, repo, TritonModelOptions(name=BATCHED, max_batch_size=4, max_queue_delay_us=2_000_000, intra_op_threads=1)
    )
    log = root / "tritonserver.log"
    triton = TritonProcess(repo, root / "server", port=free_port(), log=log)
    triton.start()
    try:
        triton.wait_ready(READY_TIMEOUT_S)
        limits = ServeLimits(max_payload=1 << 20, max_concurrency=2, max_queue=64)
        front = Front("127.0.0.1", free_port(), triton.url, art, limits)
        front.start()
        try:
            with ThreadedServer(create_app(art, limits=limits)) as ref, httpx.Client(timeout=60) as http:
                yield {
                    "art": art,
                    "other": other,
                    "triton": triton,
                    "ref": ref,
                    "http": http,
                    "log": log,
                    "front": f"http://127.0.0.1:{front.server.config.port}",
                    "front_port": front.server.config.port,
                }
        finally:
            front.stop()
    except Exception:
        print(log.read_text()[-4000:] if log.exists() else "no tritonserver log")
        raise
    finally:
        triton.stop()


def fsplit_serve(s, stream: bytes) -> httpx.Response:
    return s["http"].post(
        s["ref"].url + "/v1/infer", content=stream, headers={"content-type": "application/octet-stream"}
    )


def triton(s, stream: bytes, model: str = "fsplit", http: httpx.Client | None = None) -> httpx.Response:
    body, headers = kserve.request_body(stream)
    return (http or s["http"]).post(s["triton"].url + kserve.infer_path(model), content=body, headers=headers)


def same_but_timings(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "timings_ms"} == {k: v for k, v in b.items() if k != "timings_ms"}


def heldout_streams(art, n_images: int = 6) -> list[bytes]:
    """Streams of held-out crops (the tiny model's encoder resizes each crop to its 32x32 input)."""
    crops = heldout_crops(crops_per_image=2, images=bundled_images("heldout")[:n_images])
    with SplitClient(art, "http://unused") as client:
        return [client.encode(crop)[0] for crop in crops]


def test_same_answers_as_fsplit_serve_on_heldout_crops(servers):
    s = servers
    streams = heldout_streams(s["art"])
    assert len(streams) == 12
    for stream in streams:
        ref, got = fsplit_serve(s, stream), triton(s, stream)
        assert ref.status_code == 200 and got.status_code == 200, got.text
        want, answer = ref.json(), kserve.answer(got.content, got.headers)
        assert same_but_timings(answer, want)  # model id, table hash, rate point, top-5 (index, label, score), sizes
        assert set(answer["timings_ms"]) == {"parse", "decode", "dequant_tail", "total", "cpu"}


def test_numeric_outputs_match_the_json_answer(servers):
    """top5_index / top5_score / rate_point as JSON outputs of one request agree with fsplit-serve's JSON."""
    s = servers
    stream = heldout_streams(s["art"], n_images=1)[0]
    header = json.dumps(
        {
            "inputs": [
                {"name": "stream", "shape": [1, len(stream)], "datatype": "UINT8", "data": list(stream)},
            ],
            "outputs": [{"name": n} for n in ("top5_index", "top5_score", "rate_point")],
        }
    )
    r = s["http"].post(s["triton"].url + kserve.infer_path(), content=header)
    assert r.status_code == 200, r.text
    out = {o["name"]: o for o in r.json()["outputs"]}
    want = fsplit_serve(s, stream).json()
    assert out["top5_index"]["shape"] == [1, 5] and out["top5_index"]["datatype"] == "INT64"
    assert out["top5_index"]["data"] == [c["index"] for c in want["top5"]]
    assert out["top5_score"]["data"] == [c["score"] for c in want["top5"]]  # FP64: the same doubles
    assert out["rate_point"]["data"] == [want["rate_point"]]


def named_bad_streams(good: bytes, foreign: bytes, tables) -> dict[str, bytes]:
    header, payload = container.unpack(good)
    symbols = np.zeros(LATENT, dtype=np.int32)
    return {
        "truncated": good[:-5],
        "truncated-header": good[:20],
        "wrong-magic": b"XXXX" + good[4:],
        "unknown-rate-point": container.encode_latent(tables, symbols, rate_point=3),
        "empty": b"",
        "garbage": bytes(range(256)) * 2,
        "bit-flip": good[:40] + bytes([good[40] ^ 0x5A]) + good[41:],
        "trailing": good + b"\0\0\0\0",
        "other-tables": foreign,
        "wrong-shape": container.pack(bytes(header.table_hash), (LATENT[0], LATENT[1] + 1, LATENT[2]), payload),
    }


def refused_cases(s, every: int = BAD_EVERY) -> tuple[list[bytes], list[tuple[bytes, str]]]:
    """(good streams, [(bad stream, kind)]): the named bad streams and every `every`-th generated one."""
    from fsplit_mobile.serve.engine import ServerEngine

    good = [p for p in heldout_streams(s["art"], n_images=2)]
    with SplitClient(s["other"], "http://unused") as theirs:
        foreign = [theirs.encode(img)[0] for img in random_images(4, seed=12)]
    named = named_bad_streams(good[0], foreign[0], ServerEngine(s["art"]).tables)
    cases = [(p, kind) for kind, p in named.items()]
    cases += [(p, kind) for p, _want, kind in generate_cases(good, foreign)[::every]]
    return good, cases


def test_refused_streams_get_4xx_with_fsplit_serves_error_code(servers):
    s = servers
    good, cases = refused_cases(s)
    seen = {}
    for i, (payload, kind) in enumerate(cases):
        ref, got = fsplit_serve(s, payload), triton(s, payload)
        code, detail = kserve.error_code(got.content)
        want = ref.json()
        assert 400 <= ref.status_code < 500, (kind, ref.status_code)
        assert got.status_code == 400, (kind, got.status_code, got.text)  # Triton answers every refusal with 400
        assert code == want["error"], (kind, got.text, want)
        assert detail == want["detail"], kind
        seen[kind] = code
        if i % 40 == 0:  # good requests in between still get exactly fsplit-serve's answer
            ok = triton(s, good[0])
            assert ok.status_code == 200
            assert same_but_timings(kserve.answer(ok.content, ok.headers), fsplit_serve(s, good[0]).json())
    assert {"empty_payload", "corrupt_payload", "unknown_rate_point", "table_mismatch", "latent_shape_mismatch"} <= set(
        seen.values()
    )
    assert len(cases) > 250
    assert s["triton"].alive()


def malformed_kserve_requests() -> list[tuple[bytes, dict]]:
    rng = np.random.default_rng(3)
    H = kserve.HEADER_LENGTH
    requests = [
        (b"", {}),
        (b"not json at all", {}),
        (b"{}xx", {H: "999"}),
        (b"{}xx", {H: "-1"}),
        (b'{"inputs":[]}', {}),
        (b'{"inputs":[{"name":"stream","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}', {}),
        (b'{"inputs":[{"name":"x","shape":[1,3],"datatype":"UINT8","data":[1,2,3]}]}', {}),
        (b'{"inputs":[{"name":"stream","shape":[1,30],"datatype":"UINT8","parameters":{"binary_data_size":30}}]}', {}),
        (b'{"inputs":[{"name":"stream","shape":[1,4],"datatype":"UINT8","data":[1,2,3]}]}', {}),
        (b'{"inputs":[{"name":"stream","shape":[9,1],"datatype":"UINT8","data":[1,2,3,4,5,6,7,8,9]}]}', {}),
    ]
    requests += [(rng.integers(0, 256, int(rng.integers(1, 2000)), dtype=np.uint8).tobytes(), {}) for _ in range(30)]
    requests += [
        (
            b'{"inputs":[{"name":"stream","shape":[1,8],"datatype":"UINT8","parameters":{"binary_data_size":8}}]}'
            + junk,
            {},
        )
        for junk in (b"\0" * 8, b"FSCL\0\0\0\0")
    ]
    requests += [
        (b, {})
        for b in (
            b"[]",
            b"null",
            b'{"inputs":5}',
            b'{"inputs":[{"name":"stream","shape":"x","datatype":"UINT8","data":[1]}]}',
            b'{"inputs":[{"name":"stream","shape":[1,3],"datatype":"UINT8","data":["a","b","c"]}]}',
            b'{"inputs":[{"name":"stream","shape":[1,3],"datatype":"UINT8","data":[1,2,3]}],"outputs":5}',
            b'{"inputs":[{"name":"stream","shape":[1,3],"datatype":"UINT8","data":[1,2,3]}],"parameters":5}',
        )
    ]
    return requests


def test_malformed_requests_are_refused_and_the_server_stays_up(servers):
    """KServe-level garbage sent to Triton itself is Triton's own business: refused (400; 500 for the JSON-header
    parse errors Triton 2.51 flags INTERNAL), never a crash; the model keeps answering."""
    s = servers
    url = s["triton"].url + kserve.infer_path()
    stream = heldout_streams(s["art"], n_images=1)[0]
    statuses = {}
    for body, headers in malformed_kserve_requests():
        r = s["http"].post(url, content=body, headers=headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code != 200 or body == b"", (body[:80], r.text)
        parse_failure = is_parse_error(r.status_code, r.content)  # Triton 2.51 flags these INTERNAL (front.py)
        assert 400 <= r.status_code < 500 or parse_failure, (body[:80], r.status_code, r.text)
        assert "error" in r.json()
    print("malformed KServe requests, statuses:", statuses)
    assert s["triton"].alive()
    assert s["http"].get(s["triton"].url + "/v2/health/live").status_code == 200
    ok = triton(s, stream)
    assert ok.status_code == 200
    assert same_but_timings(kserve.answer(ok.content, ok.headers), fsplit_serve(s, stream).json())


def test_front_gives_garbage_a_4xx(servers):
    """Through the guarded front, every malformed KServe request gets a 4xx: Triton's own answer, but 400 where
    Triton 2.51 says 500 for a body it cannot parse (same message); bytes that are not HTTP at all get the
    connection layer's 400. The front and Triton stay up and answer exactly afterwards."""
    s = servers
    url = s["front"] + kserve.infer_path()
    stream = heldout_streams(s["art"], n_images=1)[0]
    statuses: dict[int, int] = {}
    rewritten = 0
    for body, headers in malformed_kserve_requests():
        direct = s["http"].post(s["triton"].url + kserve.infer_path(), content=body, headers=headers)
        r = s["http"].post(url, content=body, headers=headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert 400 <= r.status_code < 500 or body == b"" and r.status_code == 200, (body[:80], r.status_code, r.text)
        assert r.content == direct.content  # Triton's own body, unchanged
        assert r.status_code == (400 if direct.status_code == 500 else direct.status_code), (body[:80], r.text)
        rewritten += direct.status_code == 500
    print("malformed KServe requests through the front, statuses:", statuses, "rewritten 500s:", rewritten)
    assert rewritten >= 30  # the random bodies, "not json at all", the wrong `data` fields
    for junk in (b"\x00\xff\xfe garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", bytes(range(256)) + b"\r\n\r\n"):
        sock = connect(s["front_port"])
        sock.sendall(junk)
        status, _headers, _body, _closed = read_response(sock)
        sock.close()
        assert 400 <= status < 500, (junk[:20], status)
    assert s["triton"].alive()
    ok = s["http"].post(url, content=kserve.request_body(stream)[0], headers=kserve.request_body(stream)[1])
    assert ok.status_code == 200
    assert same_but_timings(kserve.answer(ok.content, ok.headers), fsplit_serve(s, stream).json())


def test_front_answers_fsplit_serves_api_like_fsplit_serve(servers):
    """POST /v1/infer through the front: the held-out crops get fsplit-serve's answer (timings aside, queue_wait
    added), refused streams fsplit-serve's exact status and body (409 and 422 included, where Triton itself has
    only 400), /healthz and /v1/model fsplit-serve's identity."""
    s = servers
    for stream in heldout_streams(s["art"], n_images=3):
        got, want = s["http"].post(s["front"] + "/v1/infer", content=stream, headers=OCTET), fsplit_serve(s, stream)
        assert got.status_code == 200, got.text
        assert same_but_timings(got.json(), want.json())
        assert set(got.json()["timings_ms"]) == set(want.json()["timings_ms"])
    _good, cases = refused_cases(s, every=4 * BAD_EVERY)
    statuses = set()
    for payload, kind in cases:
        got, want = s["http"].post(s["front"] + "/v1/infer", content=payload, headers=OCTET), fsplit_serve(s, payload)
        assert (got.status_code, got.json()) == (want.status_code, want.json()), kind
        statuses.add(got.status_code)
    assert {400, 409, 422} <= statuses
    health, ref = s["http"].get(s["front"] + "/healthz").json(), s["http"].get(s["ref"].url + "/healthz").json()
    assert health["status"] == "ok" and (health["model_id"], health["table_hash"]) == (
        ref["model_id"],
        ref["table_hash"],
    )
    model, ref = s["http"].get(s["front"] + "/v1/model").json(), s["http"].get(s["ref"].url + "/v1/model").json()
    assert model.pop("engine") == {"name": "triton", "model": "fsplit"} and model == ref
    assert s["http"].get(s["front"] + "/openapi.json").json()["paths"].keys() == {"/v1/infer", "/healthz", "/v1/model"}


def test_schemathesis_cases_get_fsplit_serves_statuses(servers, tmp_path):
    """schemathesis (fsplit-serve's OpenAPI document, served by the front) against the Triton engine: every answer
    documented, none a 5xx; each recorded request replayed to fsplit-serve gets the same status, and the same
    error code or the same answer (timings aside)."""
    s = servers
    run = run_schemathesis(s["front"], tmp_path, SCHEMA_EXAMPLES)
    assert run["rc"] == 0, run["output"]
    assert run["cases"] >= 30, run["statuses"]
    assert not any(status >= 500 for status in run["statuses"]), run["statuses"]
    assert {400, 405, 415} <= set(run["statuses"]), run["statuses"]
    for case in run["interactions"]:
        uri = s["ref"].url + case["uri"].removeprefix(s["front"])
        headers = [(k, v) for k, values in case["headers"].items() for v in values]
        ref = s["http"].request(case["method"], uri, content=case["body"], headers=headers)
        where = (case["method"], case["uri"], (case["body"] or b"")[:40])
        assert case["status"] == ref.status_code, (where, case["content"][:200], ref.text[:200])
        if ref.status_code >= 400:
            assert json.loads(case["content"])["error"] == ref.json()["error"], where
        elif case["uri"].endswith("/v1/infer"):
            assert same_but_timings(json.loads(case["content"]), ref.json()), where
    print("schemathesis through the Triton front:", run["cases"], "cases, statuses", run["statuses"])


def test_dynamic_batching_answers_every_request_of_a_batch(servers):
    """Concurrent requests to the model whose batcher waits up to 2 s for 4 requests: Triton hands them to the
    model together (fewer executions than requests, from its statistics) and each gets its own answer."""
    s = servers
    streams = heldout_streams(s["art"], n_images=4)[:8]
    refs = [fsplit_serve(s, p).json() for p in streams]

    def one(i):
        with httpx.Client(timeout=60) as http:
            return triton(s, streams[i], BATCHED, http)

    with ThreadPoolExecutor(len(streams)) as pool:
        answers = list(pool.map(one, range(len(streams))))
    for r, want in zip(answers, refs):
        assert r.status_code == 200, r.text
        assert same_but_timings(kserve.answer(r.content, r.headers), want)
    stats = s["http"].get(s["triton"].url + f"/v2/models/{BATCHED}/stats").json()["model_stats"][0]
    assert stats["inference_count"] == len(streams)
    assert stats["execution_count"] < len(streams)  # at least one execute() took several requests


def test_tritonclient_gets_the_same_answer(servers):
    httpclient = pytest.importorskip("tritonclient.http")
    s = servers
    stream = heldout_streams(s["art"], n_images=1)[0]
    client = httpclient.InferenceServerClient(s["triton"].url.removeprefix("http://"))
    inp = httpclient.InferInput("stream", [1, len(stream)], "UINT8")
    inp.set_data_from_numpy(np.frombuffer(stream, dtype=np.uint8)[None])
    result = client.infer("fsplit", [inp], outputs=[httpclient.InferRequestedOutput("answer", binary_data=True)])
    answer = json.loads(result.as_numpy("answer").tobytes())
    assert same_but_timings(answer, fsplit_serve(s, stream).json())
    client.close()


def test_repository_layout_and_refusals(tmp_path):
    art = build_tiny_artifact(tmp_path / "art")
    model = write_model_repository(art, tmp_path / "repo")
    config = (model / "config.pbtxt").read_text()
    assert 'backend: "python"' in config and "dynamic_batching" in config and "max_batch_size: 8" in config
    assert (model / "1" / "model.py").read_text().count("TritonPythonModel") >= 1
    names = sorted(p.name for p in (model / "1" / "artifact").iterdir())
    assert names == ["encoder.onnx", "labels.txt", "manifest.json", "server.onnx", "tables.fsct"]
    with pytest.raises(RepositoryError, match="exists"):
        write_model_repository(art, tmp_path / "repo")
    write_model_repository(art, tmp_path / "repo", overwrite=True)
    (art / "tables.fsct").write_bytes(b"FSCT broken")
    with pytest.raises(RepositoryError):
        write_model_repository(art, tmp_path / "repo2")
    assert not (tmp_path / "repo2" / "fsplit").exists()
    with pytest.raises(RepositoryError, match="model name"):
        TritonModelOptions(name="../x")


def children(pid: int) -> list[int]:
    """Live child processes of `pid` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()  # state ppid ...
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def test_cli_serves_and_stops_on_sigterm(tmp_path):
    """`fsplit-serve --engine triton`: writes the repository, runs tritonserver, answers, and SIGTERM ends it
    (exit 0, no stub left behind); --triton-write-only only writes."""
    art = build_tiny_artifact(tmp_path / "art")
    cli = [str(Path(sys.executable).parent / "fsplit-serve"), "--engine", "triton", "--artifact", str(art)]
    w = subprocess.run([*cli, "--triton-repository", str(tmp_path / "repo"), "--triton-write-only"], timeout=120)
    assert w.returncode == 0 and (tmp_path / "repo" / "fsplit" / "config.pbtxt").is_file()
    port = free_port()
    log = open(tmp_path / "cli.log", "w")
    proc = subprocess.Popen([*cli, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/models/fsplit/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "cli.log").read_text()[-3000:]
            time.sleep(0.3)
        stream = heldout_streams(art, n_images=1)[0]
        body, headers = kserve.request_body(stream)
        r = httpx.post(f"http://127.0.0.1:{port}" + kserve.infer_path(), content=body, headers=headers, timeout=60)
        assert r.status_code == 200 and kserve.answer(r.content, r.headers)["top5"]
        v1 = httpx.post(f"http://127.0.0.1:{port}/v1/infer", content=stream, headers=OCTET, timeout=60)
        assert v1.status_code == 200 and same_but_timings(v1.json(), kserve.answer(r.content, r.headers))
        assert httpx.post(f"http://127.0.0.1:{port}" + kserve.infer_path(), content=b"garbage").status_code == 400
        servers = children(proc.pid)  # tritonserver (its own session), and below it the python stubs
        spawned = servers + [pid for server in servers for pid in children(server)]
        assert len(spawned) >= 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(120) == 0
        assert [pid for pid in spawned if Path(f"/proc/{pid}").exists()] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=2)
