"""Image -> model input and model output -> symbols, per a manifest's input/output spec (docs/artifact.md).

Two layers:
- the *canonical* tensors every exporter and runner agrees on: input NCHW float32 (pixel/255, plus mean/std
  when normalisation is not in the graph), output NCHW (int32 symbols or float32 latent);
- the tensors the model file takes and gives, which may be NHWC and/or int8-quantized
  (`to_model_input`, `from_model_output`).

Every float step is one float32 operation in a fixed order (scale, subtract mean, divide by std, quantize with
round-half-to-even), so a native runner can reproduce it bit for bit. numpy + stdlib only; PIL only in load_rgb.
"""

from __future__ import annotations

import numpy as np

RESIZE_METHODS = ("bilinear", "bicubic", "nearest", "lanczos")


class TensorSpecError(ValueError):
    """The manifest's input/output description is not supported or does not match the data."""


# ---- images --------------------------------------------------------------------------------------------------
def load_rgb(source, size: tuple[int, int], method: str = "bilinear") -> np.ndarray:
    """A path, PIL image or HxWx3 uint8 array -> HxWx3 uint8 RGB resized to size=(H, W) with `method`."""
    from PIL import Image

    if method not in RESIZE_METHODS:
        raise TensorSpecError(f"resize method {method!r} not supported (known: {', '.join(RESIZE_METHODS)})")
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] not in (3, 4) or source.dtype != np.uint8:
            raise TensorSpecError(f"expected an HxWx3 uint8 image, got {source.dtype} {source.shape}")
        img = Image.fromarray(np.ascontiguousarray(source[..., :3]))
    elif isinstance(source, Image.Image):
        img = source
    else:
        with Image.open(source) as opened:
            img = opened.convert("RGB")
            img.load()
    img = img.convert("RGB")
    h, w = int(size[0]), int(size[1])
    if img.size != (w, h):
        img = img.resize((w, h), resample=getattr(Image.Resampling, method.upper()))
    return np.asarray(img, dtype=np.uint8)


# ---- input spec ----------------------------------------------------------------------------------------------
def input_geometry(input_spec: dict) -> tuple[int, int]:
    """(height, width) the model expects, checking layout and shape agree."""
    shape, layout = input_spec.get("shape"), input_spec.get("layout")
    if not isinstance(shape, (list, tuple)) or len(shape) != 4 or shape[0] != 1:
        raise TensorSpecError(f"input shape must be [1, ., ., .], got {shape!r}")
    if layout == "NCHW":
        channels, height, width = shape[1:]
    elif layout == "NHWC":
        height, width, channels = shape[1:]
    else:
        raise TensorSpecError(f"input layout must be NCHW or NHWC, got {layout!r}")
    if channels != 3:
        raise TensorSpecError(f"input must have 3 channels, got {channels}")
    return int(height), int(width)


def _quant_params(q: dict | None, what: str):
    if q is None:
        return None
    if q.get("dtype") not in ("int8", "uint8"):
        raise TensorSpecError(f"{what} quantization dtype must be int8 or uint8, got {q.get('dtype')!r}")
    try:
        return np.float32(q["scale"]), int(q["zero_point"]), np.dtype(q["dtype"])
    except (KeyError, TypeError, ValueError):
        raise TensorSpecError(f"{what} quantization needs numeric scale and zero_point, got {q!r}") from None


class InputConverter:
    """HxWx3 uint8 RGB (already resized) -> the tensor the model file takes."""

    def __init__(self, input_spec: dict):
        self.height, self.width = input_geometry(input_spec)
        self.layout = input_spec["layout"]
        if input_spec.get("color", "RGB") != "RGB":
            raise TensorSpecError(f"input color must be RGB, got {input_spec.get('color')!r}")
        value_range = [float(v) for v in input_spec.get("value_range", [0.0, 1.0])]
        if value_range == [0.0, 1.0]:
            self.divide = True
        elif value_range == [0.0, 255.0]:
            self.divide = False
        else:
            raise TensorSpecError(f"input value_range must be [0, 1] or [0, 255], got {value_range}")
        self.normalize = not input_spec.get("normalization_in_graph", True)
        self.mean = np.asarray(input_spec.get("mean", [0.0, 0.0, 0.0]), dtype=np.float32)
        self.std = np.asarray(input_spec.get("std", [1.0, 1.0, 1.0]), dtype=np.float32)
        if self.normalize and (self.mean.shape != (3,) or self.std.shape != (3,) or np.any(self.std == 0)):
            raise TensorSpecError("input mean/std must be 3 values each, std non-zero")
        self.quant = _quant_params(input_spec.get("quantization"), "input")

    def canonical(self, rgb: np.ndarray) -> np.ndarray:
        """HxWx3 uint8 -> canonical NCHW float32 input (what the eager encoder takes)."""
        if rgb.shape != (self.height, self.width, 3):
            raise TensorSpecError(f"image is {rgb.shape[1]}x{rgb.shape[0]}, model takes {self.width}x{self.height}")
        x = rgb.astype(np.float32)
        if self.divide:
            x /= np.float32(255.0)
        if self.normalize:
            x -= self.mean
            x /= self.std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def to_model(self, canonical: np.ndarray) -> np.ndarray:
        """Canonical NCHW float32 -> the model file's layout and (if quantized) integer type."""
        if canonical.shape != (1, 3, self.height, self.width):
            raise TensorSpecError(f"input is {canonical.shape}, expected (1, 3, {self.height}, {self.width})")
        x = canonical.astype(np.float32, copy=False)
        if self.layout == "NHWC":
            x = x.transpose(0, 2, 3, 1)
        if self.quant is not None:
            scale, zero_point, dtype = self.quant
            info = np.iinfo(dtype)
            x = np.clip(np.rint(x / scale) + np.float32(zero_point), info.min, info.max).astype(dtype)
        return np.ascontiguousarray(x)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.to_model(self.canonical(rgb))


def to_model_input(canonical: np.ndarray, input_spec: dict) -> np.ndarray:
    """Canonical NCHW float32 input -> the tensor the model file described by `input_spec` takes."""
    return InputConverter(input_spec).to_model(canonical)


# ---- output spec ---------------------------------------------------------------------------------------------
def from_model_output(out: np.ndarray, output_spec: dict, latent_chw: tuple[int, int, int]) -> np.ndarray:
    """The model file's output -> canonical NCHW (int32 symbols, or float32 latent de-quantized)."""
    kind = output_spec.get("kind", "symbols")
    layout = output_spec.get("layout", "NCHW")
    if layout not in ("NCHW", "NHWC"):
        raise TensorSpecError(f"output layout must be NCHW or NHWC, got {layout!r}")
    c, h, w = latent_chw
    out = np.asarray(out)
    if out.size != c * h * w:
        raise TensorSpecError(f"model output has {out.size} values, latent is {c}x{h}x{w}")
    out = out.reshape((1, c, h, w) if layout == "NCHW" else (1, h, w, c))
    if layout == "NHWC":
        out = out.transpose(0, 3, 1, 2)
    if kind == "symbols":
        if not np.issubdtype(out.dtype, np.integer):
            raise TensorSpecError(f"symbols output must be an integer tensor, got {out.dtype}")
        return np.ascontiguousarray(out, dtype=np.int32)
    if kind != "latent":
        raise TensorSpecError(f"output kind must be symbols or latent, got {kind!r}")
    q = _quant_params(output_spec.get("quantization"), "output")
    y = out.astype(np.float32)
    if q is not None:
        scale, zero_point, _ = q
        y = (y - np.float32(zero_point)) * scale
    return np.ascontiguousarray(y)


class OutputConverter:
    """Model output -> int32 symbols, shape (C, H, W) in C order, for the entropy coder."""

    def __init__(self, output_spec: dict, latent_spec: dict):
        self.output_spec = output_spec
        self.kind = output_spec.get("kind")
        if self.kind not in ("symbols", "latent"):
            raise TensorSpecError(f"output kind must be symbols or latent, got {self.kind!r}")
        self.chw = (int(latent_spec["channels"]), int(latent_spec["height"]), int(latent_spec["width"]))
        self.medians = np.asarray(latent_spec.get("medians", []), dtype=np.float32)
        if self.kind == "latent" and self.medians.shape != (self.chw[0],):
            raise TensorSpecError(f"latent output needs {self.chw[0]} medians, manifest has {self.medians.size}")

    def canonical(self, out: np.ndarray) -> np.ndarray:
        return from_model_output(out, self.output_spec, self.chw)

    def __call__(self, out: np.ndarray) -> np.ndarray:
        y = self.canonical(out)[0]
        if self.kind == "symbols":
            return y
        y = y - self.medians[:, None, None]
        return np.ascontiguousarray(np.rint(y), dtype=np.int32)
