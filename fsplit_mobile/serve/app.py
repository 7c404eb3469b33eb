"""The HTTP app of `fsplit-serve`, bound to one artifact folder.

POST /v1/infer   body: a stream container (application/octet-stream) -> top-5 classes + timings (JSON)
GET  /healthz    liveness, model identity, load of the admission gate
GET  /v1/model   what is served (model id, target, quantisation, table hash, latent shape, limits)
GET  /openapi.json, /docs

Status codes (docs/serve.md): 400 empty/corrupt/truncated stream or malformed/ambiguous HTTP framing, 408 body
or request head not received in time, 409 stream coded with other tables or naming an unknown rate point, 413 payload over the limit, 415 content
type other than application/octet-stream, 422 latent shape the server part cannot take, 431 request head too
large, 501 unsupported Transfer-Encoding, 503 saturated or too many connections (Retry-After), 504 processing
over the timeout, 500 a bug (logged; the process goes on). Every error is the JSON `ErrorBody`.
"""

import json
import os
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

from .engine import ServerEngine
from .limits import ServeLimits
from .plumbing import CONNECTION_ERRORS, admit_and_run, base_app, binary_body_doc, error_responses
from .protocol import STATS

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
    total: float  # wall clock, parse through top-5
    cpu: float  # CPU time of the thread over the same span (total minus waiting for a CPU)


class InferResponse(BaseModel):
    model_id: str
    table_hash: str  # of the rate point that decoded the stream
    rate_point: int = 0  # the container header's rate point index
    top5: list[ClassScore]
    payload_bytes: int
    latent_shape: list[int]
    timings_ms: StageTimings


class Health(BaseModel):
    status: str
    model_id: str
    table_hash: str
    admitted: int
    capacity: int
    refused: int
    receiving: int
    connections: dict[str, int]  # this process's connection layer (protocol.ConnectionStats)


ERROR_DOCS = {
    **CONNECTION_ERRORS,
    400: "empty, corrupt or truncated stream container; malformed or ambiguous HTTP framing",
    408: "request body (or head) not received within the timeout",
    409: "stream coded with other codec tables than the served model's (table_mismatch), or naming a rate point "
    "the served artifact does not have (unknown_rate_point)",
    413: "payload larger than --max-payload",
    415: "content type is not application/octet-stream",
    422: "latent shape the server part cannot take",
    503: "saturated (compute slots, bodies arriving or connections): retry after the Retry-After header's seconds",
    504: "processing took longer than the timeout",
}


def add_info_routes(
    app: FastAPI,
    model_id: str,
    table_hash: str,
    describe: Callable[[], dict],
    ready: Callable[[], Awaitable[Response | None]] | None = None,
) -> None:
    """GET /healthz and GET /v1/model of fsplit-serve's API on `app` (a plumbing.base_app: its admission gate,
    receiving gate and limits), for fsplit-serve itself and for a front whose engine runs elsewhere
    (triton/front.py). `describe()`: /v1/model's document. `ready`: awaited first by /healthz; a response it
    returns (the engine behind a front is not ready) is the answer instead of the health document."""
    gate = app.state.gate

    @app.get("/healthz", response_model=Health, responses=error_responses(CONNECTION_ERRORS))
    async def healthz():
        if ready is not None:
            refusal = await ready()
            if refusal is not None:
                return refusal
        return Health(
            status="ok",
            model_id=model_id,
            table_hash=table_hash,
            admitted=gate.admitted,
            capacity=gate.capacity,
            refused=gate.refused,
            receiving=app.state.receiving.admitted,
            connections=STATS.as_dict(),
        )

    @app.get("/v1/model", responses=error_responses(CONNECTION_ERRORS))
    async def model_info():
        return describe()


def create_app(
    artifact_dir=None,
    *,
    engine: ServerEngine | None = None,
    limits: ServeLimits | None = None,
    intra_op_threads: int = 0,
) -> FastAPI:
    """An app serving `artifact_dir` (or an already loaded `engine`). Loads the model now: errors surface early."""
    if engine is None:
        if artifact_dir is None:
            raise ValueError("create_app needs artifact_dir or engine")
        engine = ServerEngine(artifact_dir, intra_op_threads=intra_op_threads)
    limits = limits or ServeLimits()
    app = base_app(
        "fsplit-serve",
        "Split computing server: decode a FrankenSplit-style bitstream with the C coder and finish the network.",
        limits,
    )
    app.state.engine = engine
    add_info_routes(app, engine.model_id, engine.table_hash, lambda: {**engine.describe(), "limits": limits.as_dict()})

    @app.post(
        "/v1/infer",
        response_model=InferResponse,
        responses=error_responses(ERROR_DOCS),
        openapi_extra=binary_body_doc(
            "A stream container (docs/formats.md) coded with the served model's tables.", (CONTENT_TYPE,)
        ),
    )
    async def infer(request: Request):
        return await admit_and_run(
            request, app.state, engine.infer, (CONTENT_TYPE,), lambda r: r.to_json(engine.model_id, engine.table_hash)
        )

    return app


# -- worker processes (supervisor.py) build the app themselves: the settings travel in an env variable --


def config_to_env(artifact_dir, limits: ServeLimits, intra_op_threads: int = 0) -> str:
    return json.dumps({"artifact": str(artifact_dir), "limits": limits.as_dict(), "intra_op_threads": intra_op_threads})


def _config_from_env() -> dict:
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{CONFIG_ENV} is not set")
    return json.loads(raw)


def limits_from_env() -> ServeLimits:
    return ServeLimits(**_config_from_env()["limits"])


def app_from_env() -> FastAPI:
    """App factory of a worker process (reads FSPLIT_SERVE_CONFIG)."""
    cfg = _config_from_env()
    return create_app(
        cfg["artifact"], limits=ServeLimits(**cfg["limits"]), intra_op_threads=cfg.get("intra_op_threads", 0)
    )
