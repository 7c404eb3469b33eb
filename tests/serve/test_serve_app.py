"""fsplit-serve against a real uvicorn server on loopback: results, endpoints, OpenAPI, the client."""

import json

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from fsplit_mobile.client import ServerRejected, SplitClient
from fsplit_mobile.codec import container
from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.engine import ServerEngine
from fsplit_mobile.serve.errors import ArtifactLoadError
from fsplit_mobile.serve.limits import ServeLimits
from serve_support import CLASSES, LATENT, ThreadedServer, build_tiny_artifact, random_images


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return build_tiny_artifact(tmp_path_factory.mktemp("art") / "onnx-none")


@pytest.fixture(scope="module")
def server(artifact):
    with ThreadedServer(create_app(artifact, limits=ServeLimits(max_payload=8192))) as srv:
        yield srv


def reference_top5(artifact, payload: bytes):
    """In-process: decode with the C coder, run server.onnx, softmax, top-5 (independent of the serve code)."""
    from fsplit_mobile.runtime.artifact import Artifact

    art = Artifact.open(artifact)
    symbols = container.decode_latent(art.tables(), payload)
    session = ort.InferenceSession(str(artifact / "server.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"symbols": symbols[None]})[0][0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = sorted(range(logits.size), key=lambda i: (-logits[i], i))[:5]
    return symbols, [(i, f"class-{i}", probs[i]) for i in order]


def test_results_identical_to_in_process_decoding(artifact, server):
    with SplitClient(artifact, server.url) as client:
        for img in random_images(12, seed=3):
            payload, _ = client.encode(img)
            symbols, expected = reference_top5(artifact, payload)
            direct = client.encoder.symbols(img)
            np.testing.assert_array_equal(symbols, direct)  # lossless coding
            answer, _ = client.post(payload)
            got = [(c["index"], c["label"], c["score"]) for c in answer["top5"]]
            assert [g[:2] for g in got] == [e[:2] for e in expected]
            for g, e in zip(got, expected):
                assert g[2] == pytest.approx(e[2], rel=1e-12, abs=1e-15)
            assert answer["payload_bytes"] == len(payload)
            assert answer["latent_shape"] == list(LATENT)


V2_PAYLOAD = {"format": "interleaved2", "lanes": 8, "choice": "interleaved2"}


def test_manifest_payload_interleaved2_client_writes_it_server_reads_it(tmp_path):
    """An artifact whose manifest names payload v2 (docs/artifact.md "payload"): the client writes v2 containers, the
    server decodes them to the same symbols and answers as for the single stream."""
    single = build_tiny_artifact(tmp_path / "single")
    v2 = build_tiny_artifact(tmp_path / "v2", payload=V2_PAYLOAD)
    images = random_images(3, seed=11)
    with ThreadedServer(create_app(v2)) as srv, SplitClient(v2, srv.url) as client, SplitClient(single, srv.url) as one:
        assert client.payload() == ("interleaved2", 8) and one.payload() == ("single", 1)
        for img in images:
            payload, _ = client.encode(img)
            header = container.read_header(payload)
            assert header.payload_format is container.PayloadFormat.INTERLEAVED2 and header.lanes == 8
            symbols, expected = reference_top5(v2, payload)
            np.testing.assert_array_equal(symbols, client.encoder.symbols(img))
            plain, _ = one.encode(img)
            assert container.read_header(plain).payload_format is container.PayloadFormat.SINGLE
            answer, _ = client.post(payload)
            assert answer == {**answer, "payload_bytes": len(payload)}
            assert [c["index"] for c in answer["top5"]] == [e[0] for e in expected]
            assert [c["index"] for c in one.post(plain)[0]["top5"]] == [e[0] for e in expected]


@pytest.mark.parametrize(
    "block, problem",
    [
        ({"format": "interleaved3", "lanes": 8}, "payload.format"),
        ({"format": "interleaved2", "lanes": 12}, "payload.lanes"),
        ({"format": "single", "lanes": 8}, "payload.lanes"),
        ("interleaved2", "payload must be an object"),
    ],
)
def test_manifest_payload_unknown_values_refused(tmp_path, block, problem):
    from fsplit_mobile.runtime.artifact import Artifact, ArtifactError

    art = build_tiny_artifact(tmp_path / "a", payload=None)
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["payload"] = block
    (art / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=problem):
        Artifact.open(art)


def test_client_infer_reports_timings(artifact, server):
    with SplitClient(artifact, server.url) as client:
        result = client.infer(random_images(1, seed=9)[0])
    t = result.timings
    assert len(result.top5) == 5 and result.payload_bytes > container.HEADER_SIZE
    assert t.preprocess_ms > 0 and t.encode_ms > 0 and t.coding_ms > 0 and t.request_ms > 0
    assert t.total_ms >= t.preprocess_ms + t.encode_ms + t.coding_ms + t.request_ms - 1e-6
    assert t.network_ms == pytest.approx(t.request_ms - result.server_timings_ms["total"])
    s = result.server_timings_ms
    assert set(s) == {"queue_wait", "parse", "decode", "dequant_tail", "total", "cpu"}
    assert s["total"] >= s["parse"] + s["decode"] + s["dequant_tail"]
    assert 0 <= s["cpu"] <= s["total"] + 1.0  # a thread's CPU time over a span cannot exceed its wall time


def test_client_image_file(artifact, server, tmp_path):
    from PIL import Image

    path = tmp_path / "x.png"
    Image.fromarray(random_images(1, seed=4)[0]).resize((64, 48)).save(path)
    with SplitClient(artifact, server.url) as client:
        assert client.infer(path).latent_shape == list(LATENT)


def test_client_raises_server_rejected(artifact, server):
    with SplitClient(artifact, server.url) as client:
        with pytest.raises(ServerRejected) as info:
            client.post(b"FSCL not really")
    assert info.value.status == 400 and info.value.code == "corrupt_payload"
    assert "truncated" in info.value.detail


def test_health_model_and_openapi(server):
    health = httpx.get(server.url + "/healthz").json()
    assert health["status"] == "ok" and health["model_id"] == "tiny-test" and len(health["table_hash"]) == 64
    model = httpx.get(server.url + "/v1/model").json()
    assert model["latent_shape"] == list(LATENT) and model["num_classes"] == CLASSES
    assert model["limits"]["max_payload"] == 8192
    spec = httpx.get(server.url + "/openapi.json").json()
    post = spec["paths"]["/v1/infer"]["post"]
    assert "application/octet-stream" in post["requestBody"]["content"]
    assert {"200", "400", "409", "413", "422", "503"} <= set(post["responses"])
    assert "/healthz" in spec["paths"]


def test_engine_refuses_inconsistent_artifact(tmp_path):
    art = build_tiny_artifact(tmp_path / "a")
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["tables"]["content_hash"] = "00" * 32
    (art / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactLoadError, match="content hash"):
        ServerEngine(art)
    (art / "server.onnx").write_bytes(b"changed")
    with pytest.raises(ArtifactLoadError, match="sha256"):
        ServerEngine(art)
    with pytest.raises(ArtifactLoadError, match="does not exist"):
        ServerEngine(tmp_path / "missing")


def test_info_routes_ask_a_fronts_ready_check_first():
    """add_info_routes: fsplit-serve's /healthz and /v1/model, shared with the Triton front. /healthz answers the
    `ready` check's response while it gives one (the engine behind a front not ready: 503 + Retry-After), the
    health document (the identity given, the app's gate counters) once it gives none; /v1/model is describe()."""
    import asyncio

    from fsplit_mobile.serve.app import add_info_routes
    from fsplit_mobile.serve.plumbing import base_app, error_response

    engine_ready = False

    async def ready():
        return None if engine_ready else error_response(503, "unavailable", "not ready", {"Retry-After": "1"})

    app = base_app("t", "t", ServeLimits())
    add_info_routes(app, "m-id", "t-hash", lambda: {"model_id": "m-id", "limits": {}}, ready=ready)

    async def get(path):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return await http.get(path)

    refused = asyncio.run(get("/healthz"))
    assert (refused.status_code, refused.json()["error"], refused.headers["retry-after"]) == (503, "unavailable", "1")
    engine_ready = True
    health = asyncio.run(get("/healthz"))
    assert health.status_code == 200
    doc = health.json()
    assert (doc["status"], doc["model_id"], doc["table_hash"], doc["capacity"]) == (
        "ok",
        "m-id",
        "t-hash",
        app.state.gate.capacity,
    )
    assert asyncio.run(get("/v1/model")).json() == {"model_id": "m-id", "limits": {}}
