"""The guarded front of `fsplit-serve --engine ray`: fsplit-serve's own connection layer (protocol.py's h11
protocol: connection cap, header timeout, parser errors as JSON, lingering close; framing.py; the body limits
of plumbing.py) listening on --host:--port, in front of Ray's HTTP proxy, which then listens on loopback only.

A request is forwarded only once its head and whole body have arrived within the limits: slow heads, slow or
huge bodies, idle and surplus connections end here, at the same statuses and JSON errors as `fsplit-serve`, and
never reach Ray. The forwarded request goes over a small pool of keep-alive connections to Ray's proxy; Ray's
answer (the replica's JSON, or Ray's own 503/500) is passed back unchanged. `/healthz` is Ray's (the replica's
counters) with `connections` and `receiving` of this front, where the connection layer now is.

Runs in the `fsplit-serve` process (the Ray driver) on a thread of its own with its own event loop; the
driver's main thread keeps the signal handling (run.py)."""

import asyncio
import logging
import threading

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from ..errors import PayloadTooLargeError, RequestTimeout
from ..limits import ClientGone, PayloadTooLarge, Saturated, ServeLimits, receive_body
from ..plumbing import base_app, check_headers, error_response
from ..protocol import STATS

log = logging.getLogger("fsplit_mobile.serve")

INFER_PATH = "/v1/infer"
CONTENT_TYPE = "application/octet-stream"
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
UPSTREAM_CONNECTIONS = 64  # keep-alive connections to Ray's proxy; more requests wait for one


def create_front(upstream: str, limits: ServeLimits):
    """The front's ASGI app forwarding to Ray's proxy at `upstream` (http://127.0.0.1:PORT)."""
    app = base_app("fsplit-serve (ray front)", "fsplit-serve's connection layer in front of Ray Serve.", limits)
    # /openapi.json and /docs are the replica's (forwarded), not this app's own
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in FASTAPI_OWN]
    client = httpx.AsyncClient(
        base_url=upstream,
        timeout=httpx.Timeout(limits.timeout_s + 5.0, connect=5.0),
        limits=httpx.Limits(max_connections=UPSTREAM_CONNECTIONS, max_keepalive_connections=UPSTREAM_CONNECTIONS),
    )
    app.state.upstream = client
    retry = {"Retry-After": str(limits.retry_after_s)}

    async def read_body(request: Request) -> bytes | JSONResponse:
        """The whole body within --max-payload and --timeout (a body still arriving holds a receiving slot)."""
        try:
            return await asyncio.wait_for(
                receive_body(request.receive, limits.max_payload, app.state.receiving), limits.timeout_s
            )
        except PayloadTooLarge as exc:
            raise PayloadTooLargeError(str(exc)) from exc
        except TimeoutError as exc:
            raise RequestTimeout(f"request body not received within {limits.timeout_s} s") from exc
        except ClientGone as exc:
            return error_response(400, "client_disconnect", str(exc))
        except Saturated as exc:
            return error_response(503, "saturated", str(exc), headers=retry)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def forward(request: Request, path: str):
        if request.method == "POST" and request.url.path == INFER_PATH:
            check_headers(request, limits, (CONTENT_TYPE,))  # 415 / 413 before reading, as fsplit-serve
        else:  # other routes: only the size limit here; the replica answers the rest as fsplit-serve does
            length = request.headers.get("content-length", "0")
            if length.isdigit() and int(length) > limits.max_payload:
                raise PayloadTooLargeError(f"payload of {length} bytes exceeds the limit of {limits.max_payload} bytes")
        body = await read_body(request)
        if isinstance(body, JSONResponse):
            return body
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        try:
            upstream = await client.request(
                request.method, request.url.path, params=request.url.query, content=body, headers=headers
            )
        except httpx.TimeoutException:
            return error_response(504, "timeout", f"Ray did not answer within {limits.timeout_s + 5.0:g} s")
        except httpx.HTTPError as exc:
            log.warning("Ray's proxy is unreachable: %s", exc)
            return error_response(502, "upstream_unavailable", f"Ray Serve's proxy is unreachable: {exc}")
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        content = upstream.content
        if request.url.path == "/healthz" and upstream.status_code == 200:
            try:
                doc = upstream.json()
                doc["connections"] = STATS.as_dict()  # the connection layer is this front's
                doc["receiving"] = app.state.receiving.admitted
                return JSONResponse(doc, headers=out_headers)
            except ValueError:
                pass
        return Response(content, status_code=upstream.status_code, headers=out_headers)

    return app


class Front:
    """The front's uvicorn server (protocol.py's guarded h11) on a thread of its own."""

    def __init__(self, host: str, port: int, upstream: str, limits: ServeLimits, log_level: str = "warning"):
        import uvicorn

        from ..server import prepare_process, uvicorn_config

        prepare_process(limits)
        self.app = create_front(upstream, limits)
        self.server = uvicorn.Server(uvicorn_config(self.app, limits, log_level, host=host, port=port))
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
