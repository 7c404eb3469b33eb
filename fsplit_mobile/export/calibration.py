"""Calibration and evaluation images: folder listing, deterministic views (crops/flips), model inputs.

The bundled model ships a handful of calibration photos (fsplit_mobile/data/images/calib) and disjoint
held-out photos (.../eval). A few images give few samples, so each image contributes `views` deterministic
views: the whole image, its mirror, then crops at 85 %, 70 % and 55 % of the side (centre and corners, each
also mirrored), resized to the model input size (32 views at most). Views never mix calibration and evaluation images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..runtime.preprocess import InputConverter, load_rgb
from .errors import CalibrationError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")

# (crop side as a fraction of the image side, x anchor, y anchor, mirrored): anchors 0 = left/top, 0.5 = centre
_VIEWS = [(1.0, 0.5, 0.5, False), (1.0, 0.5, 0.5, True)]
for _scale in (0.85, 0.7, 0.55):
    for _ax, _ay in ((0.5, 0.5), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)):
        _VIEWS += [(_scale, _ax, _ay, False), (_scale, _ax, _ay, True)]
MAX_VIEWS = len(_VIEWS)


def list_images(folder, what: str = "calibration") -> list[Path]:
    """Image files in `folder` (sorted by name); CalibrationError when the folder is missing or has none."""
    d = Path(folder)
    if not d.is_dir():
        raise CalibrationError(f"{what} image folder {d} does not exist")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise CalibrationError(f"no {what} images ({', '.join(IMAGE_SUFFIXES)}) in {d}")
    return files


def _view(rgb: np.ndarray, scale: float, ax: float, ay: float, mirror: bool) -> np.ndarray:
    h, w = rgb.shape[:2]
    ch, cw = max(1, round(h * scale)), max(1, round(w * scale))
    top, left = round((h - ch) * ay), round((w - cw) * ax)
    out = rgb[top : top + ch, left : left + cw]
    return np.ascontiguousarray(out[:, ::-1] if mirror else out)


def load_views(
    files, size: tuple[int, int], views: int = 1, method: str = "bilinear", what: str = "calibration"
) -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8 resized to size) for `views` views of every file, in a fixed order."""
    from PIL import UnidentifiedImageError

    if not 1 <= views <= MAX_VIEWS:
        raise CalibrationError(f"views per image must be between 1 and {MAX_VIEWS}, got {views}")
    out = []
    for path in files:
        try:
            full = load_rgb(path, _full_size(path), method)
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise CalibrationError(f"{what} image {path} cannot be read: {e}") from None
        for i, (scale, ax, ay, mirror) in enumerate(_VIEWS[:views]):
            out.append((f"{Path(path).stem}#{i}", load_rgb(_view(full, scale, ax, ay, mirror), size, method)))
    return out


def _full_size(path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.size[1], img.size[0]


def canonical_inputs(images, input_spec: dict) -> list[np.ndarray]:
    """Canonical NCHW float32 inputs (what the exported module takes) for resized RGB images."""
    convert = InputConverter(input_spec)
    return [convert.canonical(rgb) for _, rgb in images]


def calibration_batches(images, input_spec: dict) -> list[torch.Tensor]:
    return [torch.from_numpy(x) for x in canonical_inputs(images, input_spec)]
