"""fsplit-serve's connection layer as the ingress of another HTTP server (Ray Serve's proxy: ray/front.py; Triton's
HTTP endpoint: triton/front.py). The front's uvicorn server runs protocol.py's guarded h11 protocol (connection
cap, header timeout, parser errors as JSON, lingering close) and framing.py's checks; a request's body is read
here within the limits of plumbing.py (size, time, bodies arriving at once) before anything is sent upstream, so
slow heads, slow or huge bodies, idle and surplus connections end at the front with fsplit-serve's statuses and
JSON errors. What passes goes over a small pool of keep-alive connections to the upstream on loopback.

The front runs on a thread of its own with its own event loop (the process's main thread keeps the signal
handling of the CLI that started it)."""

import asyncio
import logging
import threading

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from .errors import PayloadTooLargeError, RequestTimeout
from .limits import ClientGone, PayloadTooLarge, Saturated, ServeLimits, receive_body
from .plumbing import error_response

log = logging.getLogger("fsplit_mobile.serve")

# not forwarded in either direction (RFC 9110 7.6.1: connection-specific), besides what httpx/uvicorn set
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
FASTAPI_OWN = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
UPSTREAM_CONNECTIONS = 64  # keep-alive connections to the upstream; more requests wait for one
UPSTREAM_GRACE_S = 5.0  # the upstream's own --timeout plus this before the front answers 504


def upstream_client(upstream: str, limits: ServeLimits) -> httpx.AsyncClient:
    """The keep-alive pool to `upstream` (http://127.0.0.1:PORT)."""
    return httpx.AsyncClient(
        base_url=upstream,
        timeout=httpx.Timeout(limits.timeout_s + UPSTREAM_GRACE_S, connect=5.0),
        limits=httpx.Limits(max_connections=UPSTREAM_CONNECTIONS, max_keepalive_connections=UPSTREAM_CONNECTIONS),
    )


def check_length(request: Request, max_bytes: int) -> None:
    """413 before reading when the declared Content-Length exceeds `max_bytes`."""
    length = request.headers.get("content-length", "0")
    if length.isdigit() and int(length) > max_bytes:
        raise PayloadTooLargeError(f"payload of {length} bytes exceeds the limit of {max_bytes} bytes")


async def read_body(request: Request, max_bytes: int | None = None) -> bytes | JSONResponse:
    """The whole body within `max_bytes` (default --max-payload) and --timeout; a body still arriving holds a
    slot of the app's `receiving` gate. 413/408 raised as fsplit-serve's errors; a client gone (400) or no
    receiving slot (503 + Retry-After) come back as the response to send."""
    state = request.app.state
    limits: ServeLimits = state.limits
    try:
        return await asyncio.wait_for(
            receive_body(request.receive, max_bytes or limits.max_payload, state.receiving), limits.timeout_s
        )
    except PayloadTooLarge as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    except TimeoutError as exc:
        raise RequestTimeout(f"request body not received within {limits.timeout_s} s") from exc
    except ClientGone as exc:
        return error_response(400, "client_disconnect", str(exc))
    except Saturated as exc:
        return error_response(503, "saturated", str(exc), headers={"Retry-After": str(limits.retry_after_s)})


def forwarded_headers(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]


async def send_upstream(
    client: httpx.AsyncClient, method: str, path: str, *, what: str, **kwargs
) -> httpx.Response | JSONResponse:
    """The upstream's answer, or fsplit-serve's JSON 504 (no answer in time) / 502 (unreachable)."""
    try:
        return await client.request(method, path, **kwargs)
    except httpx.TimeoutException:
        timeout = kwargs.get("timeout", client.timeout)
        seconds = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
        return error_response(504, "timeout", f"{what} did not answer within {seconds or 0.0:g} s")
    except httpx.HTTPError as exc:
        log.warning("%s is unreachable: %s", what, exc)
        return error_response(502, "upstream_unavailable", f"{what} is unreachable: {exc}")


def answer_headers(upstream: httpx.Response) -> dict[str, str]:
    """The upstream answer's headers to pass on: not the hop-by-hop ones, nor its content coding (httpx has
    decoded a gzip/deflate body; Triton compresses when the client accepts it), so the body goes out as identity."""
    return {
        k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "content-encoding"
    }


def passthrough(upstream: httpx.Response) -> Response:
    """The upstream's answer, unchanged but for answer_headers."""
    return Response(upstream.content, status_code=upstream.status_code, headers=answer_headers(upstream))


class Front:
    """A front's ASGI app served by uvicorn with protocol.py's guarded h11, on a thread of its own."""

    def __init__(self, host: str, port: int, app, limits: ServeLimits, log_level: str = "warning"):
        import uvicorn

        from .server import prepare_process, uvicorn_config

        prepare_process(limits)
        self.app = app
        self.server = uvicorn.Server(uvicorn_config(app, limits, log_level, host=host, port=port))
        self.thread = threading.Thread(target=self._run, name="fsplit-front", daemon=True)
        self.error: BaseException | None = None

    def _run(self):
        try:
            self.server.run()  # not the main thread: uvicorn installs no signal handlers here
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc

    def start(self, timeout_s: float = 30.0) -> None:
        """Start listening; raises if the port cannot be bound."""
        self.thread.start()
        waited = 0.0
        while not self.server.started and self.thread.is_alive() and waited < timeout_s:
            self.thread.join(0.05)
            waited += 0.05
        if not self.server.started:
            self.stop()
            raise OSError(f"the front did not start listening: {self.error or 'see the log above'}")

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout_s)


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (for the upstream behind a front)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
