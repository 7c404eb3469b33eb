"""Thousands of generated bad payloads against a real server: every one answered with its 4xx and a reason,
the server stays healthy, and good requests in between keep getting exactly the right answer."""

import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from fsplit_mobile.client import SplitClient
from fsplit_mobile.codec import container
from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.limits import ServeLimits
from serve_support import LATENT, ThreadedServer, build_tiny_artifact, random_images

MAX_PAYLOAD = 4096
CASES_PER_KIND = 400


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    art = build_tiny_artifact(root / "served", seed=0)
    other = build_tiny_artifact(root / "other", seed=1)
    app = create_app(art, limits=ServeLimits(max_payload=MAX_PAYLOAD, timeout_s=2.0, max_concurrency=2, max_queue=64))
    with ThreadedServer(app) as srv:
        with SplitClient(art, srv.url) as mine, SplitClient(other, srv.url) as theirs:
            good = [mine.encode(img)[0] for img in random_images(8, seed=11)]
            foreign = [theirs.encode(img)[0] for img in random_images(8, seed=12)]
            answers = {p: mine.post(p)[0]["top5"] for p in good}
        yield srv, good, foreign, answers


def generate_cases(good, foreign, seed=0):
    """(payload, expected status, kind) tuples; about 2,800 of them."""
    rng = np.random.default_rng(seed)
    hash_ok = bytes(container.unpack(good[0])[0].table_hash)
    cases = []

    def pick(pool):
        return pool[int(rng.integers(len(pool)))]

    for _ in range(CASES_PER_KIND):
        p = pick(good)
        cases.append((p[: int(rng.integers(1, len(p)))], 400, "truncated"))
        flipped = bytearray(p)
        for pos in rng.choice(len(p), size=int(rng.integers(1, 4)), replace=False):
            flipped[pos] ^= int(rng.integers(1, 256))
        cases.append((bytes(flipped), 400, "bit-flip"))
        cases.append((p + rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes(), 400, "trailing"))
        cases.append((rng.integers(0, 256, int(rng.integers(1, 600)), dtype=np.uint8).tobytes(), 400, "garbage"))
        # checksum right, payload random: the rANS decoder itself must refuse it
        junk = rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
        cases.append((container.pack(hash_ok, LATENT, junk), 400, "forged-payload"))
        cases.append((pick(foreign), 409, "other-tables"))
        c, h, w = LATENT
        bad_shape = [(c, h + 1, w), (c, h, w * 2), (c + 1, h, w), (0, 0, 0), (c, 1 << 20, 1 << 20)][
            int(rng.integers(5))
        ]
        cases.append((container.pack(hash_ok, bad_shape, container.unpack(p)[1].tobytes()), 422, "shape"))
    cases.append((b"", 400, "empty"))
    return cases


def post(http, url, payload):
    return http.post(url + "/v1/infer", content=payload, headers={"content-type": "application/octet-stream"})


def test_thousands_of_bad_payloads_get_4xx_and_the_server_stays_healthy(setup):
    srv, good, foreign, answers = setup
    cases = generate_cases(good, foreign)
    assert len(cases) > 2500

    def run(chunk):
        failures = []
        with httpx.Client(timeout=10) as http:
            for i, (payload, want, kind) in enumerate(chunk):
                r = post(http, srv.url, payload)
                body = r.json()
                if r.status_code != want or not body.get("detail") or not body.get("error"):
                    failures.append((kind, want, r.status_code, body))
                if i % 50 == 0:  # a good request in between: still exactly right
                    p = good[i % len(good)]
                    ok = post(http, srv.url, p)
                    if ok.status_code != 200 or ok.json()["top5"] != answers[p]:
                        failures.append(("good", 200, ok.status_code, ok.text))
        return failures

    with ThreadPoolExecutor(4) as pool:
        failures = [f for part in pool.map(run, [cases[i::4] for i in range(4)]) for f in part]
    assert failures == [], failures[:5]
    health = httpx.get(srv.url + "/healthz").json()
    assert health["status"] == "ok" and health["admitted"] == 0


def test_oversize_payloads_get_413(setup):
    srv, good, *_ = setup
    with httpx.Client(timeout=10) as http:
        r = post(http, srv.url, b"\0" * (MAX_PAYLOAD + 1))
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"

        def chunks():  # no Content-Length: the limit is enforced while streaming
            for _ in range(10):
                yield b"\0" * 1000

        r = http.post(srv.url + "/v1/infer", content=chunks(), headers={"content-type": "application/octet-stream"})
        assert r.status_code == 413
        assert post(http, srv.url, good[0]).status_code == 200


def test_wrong_content_type_gets_415(setup):
    srv, good, *_ = setup
    r = httpx.post(srv.url + "/v1/infer", content=good[0], headers={"content-type": "image/jpeg"})
    assert r.status_code == 415 and "application/octet-stream" in r.json()["detail"]


def _raw_request(port, head: bytes, body: bytes, wait_s: float, close_early=False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        if close_early:
            return b""
        time.sleep(wait_s)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def test_slow_body_gets_408_and_disconnects_do_no_harm(tmp_path):
    art = build_tiny_artifact(tmp_path / "a")
    app = create_app(art, limits=ServeLimits(timeout_s=0.5, max_concurrency=1, max_queue=0))
    with ThreadedServer(app) as srv:
        head = (
            b"POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 500\r\n\r\n"
        )
        reply = _raw_request(srv.port, head, b"FSCL" + b"\0" * 20, wait_s=1.5)
        assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
        for _ in range(20):  # clients that vanish mid-body
            _raw_request(srv.port, head, b"\0" * 100, 0, close_early=True)
        time.sleep(0.3)
        health = httpx.get(srv.url + "/healthz").json()
        assert health["admitted"] == 0  # every slot given back
        with SplitClient(art, srv.url) as client:
            assert len(client.infer(random_images(1)[0]).top5) == 5


def test_bad_content_length_gets_400(setup):
    srv, *_ = setup
    head = b"POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"
    reply = _raw_request(srv.port, head, b"", wait_s=0.2)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
    assert httpx.get(srv.url + "/healthz").status_code == 200


def test_header_fields_in_range_but_inconsistent(setup):
    """Payload length field larger or smaller than the bytes present."""
    srv, good, *_ = setup
    p = bytearray(good[0])
    with httpx.Client(timeout=10) as http:
        for delta in (-5, -1, 1, 1 << 20):
            q = bytearray(p)
            length = struct.unpack_from("<I", q, 28)[0]
            struct.pack_into("<I", q, 28, max(0, length + delta))
            r = post(http, srv.url, bytes(q))
            assert r.status_code == 400, (delta, r.text)
