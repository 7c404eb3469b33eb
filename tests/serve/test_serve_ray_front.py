"""The guarded front of `fsplit-serve --engine ray` (fsplit_mobile/serve/ray/front.py) on loopback, in front of
a plain fsplit-serve app standing in for Ray's proxy (the front only speaks HTTP to it): answers pass through
unchanged, a 10^12-byte declared body and an endless chunked one are refused after less than 1 MiB of reading
and never reach the upstream, idle and slow-header sockets are closed while valid requests keep succeeding,
the connection cap holds, and an unreachable upstream is a JSON 502. No timing is asserted beyond generous
bounds; the Ray cluster itself is tested in test_serve_ray.py (the CLI starts this front by default)."""

import json
import threading
import time

import httpx
import pytest

from fsplit_mobile.client import SplitClient
from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.limits import ServeLimits
from fsplit_mobile.serve.protocol import STATS
from fsplit_mobile.serve.ray.front import Front
from serve_support import (
    HEAD,
    ThreadedServer,
    build_tiny_artifact,
    closed_by_server,
    connect,
    free_port,
    random_images,
    read_response,
    send_until_closed,
)

OCTET = {"content-type": "application/octet-stream"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return build_tiny_artifact(tmp_path_factory.mktemp("front") / "a")


@pytest.fixture(scope="module")
def payloads(artifact):
    with SplitClient(artifact, "http://unused") as client:
        return [client.encode(img)[0] for img in random_images(4, seed=3)]


class Counting:
    """ASGI wrapper counting the requests that reach the upstream app."""

    def __init__(self, app):
        self.app, self.requests = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        return await self.app(scope, receive, send)


class Fronted:
    """An upstream fsplit-serve app (uvicorn thread) and the front (its own uvicorn thread) before it."""

    def __init__(self, artifact, front_limits: ServeLimits):
        self.upstream = Counting(create_app(artifact, limits=ServeLimits(max_payload=4096)))
        self.up = ThreadedServer(self.upstream, limits=ServeLimits())
        self.front_limits = front_limits

    def __enter__(self):
        self.up.__enter__()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.front = Front("127.0.0.1", self.port, self.up.url, self.front_limits)
        self.front.start()
        return self

    def __exit__(self, *exc):
        self.front.stop()
        self.up.__exit__(*exc)


def strip_timings(r: httpx.Response) -> dict:
    doc = r.json()
    doc.pop("timings_ms", None)
    return doc


def test_answers_pass_through_unchanged(artifact, payloads):
    with Fronted(artifact, ServeLimits(max_payload=4096)) as f, httpx.Client(timeout=30) as http:
        for p in payloads:
            via = http.post(f.url + "/v1/infer", content=p, headers=OCTET)
            direct = http.post(f.up.url + "/v1/infer", content=p, headers=OCTET)
            assert via.status_code == direct.status_code == 200
            assert strip_timings(via) == strip_timings(direct)
        for method, path, kwargs in [
            ("POST", "/v1/infer", {"content": b"", "headers": OCTET}),  # 400 empty_payload (the replica's)
            ("POST", "/v1/infer", {"content": b"x" * 10, "headers": OCTET}),  # 400 corrupt_payload
            ("POST", "/v1/infer", {"content": payloads[0], "headers": {"content-type": "text/plain"}}),  # 415
            ("POST", "/v1/infer", {"content": b"x" * 5000, "headers": OCTET}),  # 413 (Content-Length)
            ("GET", "/nowhere", {}),  # 404
            ("DELETE", "/v1/infer", {}),  # 405
            ("GET", "/v1/model", {}),
            ("GET", "/openapi.json", {}),  # the replica's description, not the front's
        ]:
            via = http.request(method, f.url + path, **kwargs)
            direct = http.request(method, f.up.url + path, **kwargs)
            assert (via.status_code, via.json()) == (direct.status_code, direct.json()), (method, path)
        health = http.get(f.url + "/healthz").json()
        assert health["status"] == "ok" and health["connections"]["accepted"] >= 1


def test_huge_bodies_are_refused_within_1_mib_and_never_forwarded(artifact):
    with Fronted(artifact, ServeLimits(max_payload=4096)) as f:
        reached = len(f.upstream.requests)
        for head, block in [
            (f"{HEAD}Content-Length: {10**12}\r\n\r\n", b"\0" * 65536),
            (f"{HEAD}Transfer-Encoding: chunked\r\n\r\n", b"10000\r\n" + b"\0" * 65536 + b"\r\n"),
        ]:
            before = STATS.bytes_read
            with connect(f.port, timeout=2.0) as s:
                s.sendall(head.encode())
                pusher = threading.Thread(target=send_until_closed, args=(s, block, 1 << 28, 10.0))
                pusher.start()
                status, headers, body, _ = read_response(s, seconds=10.0)
                pusher.join(20)
            assert status == 413 and json.loads(body)["error"] == "payload_too_large", body
            assert headers.get("connection") == "close"
            assert STATS.bytes_read - before < 1 << 20, STATS.bytes_read - before
        assert len(f.upstream.requests) == reached  # none of it reached Ray's side


def test_idle_and_slow_header_sockets_are_closed_while_valid_requests_succeed(artifact, payloads):
    limits = ServeLimits(max_payload=4096, header_timeout_s=1.0, keep_alive_s=1.0)
    with Fronted(artifact, limits) as f:
        idle = [connect(f.port) for _ in range(200)]
        slow = [connect(f.port) for _ in range(20)]
        statuses: dict[int, int] = {}
        with httpx.Client(timeout=30) as http:
            for k in range(10):  # while the sockets are held; the slow ones send a byte of head each round
                for s in slow:
                    try:
                        s.sendall(HEAD[k : k + 1].encode())
                    except OSError:
                        pass
                code = http.post(f.url + "/v1/infer", content=payloads[k % len(payloads)], headers=OCTET).status_code
                statuses[code] = statuses.get(code, 0) + 1
                time.sleep(0.05)
        assert statuses == {200: 10}, statuses
        # all of them end at the header timeout (1 s; 20 s allowed): silent ones closed, slow heads a 408
        assert all(closed_by_server(s, 20.0) for s in idle)
        answers = []
        for s in slow:
            try:
                answers.append(read_response(s, seconds=20.0)[0])
            except (AssertionError, OSError):
                answers.append(0)  # closed before the answer could be read
        assert answers.count(408) >= len(slow) // 2, answers
        for s in idle + slow:
            s.close()
        assert httpx.post(f.url + "/v1/infer", content=payloads[0], headers=OCTET, timeout=30).status_code == 200
        assert not any(path == "/v1/infer" and m != "POST" for m, path in f.upstream.requests)


def test_connection_cap_refuses_with_json_503(artifact, payloads):
    with Fronted(artifact, ServeLimits(max_payload=4096, max_connections=8, header_timeout_s=30)) as f:
        held = [connect(f.port) for _ in range(8)]
        time.sleep(0.3)
        with connect(f.port) as s:
            status, headers, body, closed = read_response(s, seconds=10.0)
        assert status == 503 and json.loads(body)["error"] == "too_many_connections" and "retry-after" in headers
        for s in held:
            s.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                r = httpx.post(f.url + "/v1/infer", content=payloads[0], headers=OCTET, timeout=10)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert r.status_code == 200


def test_unreachable_upstream_is_a_json_502(payloads):
    port, dead = free_port(), free_port()
    front = Front("127.0.0.1", port, f"http://127.0.0.1:{dead}", ServeLimits())
    front.start()
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/infer", content=payloads[0], headers=OCTET, timeout=30)
        assert r.status_code == 502 and r.json()["error"] == "upstream_unavailable"
    finally:
        front.stop()
