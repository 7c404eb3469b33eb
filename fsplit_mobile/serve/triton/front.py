"""The guarded front of `fsplit-serve --engine triton`: fsplit-serve's connection layer (serve/front.py) on
--host:--port, tritonserver's HTTP endpoint on loopback behind it. Two APIs on the one port:

- **fsplit-serve's own** (`POST /v1/infer` with the stream container as the body, `GET /healthz`, `GET /v1/model`,
  `/openapi.json`, the same document as fsplit-serve's): each stream becomes one KServe v2 request to the model
  (kserve.py); the answer is fsplit-serve's JSON (the model's, plus `timings_ms.queue_wait`: the round trip to
  Triton less the model's own total, i.e. Triton's queue, batcher and stub hand-over). A stream the model refuses
  comes back with fsplit-serve's status for its code (409 `table_mismatch`, 422 `latent_shape_mismatch`, ...: the
  model's 400 `"<code>: <detail>"` mapped back), its `{"error", "detail"}` body, and admission (503 + Retry-After
  past --max-concurrency + --max-queue requests in flight) and 504 past --timeout are the front's.
- **KServe v2** (`/v2/...`, Triton's own), forwarded unchanged, except that Triton 2.51's HTTP front answers
  requests whose JSON it cannot parse with 500 (it flags its own request-parse errors INTERNAL, before any model
  sees them): those become 400, same body. A model bug ("internal_error: ...") stays 500.

So garbage gets a 4xx on either API, and slow, huge or surplus connections end at the front, never reaching
Triton."""

import time

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse

from .. import errors
from .. import front as guarded
from ..app import CONTENT_TYPE, ERROR_DOCS, InferResponse, add_info_routes
from ..engine import describe_artifact
from ..limits import Saturated, ServeLimits
from ..plumbing import base_app, binary_body_doc, check_headers, error_response, error_responses
from . import kserve

# Triton 2.51's HTTP front: its own request-parse failures, sent as 500 (measured; docs/triton.md)
TRITON_PARSE_ERRORS = (
    "failed to parse the request JSON buffer",
    "Unable to parse '",
    "failed to get request params",
)
KSERVE_JSON_FACTOR = 4  # a UINT8 in a KServe JSON `data` list takes up to 4 bytes ("255,")
KSERVE_HEADER_ALLOWANCE = 64 << 10


def _request_errors(cls=errors.RequestError) -> dict[str, int]:
    out = {cls.code: cls.status}
    for sub in cls.__subclasses__():
        out.update(_request_errors(sub))
    return out


STATUS_OF_CODE = _request_errors()  # fsplit-serve's error code -> its HTTP status


def refusal(status: int, body: bytes) -> JSONResponse:
    """fsplit-serve's answer to the model's (or Triton's) error for a stream sent to /v1/infer."""
    code, detail = kserve.error_code(body)
    if status == 400 and code in STATUS_OF_CODE:  # the model refused the stream: fsplit-serve's status again
        return error_response(STATUS_OF_CODE[code], code, detail)
    if status >= 500 and code == "internal_error":  # a bug in the model (logged by Triton)
        return error_response(500, code, detail)
    message = f"{code}: {detail}" if detail else code
    if status == 503:  # Triton's queue policy refused it
        return error_response(503, "saturated", f"Triton: {message}", headers={"Retry-After": "1"})
    return error_response(502, "upstream_error", f"Triton answered {status}: {message}")


def is_parse_error(status: int, body: bytes) -> bool:
    """Triton's 500 for a KServe request it could not parse (a client error)."""
    if status != 500:
        return False
    code, detail = kserve.error_code(body)
    message = f"{code}: {detail}" if detail else code
    return message.startswith(TRITON_PARSE_ERRORS)


def create_front(upstream: str, artifact_dir, limits: ServeLimits, model: str = "fsplit"):
    """The front's ASGI app for the model `model` of the Triton at `upstream` (http://127.0.0.1:PORT), serving
    `artifact_dir`; the artifact is read for /v1/model and /healthz (manifest and tables: no server model)."""
    info = describe_artifact(artifact_dir)
    app = base_app(
        "fsplit-serve (triton front)",
        "fsplit-serve's API and connection layer in front of NVIDIA Triton serving the split server part.",
        limits,
    )
    client = guarded.upstream_client(upstream, limits)
    app.state.upstream = client
    gate = app.state.gate
    retry = {"Retry-After": str(limits.retry_after_s)}
    infer_path = kserve.infer_path(model)
    what = "Triton"

    async def triton_ready() -> JSONResponse | None:
        ready = await guarded.send_upstream(client, "GET", f"/v2/models/{model}/ready", what=what)
        if isinstance(ready, JSONResponse):
            return ready
        if ready.status_code != 200:
            return error_response(503, "unavailable", f"Triton's model {model} is not ready", headers=retry)
        return None

    add_info_routes(
        app,
        info["model_id"],
        info["table_hash"],
        lambda: {**info, "limits": limits.as_dict(), "engine": {"name": "triton", "model": model}},
        ready=triton_ready,
    )

    @app.post(
        "/v1/infer",
        response_model=InferResponse,
        responses=error_responses(ERROR_DOCS),
        openapi_extra=binary_body_doc(
            "A stream container (docs/formats.md) coded with the served model's tables.", (CONTENT_TYPE,)
        ),
    )
    async def infer(request: Request):
        started = time.perf_counter()
        check_headers(request, limits, (CONTENT_TYPE,))  # 415 / 413 before reading
        stream = await guarded.read_body(request)
        if isinstance(stream, JSONResponse):
            return stream
        try:
            slot = gate.try_enter()
        except Saturated as exc:
            return error_response(503, "saturated", str(exc), headers=retry)
        try:
            remaining = max(limits.timeout_s - (time.perf_counter() - started), 1e-3)
            body, headers = kserve.request_body(stream)
            sent = time.perf_counter()
            got = await client.post(infer_path, content=body, headers=headers, timeout=remaining)
            round_trip_ms = (time.perf_counter() - sent) * 1e3
        except httpx.TimeoutException:
            return error_response(504, "timeout", f"processing took longer than {limits.timeout_s} s")
        except httpx.HTTPError as exc:
            guarded.log.warning("Triton is unreachable: %s", exc)
            return error_response(502, "upstream_unavailable", f"Triton is unreachable: {exc}")
        finally:
            slot.release()
        if got.status_code != 200:
            return refusal(got.status_code, got.content)
        answer = kserve.answer(got.content, got.headers)
        timings = answer["timings_ms"]
        answer["timings_ms"] = {"queue_wait": max(round_trip_ms - timings["total"], 0.0), **timings}
        return answer

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.api_route("/v2/{path:path}", methods=methods, include_in_schema=False)
    @app.api_route("/v2", methods=methods, include_in_schema=False)
    async def kserve_v2(request: Request):
        max_bytes = KSERVE_JSON_FACTOR * limits.max_payload + KSERVE_HEADER_ALLOWANCE
        guarded.check_length(request, max_bytes)
        body = await guarded.read_body(request, max_bytes)
        if isinstance(body, JSONResponse):
            return body
        upstream = await guarded.send_upstream(
            client,
            request.method,
            request.url.path,
            what=what,
            params=request.url.query,
            content=body,
            headers=guarded.forwarded_headers(request),
        )
        if isinstance(upstream, JSONResponse):
            return upstream
        answer = guarded.passthrough(upstream)
        if is_parse_error(upstream.status_code, upstream.content):
            answer.status_code = 400  # Triton's INTERNAL for its own parse failures: the client's fault
        return answer

    return app


class Front(guarded.Front):
    """The Triton front's uvicorn server (protocol.py's guarded h11) on a thread of its own."""

    def __init__(
        self,
        host: str,
        port: int,
        upstream: str,
        artifact_dir,
        limits: ServeLimits,
        model: str = "fsplit",
        log_level: str = "warning",
    ):
        super().__init__(host, port, create_front(upstream, artifact_dir, limits, model), limits, log_level)
