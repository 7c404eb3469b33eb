"""The server part of one artifact: stream container bytes -> top-5 classes, with per-stage timings.

A variable bit-rate artifact (docs/artifact.md "rate_points") has one codec table set and one server model per
rate point; each request is decoded with the tables and model of the rate point its container header names
(a point the artifact lacks: 409 unknown_rate_point). Rate point 0 is the manifest's top level.

Synchronous and thread-safe (the codec tables are read-only, ONNX Runtime sessions allow concurrent `run`);
`app.py` calls it from worker threads. Errors a client can cause are `RequestError`s carrying an HTTP status.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ArtifactLoadError, CorruptPayload, EmptyPayload, LatentShapeMismatch, UnknownRatePoint, WrongTables

if TYPE_CHECKING:
    from ..codec.tables import CodecTables


@dataclass
class InferenceResult:
    top5: list[dict]  # [{"index", "label", "score"}], score = softmax probability
    payload_bytes: int
    latent_shape: list[int]  # [C, H, W] as carried by the stream
    # parse, decode, dequant_tail (dequantisation + decoder + rest of the network), total (wall clock, perf_counter),
    # cpu (CPU time of the thread that ran parse..top-5: total minus the time it waited for a CPU or slept)
    timings_ms: dict
    logits: np.ndarray | None = field(default=None, repr=False)
    rate_point: int = 0
    rate_point_hash: str | None = None  # the table hash of that rate point

    def to_json(self, model_id: str, table_hash: str) -> dict:
        return {
            "model_id": model_id,
            "table_hash": self.rate_point_hash or table_hash,
            "rate_point": self.rate_point,
            "top5": self.top5,
            "payload_bytes": self.payload_bytes,
            "latent_shape": self.latent_shape,
            "timings_ms": self.timings_ms,
        }


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - np.max(logits)
    e = np.exp(z)
    return e / e.sum()


def top_k(logits: np.ndarray, labels: list[str], k: int = 5) -> list[dict]:
    """The k best classes by logit (ties: lower index first) with softmax scores."""
    probs = softmax(logits)
    order = np.lexsort((np.arange(logits.size), -logits))[:k]
    return [
        {"index": int(i), "label": labels[i] if i < len(labels) else str(int(i)), "score": float(probs[i])}
        for i in order
    ]


@dataclass
class ServedRatePoint:
    """One rate point's codec tables and server model (an artifact without rate points has only index 0)."""

    index: int
    name: str
    tables: "CodecTables"
    latent_shape: tuple
    session: Any  # an onnxruntime.InferenceSession (untyped)
    input_name: str
    output_name: str

    @property
    def table_hash(self) -> str:
        h = self.tables.content_hash
        return h.hex() if isinstance(h, (bytes, bytearray)) else str(h)


class ServerEngine:
    """Loads the tables, server model of every rate point and labels.txt of one artifact folder
    (docs/artifact.md)."""

    def __init__(self, artifact_dir, intra_op_threads: int = 0):
        from ..runtime import rate_points
        from ..runtime.artifact import Artifact

        self.artifact_dir = Path(artifact_dir)
        self.points: dict[int, ServedRatePoint] = {}
        try:
            self.artifact = Artifact.open(self.artifact_dir)
            self.labels = self.artifact.labels()
            for index in rate_points.indices(self.artifact):
                view = rate_points.view(self.artifact, index)
                if view.file("server") is None:
                    raise ArtifactLoadError(f"manifest lists no server part (files.server) for rate point {index}")
                tables = view.tables()  # checked against the manifest's content hash
                session, input_name, output_name = self._open_server(view, intra_op_threads)
                self.points[index] = ServedRatePoint(
                    index,
                    view.manifest["rate_point"]["name"],
                    tables,
                    view.latent_shape,
                    session,
                    input_name,
                    output_name,
                )
        except ArtifactLoadError:
            raise
        except Exception as exc:  # the runtime's and codec's errors name the file and the problem
            raise ArtifactLoadError(f"cannot serve {self.artifact_dir}: {exc}") from exc
        self.model_id = self.artifact.model_id
        default = self.points[0]
        self.tables, self.latent_shape = default.tables, default.latent_shape
        self.session, self.input_name, self.output_name = default.session, default.input_name, default.output_name

    @property
    def table_hash(self) -> str:
        return self.points[0].table_hash

    @staticmethod
    def _open_server(artifact, intra_op_threads):
        import onnxruntime as ort

        path = artifact.file("server")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ArtifactLoadError(f"ONNX Runtime cannot load {path.name}: {exc}") from exc
        server_meta = artifact.manifest.get("server", {})
        input_name = server_meta.get("input") or session.get_inputs()[0].name
        output_name = server_meta.get("output") or session.get_outputs()[0].name
        return session, input_name, output_name

    def describe(self) -> dict:
        return _description(self.artifact, self.points)

    # -- the three stages -------------------------------------------------------------------------------

    def point_of(self, header) -> ServedRatePoint:
        """The rate point a container header names; UnknownRatePoint (409) when this artifact lacks it."""
        point = self.points.get(int(header.rate_point))
        if point is None:
            raise UnknownRatePoint(
                f"stream names rate point {header.rate_point}; model {self.model_id} has rate "
                f"point(s) {', '.join(map(str, self.points))}"
            )
        return point

    def parse(self, data: bytes):
        """Container header and checksum, then rate point, table hash and latent shape, before any decoding."""
        from ..codec import container
        from ..codec.errors import CodecError

        if not data:
            raise EmptyPayload("empty payload: expected a stream container (docs/formats.md)")
        try:
            header, _payload = container.unpack(data)
        except CodecError as exc:
            raise CorruptPayload(str(exc)) from exc
        point = self.point_of(header)
        ours = point.tables.content_hash_bytes[: container.HASH_PREFIX]
        if header.table_hash != ours:
            at = f" at rate point {point.index}" if len(self.points) > 1 else ""
            raise WrongTables(
                f"stream was coded with tables {header.table_hash.hex()}..., this server's model "
                f"{self.model_id} uses {ours.hex()}...{at}"
            )
        shape = tuple(int(s) for s in header.shape)
        if shape != point.latent_shape:
            raise LatentShapeMismatch(
                f"stream carries a latent of shape {list(shape)}, this model takes {list(point.latent_shape)}"
            )
        return header

    def decode(self, data: bytes, point: ServedRatePoint | None = None) -> np.ndarray:
        from ..codec import container
        from ..codec.errors import CodecError, TableMismatchError

        try:
            if point is None:
                point = self.point_of(container.read_header(data))
            return container.decode_latent(point.tables, data)
        except TableMismatchError as exc:
            raise WrongTables(str(exc)) from exc
        except CodecError as exc:
            raise CorruptPayload(str(exc)) from exc

    def tail(self, symbols: np.ndarray, point: ServedRatePoint | None = None) -> np.ndarray:
        """(C,H,W) int32 symbols -> (num_classes,) logits: dequantisation, decoder and the rest of the network."""
        point = point or self.points[0]
        batch = np.ascontiguousarray(symbols, dtype=np.int32)[None]
        return point.session.run([point.output_name], {point.input_name: batch})[0][0]

    def infer(self, data: bytes, keep_logits: bool = False) -> InferenceResult:
        """`timings_ms.total` is wall-clock time: on a host whose CPUs other jobs keep busy it includes the time
        this thread waited for a CPU, which depends on the process's nice value and the machine's load, not on
        the work (docs/serve.md, "Server time"). `cpu` is this thread's CPU time over the same span: the work
        itself (ONNX Runtime's pool threads, with intra-op threads > 1, are not in it)."""
        c0 = time.thread_time()
        t0 = time.perf_counter()
        point = self.point_of(self.parse(data))
        t1 = time.perf_counter()
        symbols = self.decode(data, point)
        t2 = time.perf_counter()
        logits = self.tail(symbols, point)
        t3 = time.perf_counter()
        top5 = top_k(logits, self.labels)
        t4 = time.perf_counter()
        c4 = time.thread_time()
        ms = 1e3
        return InferenceResult(
            top5=top5,
            payload_bytes=len(data),
            latent_shape=list(symbols.shape),
            timings_ms={
                "parse": (t1 - t0) * ms,
                "decode": (t2 - t1) * ms,
                "dequant_tail": (t3 - t2) * ms,
                "total": (t4 - t0) * ms,
                "cpu": (c4 - c0) * ms,
            },
            logits=logits if keep_logits else None,
            rate_point=point.index,
            rate_point_hash=point.table_hash if point.index else None,
        )


def _description(artifact, points: dict[int, ServedRatePoint]) -> dict:
    m = artifact.manifest
    default = points[0]
    return {
        "model_id": artifact.model_id,
        "target": m.get("target"),
        "quantization": m.get("quantization"),
        "table_hash": default.table_hash,
        "latent_shape": list(default.latent_shape),
        "num_classes": m.get("server", {}).get("num_classes"),
        "rate_points": [
            {"index": p.index, "name": p.name, "table_hash": p.table_hash, "latent_shape": list(p.latent_shape)}
            for p in points.values()
        ],
    }


def describe_artifact(artifact_dir) -> dict:
    """`ServerEngine(artifact_dir).describe()` without opening the server models (codec tables and manifest
    only): for a front whose engine runs elsewhere (triton/front.py)."""
    from ..runtime import rate_points
    from ..runtime.artifact import Artifact

    try:
        artifact = Artifact.open(Path(artifact_dir))
        points = {}
        for index in rate_points.indices(artifact):
            view = rate_points.view(artifact, index)
            name = view.manifest["rate_point"]["name"]
            points[index] = ServedRatePoint(index, name, view.tables(), view.latent_shape, None, "", "")
    except Exception as exc:
        raise ArtifactLoadError(f"cannot serve {artifact_dir}: {exc}") from exc
    return _description(artifact, points)
