"""Concurrent clients, back-pressure (503 + Retry-After), timeouts (504) and internal errors (500) against a
real server: a bad or slow request never affects the others."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from fsplit_mobile.client import SplitClient
from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.engine import ServerEngine
from fsplit_mobile.serve.limits import AdmissionGate, LimitsError, Saturated, ServeLimits
from serve_support import ThreadedServer, build_tiny_artifact, random_images

OCTET = {"content-type": "application/octet-stream"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return build_tiny_artifact(tmp_path_factory.mktemp("conc") / "a")


@pytest.fixture(scope="module")
def payloads(artifact):
    with SplitClient(artifact, "http://unused") as client:
        return [client.encode(img)[0] for img in random_images(24, seed=5)]


class SlowEngine(ServerEngine):
    """The real engine, slowed down (and failing on demand) to make saturation and timeouts deterministic."""

    delay_s = 0.0
    fail_marker = b"BOOM"

    def infer(self, data, keep_logits=False):
        if data == self.fail_marker:
            raise RuntimeError("simulated bug")
        time.sleep(self.delay_s)
        return super().infer(data, keep_logits)


def test_concurrent_clients_get_their_own_answers(artifact, payloads):
    engine = ServerEngine(artifact)
    expected = {p: [c["index"] for c in engine.infer(p).top5] for p in payloads}
    app = create_app(engine=engine, limits=ServeLimits(max_concurrency=2, max_queue=64))
    with ThreadedServer(app) as srv:

        def client(k):
            errors = 0
            with httpx.Client(timeout=30) as http:
                for i in range(30):
                    p = payloads[(k * 7 + i) % len(payloads)]
                    r = http.post(srv.url + "/v1/infer", content=p, headers=OCTET)
                    if r.status_code != 200 or [c["index"] for c in r.json()["top5"]] != expected[p]:
                        errors += 1
            return errors

        with ThreadPoolExecutor(8) as pool:
            assert sum(pool.map(client, range(8))) == 0
        assert httpx.get(srv.url + "/healthz").json()["admitted"] == 0


def test_saturation_answers_503_with_retry_after(artifact, payloads):
    engine = SlowEngine(artifact)
    engine.delay_s = 0.6
    app = create_app(engine=engine, limits=ServeLimits(max_concurrency=1, max_queue=1, retry_after_s=3))
    with ThreadedServer(app) as srv:
        results = []
        barrier = threading.Barrier(6)

        def one(i):
            with httpx.Client(timeout=30) as http:
                barrier.wait()
                r = http.post(srv.url + "/v1/infer", content=payloads[i], headers=OCTET)
                results.append((r.status_code, r.headers.get("retry-after"), r.json()))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r[0] for r in results)
        assert codes == [200, 200, 503, 503, 503, 503]
        for code, retry, body in results:
            if code == 503:
                assert retry == "3" and body["error"] == "saturated"
        health = httpx.get(srv.url + "/healthz").json()
        assert health["refused"] == 4 and health["admitted"] == 0
        engine.delay_s = 0.0
        assert httpx.post(srv.url + "/v1/infer", content=payloads[0], headers=OCTET).status_code == 200


def test_timeout_answers_504_and_holds_the_slot_until_work_ends(artifact, payloads):
    engine = SlowEngine(artifact)
    engine.delay_s = 1.0
    app = create_app(engine=engine, limits=ServeLimits(timeout_s=0.3, max_concurrency=1, max_queue=0))
    with ThreadedServer(app) as srv:
        t0 = time.monotonic()
        r = httpx.post(srv.url + "/v1/infer", content=payloads[0], headers=OCTET, timeout=10)
        assert r.status_code == 504 and r.json()["error"] == "timeout"
        assert time.monotonic() - t0 < 0.9
        # the worker is still busy: the gate counts it, so a new request is refused rather than piled up
        assert httpx.get(srv.url + "/healthz").json()["admitted"] == 1
        assert httpx.post(srv.url + "/v1/infer", content=payloads[1], headers=OCTET).status_code == 503
        time.sleep(1.0)
        assert httpx.get(srv.url + "/healthz").json()["admitted"] == 0
        engine.delay_s = 0.0
        assert httpx.post(srv.url + "/v1/infer", content=payloads[1], headers=OCTET).status_code == 200


def test_internal_error_is_500_and_isolated(artifact, payloads):
    engine = SlowEngine(artifact)
    app = create_app(engine=engine, limits=ServeLimits(max_concurrency=2))
    with ThreadedServer(app) as srv:
        with httpx.Client(timeout=10) as http:
            for _ in range(5):
                r = http.post(srv.url + "/v1/infer", content=SlowEngine.fail_marker, headers=OCTET)
                assert r.status_code == 500 and "simulated bug" in r.json()["detail"]
                assert http.post(srv.url + "/v1/infer", content=payloads[2], headers=OCTET).status_code == 200
        assert httpx.get(srv.url + "/healthz").json()["admitted"] == 0


def test_gate_and_limits_validation():
    gate = AdmissionGate(2)
    a, b = gate.try_enter(), gate.try_enter()
    with pytest.raises(Saturated):
        gate.try_enter()
    a.release()
    a.release()  # idempotent
    assert gate.admitted == 1
    b.release()
    assert gate.admitted == 0 and gate.refused == 1
    for bad in ({"max_payload": 0}, {"timeout_s": 0}, {"max_concurrency": 0}, {"max_queue": -1}):
        with pytest.raises(LimitsError):
            ServeLimits(**bad)


def test_load_generator_counts_throughput_and_errors(artifact, payloads):
    from fsplit_mobile.serve.loadgen import run_load

    app = create_app(artifact, limits=ServeLimits(max_concurrency=2, max_queue=8))
    with ThreadedServer(app) as srv:
        r = run_load(srv.url, payloads, clients=4, seconds=1.5)
        assert (
            r["error_count"] == 0 and r["ok"] == r["requests"] >= 1
        )  # a count, not a speed: this machine may be loaded
        assert r["throughput_rps"] == pytest.approx(r["ok"] / r["wall_s"])
        assert r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
        bad = run_load(srv.url, [b"garbage"], clients=2, seconds=0.5)
        assert bad["ok"] == 0 and set(bad["errors"]) == {"400"} and bad["error_count"] == bad["requests"]
