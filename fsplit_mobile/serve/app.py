"""The HTTP app of `fsplit-serve`, bound to one artifact folder.

POST /v1/infer   body: a stream container (application/octet-stream) -> top-5 classes + timings (JSON)
GET  /healthz    liveness, model identity, load of the admission gate
GET  /v1/model   what is served (model id, target, quantisation, table hash, latent shape)
GET  /openapi.json, /docs

Status codes (docs/serve.md): 400 empty/corrupt/truncated stream, 408 body not received in time, 409 stream
coded with other tables, 413 payload over the limit, 415 content type other than application/octet-stream,
422 latent shape the server part cannot take, 503 saturated (Retry-After), 504 processing over the timeout,
500 a bug (logged; the process goes on).
"""
import asyncio
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from .engine import ServerEngine
from .errors import PayloadTooLargeError, RequestError, RequestTimeout, UnsupportedMediaType
from .limits import AdmissionGate, PayloadTooLarge, Saturated, ServeLimits, read_body_capped, run_in_slot

log = logging.getLogger("fsplit_mobile.serve")

CONTENT_TYPE = "application/octet-stream"
CONFIG_ENV = "FSPLIT_SERVE_CONFIG"


class ClassScore(BaseModel):
    index: int
    label: str
    score: float


class StageTimings(BaseModel):
    queue_wait: float
    parse: float
    decode: float
    dequant_tail: float
    total: float


class InferResponse(BaseModel):
    model_id: str
    table_hash: str
    top5: list[ClassScore]
    payload_bytes: int
    latent_shape: list[int]
    timings_ms: StageTimings


class ErrorBody(BaseModel):
    error: str
    detail: str


class Health(BaseModel):
    status: str
    model_id: str
    table_hash: str
    admitted: int
    capacity: int
    refused: int


def _error(status: int, code: str, detail: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


_ERROR_DOCS = {
    400: "empty, corrupt or truncated stream container",
    408: "request body not received within the timeout",
    409: "stream coded with other codec tables than the served model's",
    413: "payload larger than --max-payload",
    415: "content type is not application/octet-stream",
    422: "latent shape the server part cannot take",
    503: "saturated: retry after the Retry-After header's seconds",
    504: "processing took longer than the timeout",
}


def create_app(artifact_dir=None, *, engine: ServerEngine | None = None, limits: ServeLimits | None = None,
               intra_op_threads: int = 0) -> FastAPI:
    """An app serving `artifact_dir` (or an already loaded `engine`). Loads the model now: errors surface early."""
    if engine is None:
        if artifact_dir is None:
            raise ValueError("create_app needs artifact_dir or engine")
        engine = ServerEngine(artifact_dir, intra_op_threads=intra_op_threads)
    limits = limits or ServeLimits()
    gate = AdmissionGate(limits.max_concurrency + limits.max_queue)
    executor = ThreadPoolExecutor(max_workers=limits.max_concurrency, thread_name_prefix="fsplit-serve")

    @asynccontextmanager
    async def lifespan(_app):
        yield
        executor.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(
        title="fsplit-serve",
        version="1",
        summary="Split computing server: decode a FrankenSplit-style bitstream and finish the network.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.limits = limits
    app.state.gate = gate

    @app.exception_handler(RequestError)
    async def _request_error(_request, exc: RequestError):
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(Exception)
    async def _internal_error(_request, exc: Exception):
        log.exception("internal error while serving a request")
        return _error(500, "internal_error", f"{type(exc).__name__}: {exc}")

    @app.get("/healthz", response_model=Health)
    async def healthz():
        return Health(status="ok", model_id=engine.model_id, table_hash=engine.table_hash,
                      admitted=gate.admitted, capacity=gate.capacity, refused=gate.refused)

    @app.get("/v1/model")
    async def model_info():
        return {**engine.describe(), "limits": limits.as_dict()}

    @app.post(
        "/v1/infer",
        response_model=InferResponse,
        responses={s: {"model": ErrorBody, "description": d} for s, d in _ERROR_DOCS.items()},
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A stream container (docs/formats.md) coded with the served model's tables.",
                "content": {CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def infer(request: Request):
        started = time.perf_counter()
        _check_headers(request, limits)
        try:
            slot = gate.try_enter()
        except Saturated as exc:
            return _error(503, "saturated", str(exc), headers={"Retry-After": str(limits.retry_after_s)})
        try:
            body = await asyncio.wait_for(read_body_capped(request.stream(), limits.max_payload), limits.timeout_s)
        except BaseException as exc:
            slot.release()
            if isinstance(exc, PayloadTooLarge):
                raise PayloadTooLargeError(str(exc)) from exc
            if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
                raise RequestTimeout(f"request body not received within {limits.timeout_s} s") from exc
            if isinstance(exc, ClientDisconnect):
                return _error(400, "client_disconnect", "client went away before sending the whole body")
            raise
        submitted = time.perf_counter()
        remaining = max(limits.timeout_s - (submitted - started), 1e-3)
        try:
            result, ran_at = await run_in_slot(executor, slot, _timed_infer, engine, body, timeout_s=remaining)
        except (asyncio.TimeoutError, TimeoutError):
            return _error(504, "timeout", f"processing took longer than {limits.timeout_s} s")
        out = result.to_json(engine.model_id, engine.table_hash)
        out["timings_ms"] = {"queue_wait": (ran_at - submitted) * 1e3, **out["timings_ms"]}
        return out

    return app


def _timed_infer(engine: ServerEngine, body: bytes):
    ran_at = time.perf_counter()
    return engine.infer(body), ran_at


def _check_headers(request: Request, limits: ServeLimits):
    ctype = request.headers.get("content-type")
    if ctype is not None and ctype.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise UnsupportedMediaType(f"content type must be {CONTENT_TYPE}, got {ctype!r}")
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise RequestError(f"invalid Content-Length {length!r}") from None
        if n > limits.max_payload:
            raise PayloadTooLargeError(f"payload of {n} bytes exceeds the limit of {limits.max_payload} bytes")


# -- uvicorn with several worker processes imports the app by name: the settings travel in an env variable --

def config_to_env(artifact_dir, limits: ServeLimits, intra_op_threads: int = 0) -> str:
    return json.dumps({"artifact": str(artifact_dir), "limits": limits.as_dict(), "intra_op_threads": intra_op_threads})


def app_from_env() -> FastAPI:
    """App factory for `uvicorn --factory fsplit_mobile.serve.app:app_from_env` (reads FSPLIT_SERVE_CONFIG)."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{CONFIG_ENV} is not set")
    cfg = json.loads(raw)
    return create_app(cfg["artifact"], limits=ServeLimits(**cfg["limits"]),
                      intra_op_threads=cfg.get("intra_op_threads", 0))
