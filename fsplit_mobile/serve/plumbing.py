"""HTTP plumbing shared by the split server (app.py) and the offloading baseline (offload.py): a FastAPI app
with the admission gate, worker threads and JSON errors, and the common path of a POST (`admit_and_run`)."""
import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from .errors import PayloadTooLargeError, RequestError, RequestTimeout, UnsupportedMediaType
from .limits import AdmissionGate, PayloadTooLarge, Saturated, ServeLimits, read_body_capped, run_in_slot

log = logging.getLogger("fsplit_mobile.serve")


class ErrorBody(BaseModel):
    error: str
    detail: str


def error_response(status: int, code: str, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def base_app(title: str, summary: str, limits: ServeLimits) -> FastAPI:
    """A FastAPI app whose state holds `limits`, an admission `gate` and a worker-thread `executor`."""
    gate = AdmissionGate(limits.max_concurrency + limits.max_queue)
    executor = ThreadPoolExecutor(max_workers=limits.max_concurrency, thread_name_prefix="fsplit-serve")

    @asynccontextmanager
    async def lifespan(_app):
        yield
        executor.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(title=title, version="1", summary=summary, lifespan=lifespan)
    app.state.limits = limits
    app.state.gate = gate
    app.state.executor = executor

    @app.exception_handler(RequestError)
    async def _request_error(_request, exc: RequestError):
        return error_response(exc.status, exc.code, str(exc))

    @app.exception_handler(Exception)
    async def _internal_error(_request, exc: Exception):
        log.exception("internal error while serving a request")
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")

    return app


async def admit_and_run(request: Request, state, work, content_types: tuple[str, ...], to_json):
    """Headers, admission (503 when full), body under the size and time limits, `work(body)` on a worker
    thread within the remaining time; returns `to_json(result)` with the queue wait added to its timings."""
    limits: ServeLimits = state.limits
    started = time.perf_counter()
    check_headers(request, limits, content_types)
    try:
        slot = state.gate.try_enter()
    except Saturated as exc:
        return error_response(503, "saturated", str(exc), headers={"Retry-After": str(limits.retry_after_s)})
    try:
        body = await asyncio.wait_for(read_body_capped(request.stream(), limits.max_payload), limits.timeout_s)
    except BaseException as exc:
        slot.release()
        if isinstance(exc, PayloadTooLarge):
            raise PayloadTooLargeError(str(exc)) from exc
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            raise RequestTimeout(f"request body not received within {limits.timeout_s} s") from exc
        if isinstance(exc, ClientDisconnect):
            return error_response(400, "client_disconnect", "client went away before sending the whole body")
        raise
    submitted = time.perf_counter()
    remaining = max(limits.timeout_s - (submitted - started), 1e-3)
    try:
        result, ran_at = await run_in_slot(state.executor, slot, _timed, work, body, timeout_s=remaining)
    except (asyncio.TimeoutError, TimeoutError):
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
    return {"requestBody": {"required": True, "description": description,
                            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in content_types}}}
