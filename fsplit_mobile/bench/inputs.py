"""Host-side input preparation: decode images, resize to the model input size, write PPM for the device.

Resizing uses :func:`fsplit_mobile.runtime.preprocess.load_rgb`, the same code the server and demo use.
"""

import json
from pathlib import Path

import numpy as np

from ..runtime.preprocess import TensorSpecError, input_geometry, load_rgb
from .device.ppm import write_ppm
from .errors import InputImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")
DEFAULT_IMAGES = ("chelsea", "coffee", "astronaut", "rocket")


def default_images():
    """(name, HxWx3 uint8) of a few scikit-image sample photos."""
    from skimage import data

    return [(name, np.asarray(getattr(data, name)())) for name in DEFAULT_IMAGES]


def image_files(images_dir):
    d = Path(images_dir)
    if not d.is_dir():
        raise InputImageError(f"images folder {d} does not exist")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputImageError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {d}")
    return [(p.stem, p) for p in files]


def prepare_inputs(input_spec: dict, out_dir, images_dir=None, limit: int | None = None):
    """Write inputs/ (index.json + one PPM per image at model resolution); return the index."""
    try:
        height, width = input_geometry(input_spec)
    except TensorSpecError as e:
        raise InputImageError(f"artifact input spec: {e}") from None
    method = (input_spec.get("resize") or {}).get("method", "bilinear")
    sources = image_files(images_dir) if images_dir else default_images()
    if limit:
        sources = sources[:limit]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index, used = [], set()
    for i, (name, source) in enumerate(sources):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or f"image{i}"
        if safe in used:
            safe = f"{safe}_{i}"
        used.add(safe)
        try:
            if isinstance(source, np.ndarray) and source.ndim == 2:
                source = np.stack([source] * 3, axis=-1)
            rgb = load_rgb(source, (height, width), method)
        except TensorSpecError as e:
            raise InputImageError(f"image {name}: {e}") from None
        except OSError as e:
            raise InputImageError(f"cannot decode image {source}: {e}") from None
        write_ppm(out_dir / f"{safe}.ppm", rgb)
        index.append({"name": safe, "file": f"{safe}.ppm"})
    (out_dir / "index.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    return index
