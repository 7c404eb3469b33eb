"""What the end-to-end benchmark sends and how good it is: held-out crops, the teacher as ONNX, the split
pipeline's payloads, JPEG/WebP payloads per quality, teacher top-1 agreement, and the matched quality.

Crops are the ones the default model's own evaluation uses (fsplit_mobile.evaluation.compare / fsplit-demo: the
center crop plus seeded random crops of every held-out photo, data/images/heldout, 224x224), as uint8 RGB, so
agreement numbers line up.
Reference labels are the full teacher's top-1 on the uncompressed crop (ONNX Runtime, the server's runtime).
"""

import io
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CODECS = {"jpeg": "JPEG", "webp": "WEBP"}
DEFAULT_QUALITIES = (1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95)


LOCAL_TEACHER = "teacher-on-device"


class WorkloadError(RuntimeError):
    """The benchmark's inputs (images, teacher, artifacts) cannot be prepared."""


def heldout_crops(crops_per_image: int = 2, size: int = 224, seed: int = 0, images=None) -> list[np.ndarray]:
    """HxWx3 uint8 crops: per held-out photo its center crop + seeded random crops (same as the evaluation)."""
    from ..evaluation.images import bundled_images, eval_crops, open_rgb

    paths = bundled_images("heldout") if images is None else [Path(p) for p in images]
    if not paths:
        raise WorkloadError("no held-out images found")
    out = []
    for path in paths:
        # seeded by the image's name, as fsplit_mobile.evaluation.evaluate does
        x = eval_crops(open_rgb(path), size, crops_per_image, seed + zlib.crc32(path.stem.encode())).numpy()
        out += [np.clip(np.rint(c.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8) for c in x]
    return out


def teacher_onnx(cache_dir) -> Path:
    """The full EfficientNet-Lite0 teacher exported to ONNX once (image NCHW normalised -> logits)."""
    import torch

    from ..export.backends.onnx import export_onnx
    from ..models.teacher import load_efficientnet_lite0

    path = Path(cache_dir) / "teacher-efficientnet-lite0.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial.onnx")
    model = load_efficientnet_lite0()
    export_onnx(model, torch.zeros(1, 3, 224, 224), tmp, "image", "logits")
    tmp.replace(path)
    return path


def encode_image(rgb: np.ndarray, codec: str, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=CODECS[codec], quality=int(quality))
    return buf.getvalue()


@dataclass
class MethodRun:
    """One way of getting crops to a class: per-crop payload sizes, top-1s and stage timings (ms)."""

    name: str
    payloads: list[bytes] = field(repr=False, default_factory=list)
    top1: list[int] = field(default_factory=list)
    client_ms: dict = field(default_factory=dict)  # stage -> list of per-crop times
    server_ms: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def add_times(self, which: dict, times: dict):
        for k, v in times.items():
            which.setdefault(k, []).append(float(v))

    def agreement(self, reference: list[int]) -> float:
        return float(np.mean(np.asarray(self.top1) == np.asarray(reference)))

    def payload_stats(self) -> dict:
        sizes = np.array([len(p) for p in self.payloads])
        return {
            "mean": float(sizes.mean()),
            "median": float(np.median(sizes)),
            "min": int(sizes.min()),
            "max": int(sizes.max()),
        }

    def median_ms(self, which: dict) -> dict:
        return {k: float(np.median(v)) for k, v in which.items()}

    def summary(self, reference: list[int]) -> dict:
        client = self.median_ms(self.client_ms)
        server = self.median_ms(self.server_ms)
        return {
            "name": self.name,
            "agreement": self.agreement(reference),
            "payload_bytes": self.payload_stats(),
            "client_ms": client,
            "client_total_ms": float(sum(client.values())),
            "server_ms": server,
            **self.meta,
        }


def teacher_reference(engine, crops) -> list[int]:
    """Teacher top-1 on the uncompressed crops."""
    return [int(np.argmax(engine.logits(engine.model_input(c)))) for c in crops]


def run_local_teacher(engine, crops, reference: list[int]) -> dict:
    """The third baseline: the whole teacher on the device, no network. Per crop: model input + the teacher ONNX
    run (the offloading server's model, ONNX Runtime on this host's CPU with the engine's threads, as the split
    encoders are timed here). Its top-1 is the reference, so its agreement is 1 (computed, not assumed)."""
    import time

    prep, run, top1 = [], [], []
    for crop in crops:
        t0 = time.perf_counter()
        x = engine.model_input(crop)
        t1 = time.perf_counter()
        top1.append(int(np.argmax(engine.logits(x))))
        t2 = time.perf_counter()
        prep.append((t1 - t0) * 1e3)
        run.append((t2 - t1) * 1e3)
    device = {"preprocess": float(np.median(prep)), "teacher": float(np.median(run))}
    return {
        "name": LOCAL_TEACHER,
        "agreement": float(np.mean(np.asarray(top1) == np.asarray(reference))),
        "device_ms": device,
        "total_ms": float(sum(device.values())),
        "runtime": "ONNX Runtime CPU, fp32 teacher (the offloading server's model), this host",
    }


def parse_split(value) -> tuple[Path, int]:
    """`DIR` or `DIR@N` (rate point N of a variable bit-rate artifact, docs/artifact.md) -> (DIR, N)."""
    text = str(value)
    head, sep, tail = text.rpartition("@")
    if sep and tail.isdigit() and not Path(text).exists():
        return Path(head), int(tail)
    return Path(text), 0


def run_split(name: str, artifact_dir, crops, threads: int | None = None, rate_point: int = 0) -> MethodRun:
    """Device side (preprocess, encoder in its runtime, rANS coding) and server side (ServerEngine) per crop, at
    one rate point of the artifact (0: the only one of a single-rate artifact)."""
    from ..codec.container import LatentWriter
    from ..runtime import rate_points
    from ..runtime.artifact import Artifact
    from ..runtime.encoders import open_encoder
    from ..serve.engine import ServerEngine

    art = rate_points.view(Artifact.open(artifact_dir), rate_point)
    tables = art.tables()
    payload_format, lanes = art.payload
    encoder = open_encoder(art, threads=threads)
    engine = ServerEngine(artifact_dir)
    if tuple(encoder.input_size) != crops[0].shape[:2]:
        raise WorkloadError(f"{artifact_dir}: encoder takes {encoder.input_size}, crops are {crops[0].shape[:2]}")
    run = MethodRun(
        name,
        meta={
            "artifact": str(artifact_dir),
            "target": art.target,
            "rate_point": rate_point,
            "quantization": art.quantization,
            "runtime": encoder.backend.name,
            # SC2's first criterion: the device encoder's MACs (counted from its exported graph at export) and
            # their share of the whole network; None for an artifact that does not record them
            "device_compute": art.manifest.get("device_compute"),
        },
    )
    write = LatentWriter(tables, rate_point=rate_point, payload_format=payload_format, lanes=lanes)
    encoder.run(encoder.input_converter(crops[0]))  # warm-up
    for rgb in crops:
        t0 = time.perf_counter()
        x = encoder.input_converter(rgb)
        t1 = time.perf_counter()
        symbols = encoder.output_converter(encoder.run(x))
        t2 = time.perf_counter()
        payload = write(symbols)
        t3 = time.perf_counter()
        result = engine.infer(payload)
        run.payloads.append(payload)
        run.top1.append(result.top5[0]["index"])
        run.add_times(
            run.client_ms, {"preprocess": (t1 - t0) * 1e3, "encode": (t2 - t1) * 1e3, "coding": (t3 - t2) * 1e3}
        )
        run.add_times(run.server_ms, {k: v for k, v in result.timings_ms.items()})
    return run


def run_offload(codec: str, quality: int, crops, engine) -> MethodRun:
    """Device side (image codec) and server side (decode + full teacher, OffloadEngine) per crop."""
    run = MethodRun(f"{codec}-q{quality}", meta={"codec": codec, "quality": int(quality)})
    for rgb in crops:
        t0 = time.perf_counter()
        payload = encode_image(rgb, codec, quality)
        t1 = time.perf_counter()
        result = engine.infer(payload)
        run.payloads.append(payload)
        run.top1.append(result["top5"][0]["index"])
        run.add_times(run.client_ms, {"image_encode": (t1 - t0) * 1e3})
        run.add_times(run.server_ms, result["timings_ms"])
    return run


def match_quality(runs: dict[int, MethodRun], reference: list[int], target: float) -> tuple[int, bool]:
    """The lowest quality whose agreement reaches `target`; (quality, reached). If none reaches it, the
    quality with the best agreement (the highest such quality on ties) and False."""
    qualities = sorted(runs)
    for q in qualities:
        if runs[q].agreement(reference) >= target - 1e-12:
            return q, True
    best = max(qualities, key=lambda q: (runs[q].agreement(reference), q))
    return best, False
