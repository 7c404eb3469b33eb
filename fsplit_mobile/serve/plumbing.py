"""HTTP plumbing shared by the split server (app.py) and the offloading baseline (offload.py): a FastAPI app
with the admission gates, worker threads and JSON errors, and the common path of a POST (`admit_and_run`).

Connection-level limits (connection cap, header timeout, parser errors, lingering close) live in protocol.py,
framing checks in framing.py; the engine (decode + tail) knows nothing of HTTP."""

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import PayloadTooLargeError, RequestError, RequestTimeout, UnsupportedMediaType
from .framing import FramingMiddleware
from .limits import AdmissionGate, ClientGone, PayloadTooLarge, Saturated, ServeLimits, receive_body, run_in_slot

log = logging.getLogger("fsplit_mobile.serve")


class ErrorBody(BaseModel):
    error: str
    detail: str


# Errors any route can get from the connection layer (protocol.py, framing.py) or a bug.
CONNECTION_ERRORS = {
    400: "malformed or ambiguous HTTP framing (Content-Length, Transfer-Encoding, chunk sizes)",
    408: "request head not complete within the header timeout",
    431: "request head larger than the parser accepts",
    500: "a bug in the server (logged with its traceback)",
    501: "a Transfer-Encoding other than chunked",
    503: "too many open connections: retry after the Retry-After header's seconds",
}
RETRY_AFTER_DOC = {"description": "seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}
CONNECTION_DOC = {
    "description": "`close` when the server ends the connection after this answer (an error "
    "sent before the request body was read)",
    "schema": {"type": "string", "enum": ["close"]},
}


def error_responses(docs: dict[int, str]) -> dict:
    """FastAPI `responses=` for these error statuses: the ErrorBody schema, Retry-After on 503, Connection."""
    out = {}
    for status, description in sorted(docs.items()):
        headers = {"Connection": CONNECTION_DOC}
        if status == 503:
            headers["Retry-After"] = RETRY_AFTER_DOC
        out[status] = {"model": ErrorBody, "description": description, "headers": headers}
    return out


def error_response(status: int, code: str, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def base_app(title: str, summary: str, limits: ServeLimits) -> FastAPI:
    """A FastAPI app whose state holds `limits`, an admission `gate`, a `receiving` gate (bodies still
    arriving) and a worker-thread `executor`."""
    gate = AdmissionGate(limits.max_concurrency + limits.max_queue)
    receiving = AdmissionGate(limits.max_receiving, "request bodies arriving")
    executor = ThreadPoolExecutor(max_workers=limits.max_concurrency, thread_name_prefix="fsplit-serve")

    @asynccontextmanager
    async def lifespan(_app):
        yield
        executor.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(title=title, version="1", summary=summary, lifespan=lifespan)
    app.state.limits = limits
    app.state.gate = gate
    app.state.receiving = receiving
    app.state.executor = executor
    app.add_middleware(FramingMiddleware)

    @app.exception_handler(RequestError)
    async def _request_error(_request, exc: RequestError):
        return error_response(exc.status, exc.code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request, exc: StarletteHTTPException):  # 404, 405: the same JSON as every error
        code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal_error(_request, exc: Exception):
        log.exception("internal error while serving a request")
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")

    return app


HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}


async def admit_and_run(request: Request, state, work, content_types: tuple[str, ...], to_json):
    """Headers, body under the size and time limits (a body still arriving holds a `receiving` slot, never a
    compute slot), admission (503 when full), `work(body)` on a worker thread within the remaining time;
    returns `to_json(result)` with the queue wait added to its timings."""
    limits: ServeLimits = state.limits
    started = time.perf_counter()
    check_headers(request, limits, content_types)
    retry = {"Retry-After": str(limits.retry_after_s)}
    try:
        body = await asyncio.wait_for(
            receive_body(request.receive, limits.max_payload, state.receiving), limits.timeout_s
        )
    except PayloadTooLarge as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    except TimeoutError as exc:
        raise RequestTimeout(f"request body not received within {limits.timeout_s} s") from exc
    except ClientGone as exc:
        return error_response(400, "client_disconnect", str(exc))
    except Saturated as exc:
        return error_response(503, "saturated", str(exc), headers=retry)
    try:
        slot = state.gate.try_enter()
    except Saturated as exc:
        return error_response(503, "saturated", str(exc), headers=retry)
    submitted = time.perf_counter()
    remaining = max(limits.timeout_s - (submitted - started), 1e-3)
    try:
        result, ran_at = await run_in_slot(state.executor, slot, _timed, work, body, timeout_s=remaining)
    except TimeoutError:
        return error_response(504, "timeout", f"processing took longer than {limits.timeout_s} s")
    except RequestError:
        raise
    except Exception as exc:  # a bug: answered here so the connection stays usable (Starlette would re-raise)
        log.exception("internal error while serving a request")
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")
    out = to_json(result)
    out["timings_ms"] = {"queue_wait": (ran_at - submitted) * 1e3, **out["timings_ms"]}
    return out


def _timed(work, body: bytes):
    ran_at = time.perf_counter()
    return work(body), ran_at


def check_headers(request: Request, limits: ServeLimits, content_types: tuple[str, ...]):
    ctype = request.headers.get("content-type")
    if ctype is not None and ctype.split(";")[0].strip().lower() not in content_types:
        raise UnsupportedMediaType(f"content type must be one of {', '.join(content_types)}, got {ctype!r}")
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise RequestError(f"invalid Content-Length {length!r}") from None
        if n > limits.max_payload:
            raise PayloadTooLargeError(f"payload of {n} bytes exceeds the limit of {limits.max_payload} bytes")


def binary_body_doc(description: str, content_types: tuple[str, ...]) -> dict:
    """openapi_extra for a route whose body is raw bytes."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in content_types},
        }
    }
