"""Hostile clients against a real server on loopback (raw sockets): malformed and ambiguous framing, silent and
slow-header connections, too many connections, huge declared bodies, stalled senders. Every answer is the
documented JSON error, the connection ends when the body is not read, and valid requests keep working."""

import json
import threading
import time

import httpx
import pytest

from fsplit_mobile.client import SplitClient
from fsplit_mobile.serve.app import create_app
from fsplit_mobile.serve.limits import ServeLimits
from fsplit_mobile.serve.logfilter import RateLimitFilter
from fsplit_mobile.serve.protocol import FD_RESERVE, LINGER_BYTES, READ_CHUNK, STATS, effective_max_connections
from serve_support import (
    FRAMING_CASES,
    HEAD,
    ThreadedServer,
    build_tiny_artifact,
    closed_by_server,
    connect,
    random_images,
    read_response,
    send_until_closed,
)

OCTET = {"content-type": "application/octet-stream"}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return build_tiny_artifact(tmp_path_factory.mktemp("hostile") / "a")


@pytest.fixture(scope="module")
def payloads(artifact):
    with SplitClient(artifact, "http://unused") as client:
        return [client.encode(img)[0] for img in random_images(4, seed=9)]


def test_malformed_and_ambiguous_framing_gets_json_and_close(artifact, payloads):
    app = create_app(artifact, limits=ServeLimits(max_payload=4096))
    with ThreadedServer(app) as srv:
        for raw, want in FRAMING_CASES:
            with connect(srv.port) as s:
                s.sendall(raw.encode())
                status, headers, body, closed = read_response(s)
            doc = json.loads(body)
            assert (status, headers["content-type"]) == (want, "application/json"), (raw[-60:], status, body)
            assert doc["error"] and doc["detail"], doc
            assert headers.get("connection") == "close" and closed, raw[-60:]
        r = httpx.post(srv.url + "/v1/infer", content=payloads[0], headers=OCTET)
        assert r.status_code == 200
        r = httpx.get(srv.url + "/nowhere")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = httpx.delete(srv.url + "/v1/infer")
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed" and "POST" in r.headers["allow"]


def test_silent_and_slow_header_connections_are_closed(artifact, payloads):
    limits = ServeLimits(header_timeout_s=0.6, keep_alive_s=0.6)
    with ThreadedServer(create_app(artifact, limits=limits)) as srv:
        silent = [connect(srv.port) for _ in range(20)]
        t0 = time.monotonic()
        assert all(closed_by_server(s, 3.0) for s in silent)  # closed without a word
        assert time.monotonic() - t0 < 2.5
        for s in silent:
            s.close()
        with connect(srv.port) as s:  # 1 byte every 0.1 s: the deadline does not move
            t0 = time.monotonic()
            for ch in "POST /v1/infer HTTP/1.1\r\nHost: x\r\n"[:12]:
                s.sendall(ch.encode())
                time.sleep(0.1)
            status, headers, body, closed = read_response(s)
            assert status == 408 and json.loads(body)["error"] == "header_timeout" and closed
            assert time.monotonic() - t0 < 2.0
        with connect(srv.port) as s:  # keep-alive: idle after a response is closed too
            s.sendall(f"{HEAD}Content-Length: {len(payloads[0])}\r\n\r\n".encode() + payloads[0])
            status, _, _, closed = read_response(s, seconds=3.0)
            assert status == 200 and closed


def test_valid_requests_are_served_among_idle_and_slow_header_connections(artifact, payloads):
    """200 silent sockets and 10 slow-header senders stay open meanwhile; every valid request gets its 200 and
    /healthz answers (the latency under a 1,000-connection attack is measured in benchmarks/attack)."""
    limits = ServeLimits(header_timeout_s=30)
    refused_before = STATS.refused_over_cap
    with ThreadedServer(create_app(artifact, limits=limits)) as srv:
        idle = [connect(srv.port) for _ in range(200)]
        slow = [connect(srv.port) for _ in range(10)]
        head = HEAD.encode()
        statuses = []
        with httpx.Client(timeout=10) as http:
            for i in range(30):
                for s in slow:
                    s.sendall(head[i : i + 1])
                statuses.append(http.post(srv.url + "/v1/infer", content=payloads[i % 4], headers=OCTET).status_code)
            health = http.get(srv.url + "/healthz").json()
        assert statuses == [200] * 30
        assert health["connections"]["open"] >= 211 and health["connections"]["refused_over_cap"] == refused_before
        for s in idle + slow:
            s.close()


def test_connection_cap_answers_503_and_recovers(artifact):
    limits = ServeLimits(max_connections=20, header_timeout_s=30)
    with ThreadedServer(create_app(artifact, limits=limits)) as srv:
        held = [connect(srv.port) for _ in range(20)]
        time.sleep(0.3)
        with connect(srv.port) as s:
            status, headers, body, closed = read_response(s)
        assert status == 503 and json.loads(body)["error"] == "too_many_connections" and closed
        assert headers["retry-after"] == "1"
        for s in held:
            s.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the closes are noticed by the server asynchronously
            try:
                if httpx.get(srv.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert httpx.get(srv.url + "/healthz").status_code == 200


def test_file_limit_is_raised_where_allowed():
    """In a child whose soft limit is 256 under a hard limit of 4096: raised to what is asked (never past hard)."""
    import subprocess
    import sys

    code = (
        "import resource; from fsplit_mobile.serve.protocol import raise_nofile_limit; "
        "print(raise_nofile_limit(3000), raise_nofile_limit(10 ** 6))"
    )

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096))

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit, timeout=60)
    assert out.stdout.split() == ["(256,", "3000)", "(3000,", "4096)"], out


def test_connection_cap_follows_the_file_limit():
    assert effective_max_connections(ServeLimits(max_connections=2048), nofile_soft=256) == 256 - FD_RESERVE
    assert effective_max_connections(ServeLimits(max_connections=100), nofile_soft=1 << 20) == 100


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_huge_body_is_refused_with_little_reading(artifact, payloads, framing):
    """A declared 10^12-byte body (or an endless chunked one) costs the server < 1 MB of reading."""
    limits = ServeLimits(max_payload=4096)
    with ThreadedServer(create_app(artifact, limits=limits)) as srv:
        httpx.get(srv.url + "/healthz")  # warm
        before = STATS.bytes_read
        with connect(srv.port, timeout=2.0) as s:
            if framing == "content-length":
                s.sendall(f"{HEAD}Content-Length: {10**12}\r\n\r\n".encode())
                block = b"\0" * 65536
            else:
                s.sendall(f"{HEAD}Transfer-Encoding: chunked\r\n\r\n".encode())
                block = b"10000\r\n" + b"\0" * 65536 + b"\r\n"  # endless 64 KiB chunks
            result = {}
            sender = threading.Thread(target=lambda: result.update(sent=send_until_closed(s, block, 256 << 20, 8.0)))
            sender.start()
            status, headers, body, _ = read_response(s, seconds=5.0)
            sender.join(10)
        server_read = STATS.bytes_read - before  # bytes the server took from its sockets
        assert status == 413 and headers.get("connection") == "close", (status, headers, body)
        assert json.loads(body)["error"] == "payload_too_large"
        assert result["sent"] > server_read > 0  # the client pushed more than was read: reading stopped
        if framing == "content-length":  # refused from the header: only what arrived with it and the linger
            assert server_read < (1 << 20), (server_read, result)
        else:  # a chunked body must be read up to the limit to know it is too large
            assert server_read < limits.max_payload + LINGER_BYTES + 3 * READ_CHUNK, (server_read, result)
        r = httpx.post(srv.url + "/v1/infer", content=payloads[0], headers=OCTET)
        assert r.status_code == 200


def test_stalled_senders_do_not_cost_valid_requests_a_slot(artifact, payloads):
    """Six connections that send 10 bytes of a body and stall, against 2 running + 4 queued slots: valid
    requests all get 200; the stalled ones get 408 with Connection: close after --timeout."""
    limits = ServeLimits(max_concurrency=2, max_queue=4, timeout_s=2.0)
    with ThreadedServer(create_app(artifact, limits=limits)) as srv:
        stalled = []
        for _ in range(6):
            s = connect(srv.port)
            s.sendall(f"{HEAD}Content-Length: 500\r\n\r\n".encode() + b"FSCL" + b"\0" * 6)
            stalled.append(s)
        time.sleep(0.3)
        with httpx.Client(timeout=10) as http:
            statuses = [
                http.post(srv.url + "/v1/infer", content=payloads[i % 4], headers=OCTET).status_code for i in range(20)
            ]
            assert statuses == [200] * 20
            assert http.get(srv.url + "/healthz").json()["admitted"] == 0
        for s in stalled:
            status, headers, body, closed = read_response(s, seconds=5.0)
            assert status == 408 and headers.get("connection") == "close" and closed
            s.close()


def test_bodies_arriving_are_bounded_by_their_own_count(artifact, payloads):
    limits = ServeLimits(max_receiving=2, timeout_s=3.0)
    with ThreadedServer(create_app(artifact, limits=limits)) as srv:
        slow = []
        for _ in range(3):
            s = connect(srv.port)
            s.sendall(f"{HEAD}Content-Length: 500\r\n\r\n".encode() + b"\0" * 10)
            time.sleep(0.1)
            s.sendall(b"\0" * 10)  # a second piece: the body is now "arriving" and holds a receiving slot
            slow.append(s)
        time.sleep(0.3)
        status, headers, body, closed = read_response(slow[2])
        assert status == 503 and json.loads(body)["error"] == "saturated" and "arriving" in json.loads(body)["detail"]
        assert headers["retry-after"] and closed
        r = httpx.post(srv.url + "/v1/infer", content=payloads[0], headers=OCTET)  # complete at once: no slot
        assert r.status_code == 200
        for s in slow:
            s.close()


def test_rate_limit_filter_bounds_a_flood():
    import logging

    now = [0.0]
    f = RateLimitFilter(burst=3, window_s=10.0, total=5, clock=lambda: now[0])

    def rec(msg):
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, msg, None, None)

    passed = [f.filter(rec("accept failed")) for _ in range(1000)]
    assert sum(passed) == 3
    first_other = rec("other -1")
    assert f.filter(first_other) and "997 log records dropped" in first_other.getMessage()
    assert sum(f.filter(rec(f"other {i}")) for i in range(100)) == 1  # 5 in all per window
    now[0] = 11.0
    r = rec("accept failed")
    assert f.filter(r) and "99 log records dropped" in r.getMessage()
