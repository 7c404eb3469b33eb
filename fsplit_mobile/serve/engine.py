"""The server part of one artifact: stream container bytes -> top-5 classes, with per-stage timings.

Synchronous and thread-safe (the codec tables are read-only, ONNX Runtime sessions allow concurrent `run`);
`app.py` calls it from worker threads. Errors a client can cause are `RequestError`s carrying an HTTP status.
"""
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ArtifactLoadError, CorruptPayload, EmptyPayload, LatentShapeMismatch, WrongTables


@dataclass
class InferenceResult:
    top5: list[dict]  # [{"index", "label", "score"}], score = softmax probability
    payload_bytes: int
    latent_shape: list[int]  # [C, H, W] as carried by the stream
    timings_ms: dict  # parse, decode, dequant_tail (dequantisation + decoder + rest of the network), total
    logits: np.ndarray | None = field(default=None, repr=False)

    def to_json(self, model_id: str, table_hash: str) -> dict:
        return {
            "model_id": model_id,
            "table_hash": table_hash,
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


class ServerEngine:
    """Loads tables.fsct, server.onnx and labels.txt of one artifact folder (docs/artifact.md)."""

    def __init__(self, artifact_dir, intra_op_threads: int = 0):
        from ..runtime.artifact import Artifact

        self.artifact_dir = Path(artifact_dir)
        try:
            self.artifact = Artifact.open(self.artifact_dir)
            if self.artifact.file("server") is None:
                raise ArtifactLoadError("manifest lists no server part (files.server)")
            self.tables = self.artifact.tables()  # checked against the manifest's content hash
            self.labels = self.artifact.labels()
        except ArtifactLoadError:
            raise
        except Exception as exc:  # the runtime's and codec's errors name the file and the problem
            raise ArtifactLoadError(f"cannot serve {self.artifact_dir}: {exc}") from exc
        self.model_id = self.artifact.model_id
        self.latent_shape = self.artifact.latent_shape
        self.session, self.input_name, self.output_name = self._open_server(intra_op_threads)

    @property
    def table_hash(self) -> str:
        h = self.tables.content_hash
        return h.hex() if isinstance(h, (bytes, bytearray)) else str(h)

    def _open_server(self, intra_op_threads):
        import onnxruntime as ort

        path = self.artifact.file("server")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ArtifactLoadError(f"ONNX Runtime cannot load {path.name}: {exc}") from exc
        server_meta = self.artifact.manifest.get("server", {})
        input_name = server_meta.get("input") or session.get_inputs()[0].name
        output_name = server_meta.get("output") or session.get_outputs()[0].name
        return session, input_name, output_name

    def describe(self) -> dict:
        m = self.artifact.manifest
        return {
            "model_id": self.model_id,
            "target": m.get("target"),
            "quantization": m.get("quantization"),
            "table_hash": self.table_hash,
            "latent_shape": list(self.latent_shape),
            "num_classes": m.get("server", {}).get("num_classes"),
        }

    # -- the three stages -------------------------------------------------------------------------------

    def parse(self, data: bytes):
        """Container header and checksum, then table hash and latent shape, before any decoding work."""
        from ..codec import container
        from ..codec.errors import CodecError

        if not data:
            raise EmptyPayload("empty payload: expected a stream container (docs/formats.md)")
        try:
            header, _payload = container.unpack(data)
        except CodecError as exc:
            raise CorruptPayload(str(exc)) from exc
        ours = self.tables.content_hash_bytes[: container.HASH_PREFIX]
        if header.table_hash != ours:
            raise WrongTables(f"stream was coded with tables {header.table_hash.hex()}..., this server's model "
                              f"{self.model_id} uses {ours.hex()}...")
        shape = tuple(int(s) for s in header.shape)
        if shape != self.latent_shape:
            raise LatentShapeMismatch(f"stream carries a latent of shape {list(shape)}, this model takes "
                                      f"{list(self.latent_shape)}")
        return header

    def decode(self, data: bytes) -> np.ndarray:
        from ..codec import container
        from ..codec.errors import CodecError, TableMismatchError

        try:
            return container.decode_latent(self.tables, data)
        except TableMismatchError as exc:
            raise WrongTables(str(exc)) from exc
        except CodecError as exc:
            raise CorruptPayload(str(exc)) from exc

    def tail(self, symbols: np.ndarray) -> np.ndarray:
        """(C,H,W) int32 symbols -> (num_classes,) logits: dequantisation, decoder and the rest of the network."""
        batch = np.ascontiguousarray(symbols, dtype=np.int32)[None]
        return self.session.run([self.output_name], {self.input_name: batch})[0][0]

    def infer(self, data: bytes, keep_logits: bool = False) -> InferenceResult:
        t0 = time.perf_counter()
        self.parse(data)
        t1 = time.perf_counter()
        symbols = self.decode(data)
        t2 = time.perf_counter()
        logits = self.tail(symbols)
        t3 = time.perf_counter()
        top5 = top_k(logits, self.labels)
        t4 = time.perf_counter()
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
            },
            logits=logits if keep_logits else None,
        )
