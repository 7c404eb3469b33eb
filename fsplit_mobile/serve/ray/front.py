"""The guarded front of `fsplit-serve --engine ray`: fsplit-serve's own connection layer (serve/front.py:
protocol.py's h11 protocol, framing.py, the body limits of plumbing.py) listening on --host:--port, in front of
Ray's HTTP proxy, which then listens on loopback only.

A request is forwarded only once its head and whole body have arrived within the limits: slow heads, slow or
huge bodies, idle and surplus connections end here, at the same statuses and JSON errors as `fsplit-serve`, and
never reach Ray. The forwarded request goes over a small pool of keep-alive connections to Ray's proxy; Ray's
answer (the replica's JSON, or Ray's own 503/500) is passed back unchanged. `/healthz` is Ray's (the replica's
counters) with `connections` and `receiving` of this front, where the connection layer now is.

Runs in the `fsplit-serve` process (the Ray driver) on a thread of its own with its own event loop; the
driver's main thread keeps the signal handling (run.py)."""

from fastapi import Request
from fastapi.responses import JSONResponse

from .. import front as guarded
from ..limits import ServeLimits
from ..plumbing import base_app, check_headers
from ..protocol import STATS

INFER_PATH = "/v1/infer"
CONTENT_TYPE = "application/octet-stream"


def create_front(upstream: str, limits: ServeLimits):
    """The front's ASGI app forwarding to Ray's proxy at `upstream` (http://127.0.0.1:PORT)."""
    app = base_app("fsplit-serve (ray front)", "fsplit-serve's connection layer in front of Ray Serve.", limits)
    # /openapi.json and /docs are the replica's (forwarded), not this app's own
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) not in guarded.FASTAPI_OWN]
    client = guarded.upstream_client(upstream, limits)
    app.state.upstream = client

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def forward(request: Request, path: str):
        if request.method == "POST" and request.url.path == INFER_PATH:
            check_headers(request, limits, (CONTENT_TYPE,))  # 415 / 413 before reading, as fsplit-serve
        else:  # other routes: only the size limit here; the replica answers the rest as fsplit-serve does
            guarded.check_length(request, limits.max_payload)
        body = await guarded.read_body(request)
        if isinstance(body, JSONResponse):
            return body
        upstream = await guarded.send_upstream(
            client,
            request.method,
            request.url.path,
            what="Ray Serve's proxy",
            params=request.url.query,
            content=body,
            headers=guarded.forwarded_headers(request),
        )
        if isinstance(upstream, JSONResponse):
            return upstream
        if request.url.path == "/healthz" and upstream.status_code == 200:
            try:
                doc = upstream.json()
                doc["connections"] = STATS.as_dict()  # the connection layer is this front's
                doc["receiving"] = app.state.receiving.admitted
                return JSONResponse(doc, headers=guarded.answer_headers(upstream))
            except ValueError:
                pass
        return guarded.passthrough(upstream)

    return app


class Front(guarded.Front):
    """The Ray front's uvicorn server (protocol.py's guarded h11) on a thread of its own."""

    def __init__(self, host: str, port: int, upstream: str, limits: ServeLimits, log_level: str = "warning"):
        super().__init__(host, port, create_front(upstream, limits), limits, log_level)
