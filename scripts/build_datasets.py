#!/usr/bin/env python3
"""Build the train / validation / held-out photograph sets from offline sources, reproducibly.

Why a script: the issue asks for a selection anyone can redo and audit. Sources are Debian packages (fetched with
`apt-get download`, unpacked with `dpkg -x`, never installed) and files that installed PyPI packages ship. Steps:

1. collect candidate image files from each source (Qt resource bundles of gcompris are unpacked in Python);
2. drop what is not a usable colour photograph: too small, grayscale, rendered/illustrated (an explicit list of
   files judged by eye, `NOT_PHOTOS`, plus a flat-area test for graphics);
3. dedupe: the same photograph at several sizes (or near-copies, stereo pairs, crops) counts once, by a 64-bit DCT
   perceptual hash (Hamming distance <= 10) plus the explicit `SAME_SCENE` groups; the largest file is kept;
4. assign each distinct photo to a split by a hash of its stable id (package + path), so adding a source does not
   reshuffle the others; photos the old bundled default was trained on are forced into `train`, and its former
   evaluation photos (used to choose between runs) into `val`, never into `heldout`;
5. write resized copies (long side <= 512 px, JPEG q90) to fsplit_mobile/data/images/{train,val,heldout}/ and
   `manifest.csv` (file, split, source package, path in the package, licence, original size, perceptual hash).

    python scripts/build_datasets.py            # download, select, write (needs network to Debian only)
    python scripts/build_datasets.py --dry-run  # print the selection, write nothing
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import glob
import hashlib
import io
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "fsplit_mobile" / "data" / "images"
CACHE = REPO / ".cache" / "datasets"
SPLITS = ("train", "val", "heldout")
MAX_SIDE = 512
JPEG_QUALITY = 90
MIN_SHORT_SIDE = 200
HASH_DISTANCE = 10
# Fractions of the distinct photos, in hash order: held-out first (it must reach >= 64), then validation.
HELDOUT_FRACTION = 0.40
VAL_FRACTION = 0.15

# Debian package -> glob patterns (relative to the unpacked root) of files that may be photographs.
DEBIAN_SOURCES: dict[str, list[str]] = {
    "plasma-workspace-wallpapers": ["usr/share/wallpapers/*/contents/images/*"],
    "mate-backgrounds": ["usr/share/backgrounds/mate/nature/*", "usr/share/backgrounds/mate/abstract/*"],
    "ukui-wallpapers": ["usr/share/backgrounds/*"],
    "lomiri-wallpapers-16.04": ["usr/share/backgrounds/*"],
    "lomiri-wallpapers-20.04": ["usr/share/backgrounds/*"],
    "opencv-doc": ["usr/share/doc/opencv-doc/examples/data/*"],
    "palapeli-data": ["usr/share/palapeli/collection/*"],
    "gcompris-qt-data": ["rcc:usr/share/gcompris-qt/rcc/*.rcc"],
}
PYPI_SOURCES: dict[str, list[str]] = {
    "scikit-image": ["skimage:data/*"],
    "scikit-learn": ["sklearn:datasets/images/*"],
    "matplotlib": ["matplotlib:mpl-data/sample_data/*"],
}
PYPI_LICENCES = {
    "scikit-image": "see skimage/data/README.txt (public domain / CC0 / CC-BY per image)",
    "scikit-learn": "BSD-3-Clause package; images: see sklearn/datasets/images/README.txt (CC-BY 2.0, Flickr)",
    "matplotlib": "matplotlib licence (PSF-style); grace_hopper.jpg public domain (US Navy photo)",
}
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")

# Files judged by eye not to be photographs (renders, drawings, paintings, screenshots, diagrams), by
# "package:path" glob. Paintings are excluded: the task is natural photographs.
NOT_PHOTOS: list[str] = [
    "plasma-workspace-wallpapers:*/Altai/*",
    "plasma-workspace-wallpapers:*/Cluster/*",
    "plasma-workspace-wallpapers:*/Autumn/*",
    "plasma-workspace-wallpapers:*/Elarun/*",
    "plasma-workspace-wallpapers:*/Cascade/*",
    "plasma-workspace-wallpapers:*/MilkyWay/*",
    "plasma-workspace-wallpapers:*/Flow/*",
    "plasma-workspace-wallpapers:*/FlyingKonqui/*",
    "plasma-workspace-wallpapers:*/Grey/*",
    "plasma-workspace-wallpapers:*/Honeywave/*",
    "plasma-workspace-wallpapers:*/IceCold/*",
    "plasma-workspace-wallpapers:*/Kay/*",
    "plasma-workspace-wallpapers:*/Kite/*",
    "plasma-workspace-wallpapers:*/Kokkini/*",
    "plasma-workspace-wallpapers:*/Opal/*",
    "plasma-workspace-wallpapers:*/PastelHills/*",
    "plasma-workspace-wallpapers:*/Patak/*",
    "plasma-workspace-wallpapers:*/SafeLanding/*",
    "plasma-workspace-wallpapers:*/Shell/*",
    "plasma-workspace-wallpapers:*/Canopee/*",
    "mate-backgrounds:*/abstract/Gulp*",
    "mate-backgrounds:*/abstract/Arc-*",
    "mate-backgrounds:*/abstract/Flow*",
    "mate-backgrounds:*/abstract/Waves*",
    "mate-backgrounds:*/abstract/Spring*",
    "mate-backgrounds:*/abstract/Silk*",
    "mate-backgrounds:*/nature/Blinds*",
    "mate-backgrounds:*/abstract/Elephants*",
    "ukui-wallpapers:*/fluent-color*",
    "ukui-wallpapers:*/rollpaper*",
    "ukui-wallpapers:*/focal-ubuntukylin*",
    "ukui-wallpapers:*/2004default*",
    "ukui-wallpapers:*/firstgeneration*",
    "ukui-wallpapers:*/rhythm*",
    "ukui-wallpapers:*/string*",
    "ukui-wallpapers:*/the-mouse*",
    "ukui-wallpapers:*/calla*",
    "ukui-wallpapers:*/goldfish*",
    "lomiri-wallpapers-16.04:*/greentock*",
    "lomiri-wallpapers-16.04:*/umang*",
    "lomiri-wallpapers-16.04:*/analogpattern*",
    "lomiri-wallpapers-16.04:*/Picture_*_by_freespace*",
    "lomiri-wallpapers-20.04:*/Fossa_*",
    "lomiri-wallpapers-20.04:*/Painting-Colors*",
    "lomiri-wallpapers-20.04:*/Infinite-Sea*",
    "opencv-doc:*/starry_night*",
    "opencv-doc:*/Blender_Suzanne*",
    "opencv-doc:*/opencv-logo*",
    "opencv-doc:*/sudoku*",
    "opencv-doc:*/cards*",
    "opencv-doc:*/ml.png",
    "opencv-doc:*/digits*",
    "opencv-doc:*/gradient*",
    "opencv-doc:*/imageText*",
    "opencv-doc:*/detect_blob*",
    "opencv-doc:*/ellipses*",
    "opencv-doc:*/chessboard*",
    "opencv-doc:*/pic*.png",
    "opencv-doc:*/text_*",
    "opencv-doc:*/notes*",
    "opencv-doc:*/HappyFish*",
    "opencv-doc:*/LinuxLogo*",
    "opencv-doc:*/WindowsLogo*",
    "opencv-doc:*/shapes*",
    "opencv-doc:*/pca_test1*",
    "opencv-doc:*/stuff*",
    "opencv-doc:*/aloeGT*",
    "opencv-doc:*/mask*",
    "scikit-image:*/color.png",
    "scikit-image:*/logo.png",
    "scikit-image:*/ihc.png",
    "scikit-image:*/retina.jpg",
    "scikit-image:*/hubble_deep_field.jpg",
    "scikit-image:*/chessboard*",
    "scikit-image:*/microaneurysms*",
    "scikit-image:*/phantom*",
    "scikit-image:*/horse*",
    "gcompris-qt-data:*/details/*",
    "gcompris-qt-data:*/solar_system/*",
    "gcompris-qt-data:*/digital_electricity/*",
    "gcompris-qt-data:*/louis-braille/*",
    "gcompris-qt-data:*/gravity/*",
    "gcompris-qt-data:*/hangman/*",
    "gcompris-qt-data:*/babyshapes/*",
    "gcompris-qt-data:*/leftright/*",
    "gcompris-qt-data:*/clickgame/*",
    "gcompris-qt-data:*/explore_world_music/*",
    "gcompris-qt-data:*/background*",
    "gcompris-qt-data:*/paintings/*",
]
# Different files of one scene (stereo pairs, frame sequences, edited copies): one photo each.
SAME_SCENE: list[list[str]] = [
    ["scikit-image:*/motorcycle_left.png", "scikit-image:*/motorcycle_right.png"],
    ["opencv-doc:*/aloeL.jpg", "opencv-doc:*/aloeR.jpg"],
    ["opencv-doc:*/basketball1.png", "opencv-doc:*/basketball2.png"],
    ["opencv-doc:*/rubberwhale1.png", "opencv-doc:*/rubberwhale2.png"],
    ["opencv-doc:*/aero1.jpg", "opencv-doc:*/aero3.jpg"],
    ["opencv-doc:*/graf1.png", "opencv-doc:*/graf3.png"],
    ["opencv-doc:*/leuvenA.jpg", "opencv-doc:*/leuvenB.jpg"],
    ["opencv-doc:*/ela_original.jpg", "opencv-doc:*/ela_modified.jpg"],
    ["opencv-doc:*/box.png", "opencv-doc:*/box_in_scene.png"],
    ["opencv-doc:*/left.jpg", "opencv-doc:*/right.jpg"],
    ["opencv-doc:*/tsukuba_l.png", "opencv-doc:*/tsukuba_r.png"],
    # the same monument in two gcompris activities (possibly the same photograph, cropped differently)
    ["gcompris-qt-data:*/tajMahal.webp"],
    ["gcompris-qt-data:*/mountRushmore.webp"],
    ["gcompris-qt-data:*/greatWall*.webp"],
    ["gcompris-qt-data:*/statueO*Liberty.webp"],
    ["gcompris-qt-data:*/christTheRedeemer.webp"],
    ["gcompris-qt-data:*/victoriaMemorial.webp"],
]
# The old bundled default model trained on these and chose runs on those: keep them out of the held-out set.
FORCE_SPLIT = {
    "scikit-image:data/astronaut.png": "train",
    "scikit-image:data/rocket.jpg": "train",
    "scikit-image:data/motorcycle_left.png": "train",
    "scikit-learn:datasets/images/flower.jpg": "train",
    "scikit-image:data/chelsea.png": "val",
    "scikit-image:data/coffee.png": "val",
    "matplotlib:mpl-data/sample_data/grace_hopper.jpg": "val",
    "scikit-learn:datasets/images/china.jpg": "val",
}


@dataclass
class Candidate:
    package: str
    path: str  # inside the package (for gcompris: the path inside its Qt resource bundle)
    data: bytes
    licence: str = ""
    image: Image.Image | None = None
    phash: int = 0
    note: str = ""
    members: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.package}:{self.path}"


# ---- sources ---------------------------------------------------------------------------------------------------
def unpack_deb(package: str) -> Path:
    root = CACHE / "unpacked" / package
    if root.is_dir() and any(root.iterdir()):
        return root
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not glob.glob(str(debs / f"{package}_*.deb")):
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    deb = sorted(glob.glob(str(debs / f"{package}_*.deb")))[-1]
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg", "-x", deb, str(root)], check=True)
    return root


def qt_resources(blob: bytes) -> dict[str, bytes]:
    """Files in a Qt .rcc bundle (format versions 1-3; zlib-compressed entries inflated, zstd ones skipped)."""
    if blob[:4] != b"qres":
        raise ValueError("not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node = 22 if version >= 2 else 14
    files: dict[str, bytes] = {}

    def name(offset: int) -> str:
        n = struct.unpack(">H", blob[names + offset : names + offset + 2])[0]
        return blob[names + offset + 6 : names + offset + 6 + 2 * n].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        o = tree + index * node
        name_offset, flags = struct.unpack(">IH", blob[o : o + 6])
        here = name(name_offset) if index else ""
        if flags & 2:
            count, child = struct.unpack(">II", blob[o + 6 : o + 14])
            for k in range(count):
                walk(child + k, f"{prefix}{here}/" if here else prefix)
            return
        offset = struct.unpack(">I", blob[o + 10 : o + 14])[0]
        size = struct.unpack(">I", blob[data + offset : data + offset + 4])[0]
        raw = blob[data + offset + 4 : data + offset + 4 + size]
        if flags & 4:
            return
        files[prefix + here] = zlib.decompress(raw[4:]) if flags & 1 else raw

    walk(0, "")
    return files


def debian_candidates(package: str, patterns: list[str]) -> list[Candidate]:
    root = unpack_deb(package)
    out = []
    for pattern in patterns:
        if pattern.startswith("rcc:"):
            for bundle in sorted(root.glob(pattern[4:])):
                for inner, blob in sorted(qt_resources(bundle.read_bytes()).items()):
                    if inner.lower().endswith(IMAGE_EXT):
                        out.append(Candidate(package, inner.split("gcompris/", 1)[-1], blob))
            continue
        for f in sorted(root.glob(pattern)):
            if f.is_file() and f.suffix.lower() in IMAGE_EXT:
                out.append(Candidate(package, str(f.relative_to(root)), f.read_bytes()))
    copyright_files = sorted(root.glob("usr/share/doc/*/copyright"))
    text = copyright_files[0].read_text(encoding="utf-8", errors="replace") if copyright_files else ""
    for c in out:
        c.licence = licence_for(text, c.path)
    return out


def pypi_candidates(dist: str, patterns: list[str]) -> list[Candidate]:
    import importlib

    out = []
    for pattern in patterns:
        module, rel = pattern.split(":", 1)
        base = Path(importlib.import_module(module).__file__).resolve().parent
        for f in sorted(base.glob(rel)):
            if f.is_file() and f.suffix.lower() in IMAGE_EXT:
                out.append(
                    Candidate(
                        dist,
                        str(f.relative_to(base.parent if module == "matplotlib" else base)),
                        f.read_bytes(),
                        PYPI_LICENCES[dist],
                    )
                )
    return out


def _no_ext(path: str) -> str:
    return re.sub(r"\.(jpe?g|png|svgz?|webp)$", "", path, flags=re.I)


def licence_for(copyright_text: str, path: str) -> str:
    """Licence of `path` from a Debian copyright file: the last matching DEP-5 `Files:` stanza, else a summary."""
    stanzas = re.split(r"\n\s*\n", copyright_text)
    found = None
    fallback = None
    for stanza in stanzas:
        files = re.search(r"^Files:\s*((?:.*\n?)(?:[ \t]+.*\n?)*)", stanza, re.M)
        lic = re.search(r"^License:\s*(.+)$", stanza, re.M)
        if not files or not lic:
            continue
        for glob_pattern in files.group(1).split():
            if glob_pattern == "*":
                fallback = lic.group(1).strip()
                continue
            # gcompris converts its images to .webp after the copyright file names them (.jpg/.png/.svg)
            stem_pattern, stem_path = _no_ext(glob_pattern), _no_ext(path)
            if (
                fnmatch.fnmatch(stem_path, stem_pattern)
                or fnmatch.fnmatch(stem_path, "*/" + stem_pattern)
                or Path(stem_path).name == Path(stem_pattern).name
            ):
                found = lic.group(1).strip()
    if found or fallback:
        return found or fallback
    names = sorted(
        set(re.findall(r"(CC[- ]BY[- A-Z0-9.]*|GPL[- ]?\d?\+?|LGPL[- ]?[\d.]*\+?|public domain)", copyright_text, re.I))
    )
    return "not machine-readable; mentions: " + ", ".join(n.strip() for n in names[:6])


# ---- filters and hashes -----------------------------------------------------------------------------------------
def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    return np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n))


_DCT32 = _dct_matrix(32)


def perceptual_hash(image: Image.Image) -> int:
    """64-bit pHash: the 8x8 lowest DCT coefficients of the 32x32 grayscale, thresholded at their median."""
    g = np.asarray(image.convert("L").resize((32, 32), Image.BILINEAR), dtype=np.float64)
    d = (_DCT32 @ g @ _DCT32.T)[:8, :8].reshape(-1)
    bits = d[1:] > np.median(d[1:])
    return int("".join("1" if b else "0" for b in bits), 2)


def chroma(image: Image.Image) -> float:
    """Mean distance from gray (0..255) of a small copy: ~0 for grayscale stored as RGB."""
    a = np.asarray(image.resize((64, 64), Image.BILINEAR), dtype=np.float64)
    return float(np.abs(a - a.mean(axis=2, keepdims=True)).mean())


def flat_fraction(image: Image.Image) -> float:
    """Fraction of pixels (256 px copy) equal to their right and lower neighbour: high for graphics/renders."""
    a = np.asarray(image.resize((256, 256), Image.NEAREST), dtype=np.int16)
    same = (np.abs(a[:-1, :-1] - a[1:, :-1]).sum(-1) == 0) & (np.abs(a[:-1, :-1] - a[:-1, 1:]).sum(-1) == 0)
    return float(same.mean())


def matches(key: str, patterns) -> bool:
    return any(fnmatch.fnmatch(key, p) for p in patterns)


def open_rgb(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def select(candidates: list[Candidate], log) -> list[Candidate]:
    """Filter and dedupe; returns one representative per distinct photograph (its `members` list the rest)."""
    kept: list[Candidate] = []
    for c in candidates:
        if matches(c.key, NOT_PHOTOS):
            continue
        try:
            image = open_rgb(c.data)
        except Exception as exc:  # noqa: BLE001 - report and skip unreadable files
            log(f"skip {c.key}: unreadable ({exc})")
            continue
        if min(image.size) < MIN_SHORT_SIDE:
            continue
        if chroma(image) < 4.0:
            log(f"skip {c.key}: grayscale")
            continue
        if flat_fraction(image) > 0.25:
            log(f"skip {c.key}: flat areas (graphics)")
            continue
        c.image, c.phash = image, perceptual_hash(image)
        kept.append(c)
    # union-find over near-identical hashes and explicit scene groups
    parent = list(range(len(kept)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(kept)):
        for j in range(i):
            if bin(kept[i].phash ^ kept[j].phash).count("1") <= HASH_DISTANCE:
                parent[find(i)] = find(j)
    for group in SAME_SCENE:
        idx = [i for i, c in enumerate(kept) if matches(c.key, group)]
        for i in idx[1:]:
            parent[find(i)] = find(idx[0])
    groups: dict[int, list[Candidate]] = {}
    for i, c in enumerate(kept):
        groups.setdefault(find(i), []).append(c)
    reps = []
    for members in groups.values():
        forced = [m for m in members if m.key in FORCE_SPLIT]
        rep = forced[0] if forced else max(members, key=lambda m: (m.image.size[0] * m.image.size[1], m.key))
        rep.members = sorted(m.key for m in members if m is not rep)
        reps.append(rep)
    return sorted(reps, key=lambda r: r.key)


def assign_splits(reps: list[Candidate]) -> dict[str, list[Candidate]]:
    order = sorted(reps, key=lambda r: hashlib.sha256(f"fsplit-split-v1:{r.key}".encode()).hexdigest())
    forced = {r.key: FORCE_SPLIT[r.key] for r in reps if r.key in FORCE_SPLIT}
    for r in reps:  # a forced member pulls its whole group
        for m in r.members:
            if m in FORCE_SPLIT:
                forced[r.key] = FORCE_SPLIT[m]
    free = [r for r in order if r.key not in forced]
    n_held = max(64, round(HELDOUT_FRACTION * len(reps)))
    n_val = round(VAL_FRACTION * len(reps)) - sum(1 for s in forced.values() if s == "val")
    splits: dict[str, list[Candidate]] = {s: [] for s in SPLITS}
    for i, r in enumerate(free):
        split = "heldout" if i < n_held else "val" if i < n_held + max(0, n_val) else "train"
        splits[split].append(r)
    for r in order:
        if r.key in forced:
            splits[forced[r.key]].append(r)
    return splits


def file_name(c: Candidate) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(c.path).stem).strip("_").lower()
    if c.package.startswith("plasma"):
        stem = re.sub(r"[^A-Za-z0-9]+", "_", c.path.split("/")[3]).lower()
    short = re.sub(r"[^a-z0-9]+", "", c.package.split("-")[0])[:8]
    return f"{short}_{stem}"[:60] + ".jpg"


def write(splits: dict[str, list[Candidate]]) -> Path:
    rows = []
    for split in SPLITS:
        folder = OUT_DIR / split
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        names: set[str] = set()
        for c in sorted(splits[split], key=file_name):
            name = file_name(c)
            if name in names:
                name = name[:-4] + f"_{c.phash & 0xFFFF:04x}.jpg"
            names.add(name)
            image = c.image
            if max(image.size) > MAX_SIDE:
                scale = MAX_SIDE / max(image.size)
                image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.LANCZOS)
            image.save(folder / name, quality=JPEG_QUALITY)
            rows.append(
                {
                    "file": f"{split}/{name}",
                    "split": split,
                    "package": c.package,
                    "path": c.path,
                    "licence": c.licence,
                    "original_size": f"{c.image.size[0]}x{c.image.size[1]}",
                    "phash": f"{c.phash:016x}",
                    "duplicates": " ".join(c.members),
                }
            )
    manifest = OUT_DIR / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the selection, write nothing")
    parser.add_argument("--verbose", action="store_true", help="print every skipped file")
    args = parser.parse_args(argv)
    log = print if args.verbose else (lambda *_: None)
    candidates: list[Candidate] = []
    for package, patterns in DEBIAN_SOURCES.items():
        candidates += debian_candidates(package, patterns)
    for dist, patterns in PYPI_SOURCES.items():
        candidates += pypi_candidates(dist, patterns)
    reps = select(candidates, log)
    splits = assign_splits(reps)
    for split in SPLITS:
        print(f"{split}: {len(splits[split])} photos")
        for c in splits[split]:
            print(f"  {c.key}" + (f"  (+{len(c.members)} copies)" if c.members else ""))
    print(f"{len(candidates)} candidate files -> {len(reps)} distinct colour photographs")
    if len(splits["heldout"]) < 64:
        print(f"WARNING: only {len(splits['heldout'])} held-out photos (< 64)", file=sys.stderr)
    if not args.dry_run:
        print(f"wrote {write(splits)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
