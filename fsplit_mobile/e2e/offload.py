"""The offloading baseline of the end-to-end benchmark: the device sends the image (JPEG/WebP/PNG) and the
server decodes it and runs the full teacher. Same HTTP plumbing and limits as `fsplit-serve`.

POST /v1/classify-image  body: an encoded image -> top-5 + timings (decode_image, preprocess, model, total)
GET  /healthz
"""

import io
import time

import numpy as np
from fastapi import FastAPI, Request

from ..serve.engine import top_k
from ..serve.errors import CorruptPayload, EmptyPayload
from ..serve.limits import ServeLimits
from ..serve.plumbing import admit_and_run, base_app, binary_body_doc

IMAGE_TYPES = ("image/jpeg", "image/webp", "image/png", "application/octet-stream")
MAX_PIXELS = 4096 * 4096


class OffloadEngine:
    """Encoded image -> teacher logits with ONNX Runtime (model input: NCHW float32, ImageNet-normalised)."""

    def __init__(
        self,
        teacher_onnx,
        labels: list[str],
        size=(224, 224),
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        intra_op_threads: int = 0,
    ):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(teacher_onnx), sess_options=opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.labels = labels
        self.size = (int(size[0]), int(size[1]))
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)

    def decode_image(self, data: bytes) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        if not data:
            raise EmptyPayload("empty payload: expected an encoded image")
        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise CorruptPayload(f"image of {img.width}x{img.height} exceeds {MAX_PIXELS} pixels")
                rgb = img.convert("RGB")
                h, w = self.size
                if rgb.size != (w, h):
                    rgb = rgb.resize((w, h), resample=Image.Resampling.BILINEAR)
                return np.asarray(rgb, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise CorruptPayload(f"not a decodable image: {exc}") from exc

    def model_input(self, rgb: np.ndarray) -> np.ndarray:
        x = rgb.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0)
        return np.ascontiguousarray(((x - self.mean) / self.std)[None])

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0][0]

    def infer(self, data: bytes) -> dict:
        t0 = time.perf_counter()
        rgb = self.decode_image(data)
        t1 = time.perf_counter()
        x = self.model_input(rgb)
        t2 = time.perf_counter()
        logits = self.logits(x)
        t3 = time.perf_counter()
        top5 = top_k(logits, self.labels)
        t4 = time.perf_counter()
        return {
            "top5": top5,
            "payload_bytes": len(data),
            "timings_ms": {
                "decode_image": (t1 - t0) * 1e3,
                "preprocess": (t2 - t1) * 1e3,
                "model": (t3 - t2) * 1e3,
                "total": (t4 - t0) * 1e3,
            },
        }


def create_offload_app(engine: OffloadEngine, limits: ServeLimits | None = None) -> FastAPI:
    limits = limits or ServeLimits()
    app = base_app("fsplit offloading baseline", "Receives an encoded image and runs the full teacher.", limits)
    app.state.engine = engine

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "admitted": app.state.gate.admitted, "capacity": app.state.gate.capacity}

    @app.post("/v1/classify-image", openapi_extra=binary_body_doc("An encoded image (JPEG, WebP or PNG).", IMAGE_TYPES))
    async def classify(request: Request):
        return await admit_and_run(request, app.state, engine.infer, IMAGE_TYPES, lambda r: r)

    return app
