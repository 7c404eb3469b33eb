"""The committed photo sets: disjoint splits, at least 64 held-out photos, every file in the manifest."""

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from fsplit_mobile.evaluation.images import BUNDLED_IMAGES_DIR, bundled_images

MANIFEST = BUNDLED_IMAGES_DIR / "manifest.csv"


def _rows():
    with open(MANIFEST, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_manifest_lists_every_file_with_source_and_licence():
    rows = _rows()
    on_disk = {f"{s}/{p.name}" for s in ("train", "val", "heldout") for p in bundled_images(s)}
    assert {r["file"] for r in rows} == on_disk
    for r in rows:
        assert r["package"] and r["path"] and r["licence"], r
        assert r["file"].split("/")[0] == r["split"]


def test_split_sizes_meet_the_issue():
    assert len(bundled_images("heldout")) >= 64
    assert len(bundled_images("val")) >= 16
    assert len(bundled_images("train")) >= 5 * 8  # 8 colour photos in the first default's pool


def _phash(path: Path) -> int:
    n = 32
    k = np.arange(n)[:, None]
    dct = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n))
    g = np.asarray(Image.open(path).convert("L").resize((n, n), Image.BILINEAR), dtype=np.float64)
    d = (dct @ g @ dct.T)[:8, :8].reshape(-1)[1:]
    return int("".join("1" if b else "0" for b in d > np.median(d)), 2)


def test_no_near_duplicate_across_splits():
    hashes = {s: [(p.name, _phash(p)) for p in bundled_images(s)] for s in ("train", "val", "heldout")}
    for a, b in (("heldout", "train"), ("heldout", "val"), ("val", "train")):
        close = [(x, y) for x, hx in hashes[a] for y, hy in hashes[b] if bin(hx ^ hy).count("1") <= 6]
        assert not close, f"near-identical photos in {a} and {b}: {close}"


def test_old_default_training_photos_are_not_held_out():
    held = {r["path"] for r in _rows() if r["split"] == "heldout"}
    for path in ("data/astronaut.png", "data/rocket.jpg", "data/chelsea.png", "data/coffee.png"):
        assert path not in held
