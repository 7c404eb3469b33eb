"""Training and evaluation images for the bundled default model, and the crops drawn from them.

Every image comes from a file that an installed package ships (scikit-image, matplotlib, scikit-learn); nothing is
downloaded. The images are split three ways by name:
- EVAL_IMAGES: held out, used only for the reported metrics (committed, resized, under data/images/eval/);
- CALIB_IMAGES: int8 calibration set for the exporters (committed under data/images/calib/); they are drawn from
  the training pool, never from the eval set;
- everything else in SOURCES is training data.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BUNDLED_IMAGES_DIR = Path(__file__).resolve().parent.parent / "data" / "images"


class ImageSourceError(RuntimeError):
    """A package-shipped source image is missing or unreadable."""


def _package_dir(module: str) -> Path:
    import importlib

    try:
        file = importlib.import_module(module).__file__
    except ImportError as exc:
        raise ImageSourceError(f"image source package {module!r} is not installed ({exc})") from exc
    if file is None:  # a namespace package has no __file__
        raise ImageSourceError(f"image source package {module!r} has no directory of its own")
    return Path(file).resolve().parent


# name -> (package, path inside the package, kind)
SOURCES: dict[str, tuple[str, str, str]] = {
    "chelsea": ("skimage", "data/chelsea.png", "color"),
    "coffee": ("skimage", "data/coffee.png", "color"),
    "astronaut": ("skimage", "data/astronaut.png", "color"),
    "rocket": ("skimage", "data/rocket.jpg", "color"),
    "motorcycle_left": ("skimage", "data/motorcycle_left.png", "color"),
    "motorcycle_right": ("skimage", "data/motorcycle_right.png", "color"),
    "hubble_deep_field": ("skimage", "data/hubble_deep_field.jpg", "color"),
    "immunohistochemistry": ("skimage", "data/ihc.png", "color"),
    "retina": ("skimage", "data/retina.jpg", "color"),
    "colorwheel": ("skimage", "data/color.png", "color"),
    "logo": ("skimage", "data/logo.png", "color"),
    "camera": ("skimage", "data/camera.png", "gray"),
    "brick": ("skimage", "data/brick.png", "gray"),
    "grass": ("skimage", "data/grass.png", "gray"),
    "gravel": ("skimage", "data/gravel.png", "gray"),
    "coins": ("skimage", "data/coins.png", "gray"),
    "moon": ("skimage", "data/moon.png", "gray"),
    "page": ("skimage", "data/page.png", "gray"),
    "text": ("skimage", "data/text.png", "gray"),
    "cell": ("skimage", "data/cell.png", "gray"),
    "clock_motion": ("skimage", "data/clock_motion.png", "gray"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "color"),
    "china": ("sklearn", "datasets/images/china.jpg", "color"),
    "flower": ("sklearn", "datasets/images/flower.jpg", "color"),
}
EVAL_IMAGES = ("chelsea", "coffee", "grace_hopper", "china")
CALIB_IMAGES = ("astronaut", "motorcycle_left", "rocket", "flower", "hubble_deep_field", "camera")
TRAIN_IMAGES = tuple(name for name in SOURCES if name not in EVAL_IMAGES)
# Colour photographs are drawn this many times more often than the rest (grayscale textures, graphics).
PHOTO_WEIGHT = 3.0
PHOTOS = {
    "astronaut",
    "rocket",
    "motorcycle_left",
    "motorcycle_right",
    "flower",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
}


def source_path(name: str) -> Path:
    if name not in SOURCES:
        raise ImageSourceError(f"unknown image {name!r}; known: {', '.join(SOURCES)}")
    package, rel, _ = SOURCES[name]
    path = _package_dir(package) / rel
    if not path.is_file():
        raise ImageSourceError(f"image {name!r} not found at {path} (package {package!r})")
    return path


def open_rgb(path: str | os.PathLike) -> Image.Image:
    """Open an image file as 8-bit RGB (grayscale is replicated; transparency is composited on white)."""
    try:
        image: Image.Image = Image.open(path)
        image.load()
    except (OSError, ValueError) as exc:
        raise ImageSourceError(f"cannot read image {path}: {exc}") from exc
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def load_source(name: str) -> Image.Image:
    return open_rgb(source_path(name))


def resize_short_side(image: Image.Image, short: int) -> Image.Image:
    w, h = image.size
    scale = short / min(w, h)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor (3, H, W) in [0, 1]."""
    array = np.array(image, dtype=np.float32, copy=True) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def normalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype).reshape(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).reshape(-1, 1, 1)
    return (x - m) / s


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize the short side to `size` and take the central size x size square."""
    image = resize_short_side(image, size)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return image.crop((left, top, left + size, top + size))


@dataclass
class CropSampler:
    """Random square crops of random scale, flipped and colour-jittered, resized to `size`, in [0, 1].

    Crop side (in source pixels) = sqrt(uniform(min_area, 1)) * short side; aspect kept square.
    """

    images: list[Image.Image]
    size: int
    weights: list[float] | None = None
    min_area: float = 0.08
    jitter: float = 0.2
    flip: bool = True

    def sample(self, rng: np.random.Generator) -> torch.Tensor:
        index = rng.choice(len(self.images), p=self._probs())
        image = self.images[index]
        w, h = image.size
        side = max(8, int(round(math.sqrt(rng.uniform(self.min_area, 1.0)) * min(w, h))))
        left = int(rng.integers(0, w - side + 1))
        top = int(rng.integers(0, h - side + 1))
        crop = image.resize((self.size, self.size), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side))
        x = to_tensor(crop)
        if self.flip and rng.random() < 0.5:
            x = x.flip(-1)
        if self.jitter:
            x = _color_jitter(x, rng, self.jitter)
        return x

    def batch(self, rng: np.random.Generator, n: int) -> torch.Tensor:
        return torch.stack([self.sample(rng) for _ in range(n)])

    def _probs(self):
        w = np.ones(len(self.images)) if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        return w / w.sum()


def _color_jitter(x: torch.Tensor, rng: np.random.Generator, amount: float) -> torch.Tensor:
    brightness = 1.0 + rng.uniform(-amount, amount)
    contrast = 1.0 + rng.uniform(-amount, amount)
    saturation = 1.0 + rng.uniform(-amount, amount)
    x = x * brightness
    mean = x.mean()
    x = (x - mean) * contrast + mean
    gray = x.mean(0, keepdim=True)
    x = (x - gray) * saturation + gray
    return x.clamp(0.0, 1.0)


def training_sampler(size: int, names=TRAIN_IMAGES, max_side: int = 512) -> CropSampler:
    """Sampler over the training images (each downscaled so its long side is at most `max_side`)."""
    images, weights = [], []
    for name in names:
        image = load_source(name)
        if max(image.size) > max_side:
            scale = max_side / max(image.size)
            image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.Resampling.BICUBIC)
        images.append(image)
        weights.append(PHOTO_WEIGHT if name in PHOTOS else 1.0)
    return CropSampler(images, size, weights)


# eval/calib: the 4 + 6 photos of the first bundled model; train/val/heldout: the photo sets that
# scripts/build_datasets.py selects from Debian and PyPI packages (see data/README.md and images/manifest.csv).
BUNDLED_SPLITS = ("eval", "calib", "train", "val", "heldout")


def bundled_images(split: str) -> list[Path]:
    """The committed image files of one split, sorted by name."""
    if split not in BUNDLED_SPLITS:
        raise ValueError(f"split must be one of {', '.join(BUNDLED_SPLITS)}, got {split!r}")
    folder = BUNDLED_IMAGES_DIR / split
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise ImageSourceError(f"no bundled {split} images in {folder}")
    return files


def eval_crops(image: Image.Image, size: int, count: int, seed: int) -> torch.Tensor:
    """The center crop plus `count - 1` seeded random crops (scale >= 25% of the area, no jitter/flip)."""
    crops = [to_tensor(center_crop(image, size))]
    sampler = CropSampler([image], size, min_area=0.25, jitter=0.0, flip=False)
    rng = np.random.default_rng(seed)
    crops += [sampler.sample(rng) for _ in range(count - 1)]
    return torch.stack(crops)


def write_bundled_images(short_side: int = 256, quality: int = 92) -> list[Path]:
    """(Re)create data/images/{eval,calib}/NAME.jpg from the package sources, short side `short_side`."""
    written = []
    for split, names in (("eval", EVAL_IMAGES), ("calib", CALIB_IMAGES)):
        folder = BUNDLED_IMAGES_DIR / split
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = folder / f"{name}.jpg"
            resize_short_side(load_source(name), short_side).save(path, quality=quality)
            written.append(path)
    return written
