#!/usr/bin/env python3
"""Build the training-only extra image pool (issue 20): more inputs for distillation, never for choosing or scoring.

Why: distillation needs no labels (the teacher labels every input), and the lightweight split model overfits its
105 training photographs (training agreement 0.60, validation 0.30-0.38). The pool adds every other usable colour
image that the photo sets' Debian packages and a few more packages ship: drawings, paintings, renders, game and
documentation pictures, photographs of documentation pages. It is used for training only:
- every image of the validation and held-out sets (and their recorded duplicates) is excluded by key, and every
  candidate within a perceptual-hash distance of EXCLUDE_DISTANCE (looser than the sets' own dedupe) of any
  validation or held-out photo is dropped; `SAME_SCENE` groups of build_datasets.py that hold a validation or
  held-out photo are dropped whole; gcompris' `details` activity (crops of other pictures) is skipped;
- the training photos themselves are skipped (they are in the photo set already);
- the rest is filtered as the photo sets are (short side >= 200 px, colour, not mostly flat graphics) and
  deduplicated by the same hash.
The images are written under .cache/extra_pool/ (long side <= 512 px, JPEG q90; not committed, rebuilt by this
script: it needs network access to Debian only); their sources and licences go to
fsplit_mobile/data/images/extra_manifest.csv, which is committed.

    python scripts/build_extra_pool.py            # download, select, write
    python scripts/build_extra_pool.py --dry-run  # print counts per package, write nothing
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_datasets as photos  # noqa: E402  (the photo sets' sources, filters and hash)

REPO = photos.REPO
POOL_DIR = REPO / ".cache" / "extra_pool"
MANIFEST = photos.OUT_DIR / "extra_manifest.csv"
EXCLUDE_DISTANCE = 14
# The photo sets' packages (all their images this time) plus packages whose pictures are not photographs or were
# not searched for the photo sets.
EXTRA_SOURCES: dict[str, list[str]] = {
    **photos.DEBIAN_SOURCES,
    "gimp-help-en": ["usr/share/gimp/2.0/help/en/images/**/*"],
    "cimg-doc": ["usr/share/doc/cimg-dev/html/img/*"],
    "eyes17": ["usr/share/eyes17/**/*"],
    "fotoxx-common": ["usr/share/fotoxx/images/*"],
    "libdlib19.1": ["usr/share/doc/libdlib19.1/examples/**/*"],
    "libvisp-doc": ["usr/share/doc/libvisp-dev/html/*"],
    "pysiogame": ["usr/share/games/pysiogame/res/images/**/*"],
    "visp-images-data": ["usr/share/visp-images-data/**/*"],
}
SKIP = ["gcompris-qt-data:*/details/*"]
# Packages whose own copyright file is a link into another package (not unpacked here): the licence it states.
LICENCE_OF_PACKAGE = {"gimp-help-en": "GFDL-NIV-1.2+ (gimp-help-common's copyright, Files: *)"}


def read_sets() -> tuple[list[dict], set[str]]:
    """(manifest rows of the photo sets, every package:path key they hold, duplicates included)."""
    with open(photos.OUT_DIR / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keys = set()
    for r in rows:
        keys.add(f"{r['package']}:{r['path']}")
        keys.update(k for k in r["duplicates"].split() if k)
    return rows, keys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    rows, set_keys = read_sets()
    held = [int(r["phash"], 16) for r in rows if r["split"] in ("val", "heldout")]
    held_keys = {f"{r['package']}:{r['path']}" for r in rows if r["split"] in ("val", "heldout")}
    for r in rows:
        if r["split"] in ("val", "heldout"):
            held_keys.update(k for k in r["duplicates"].split() if k)
    held_groups = [g for g in photos.SAME_SCENE if any(photos.matches(k, g) for k in held_keys)]
    candidates = []
    for package, patterns in EXTRA_SOURCES.items():
        candidates += photos.debian_candidates(package, patterns)
    kept, counts = [], {}
    for c in candidates:
        c.licence = LICENCE_OF_PACKAGE.get(c.package, c.licence)
        if c.key in set_keys or photos.matches(c.key, SKIP) or any(photos.matches(c.key, g) for g in held_groups):
            continue
        try:
            image = photos.open_rgb(c.data)
        except Exception:  # noqa: BLE001 - unreadable files are skipped, as in the photo sets
            continue
        if min(image.size) < photos.MIN_SHORT_SIDE or photos.chroma(image) < 4.0 or photos.flat_fraction(image) > 0.25:
            continue
        c.image, c.phash = image, photos.perceptual_hash(image)
        if min(bin(c.phash ^ h).count("1") for h in held) <= EXCLUDE_DISTANCE:
            counts.setdefault(c.package, [0, 0])[1] += 1
            continue
        kept.append(c)
    # dedupe within the pool, and against the training photos (already in the photo set)
    train = [int(r["phash"], 16) for r in rows if r["split"] == "train"]
    pool: list = []
    for c in sorted(kept, key=lambda c: (-c.image.size[0] * c.image.size[1], c.key)):
        if any(bin(c.phash ^ h).count("1") <= photos.HASH_DISTANCE for h in train):
            continue
        if any(bin(c.phash ^ p.phash).count("1") <= photos.HASH_DISTANCE for p in pool):
            continue
        pool.append(c)
    for c in pool:
        counts.setdefault(c.package, [0, 0])[0] += 1
    for package, (n, near) in sorted(counts.items()):
        print(f"{package}: {n} images" + (f" ({near} dropped: near a validation/held-out photo)" if near else ""))
    print(f"{len(candidates)} candidate files -> {len(pool)} pool images")
    if args.dry_run:
        return 0
    POOL_DIR.mkdir(parents=True, exist_ok=True)
    for old in POOL_DIR.glob("*.jpg"):
        old.unlink()
    out, names = [], set()
    for c in sorted(pool, key=lambda c: c.key):
        name = photos.file_name(c)
        if name in names:
            name = name[:-4] + f"_{c.phash & 0xFFFF:04x}.jpg"
        names.add(name)
        image = c.image
        if max(image.size) > photos.MAX_SIDE:
            scale = photos.MAX_SIDE / max(image.size)
            image = image.resize((round(image.size[0] * scale), round(image.size[1] * scale)), Image.LANCZOS)
        image.save(POOL_DIR / name, quality=photos.JPEG_QUALITY)
        out.append(
            {
                "file": name,
                "package": c.package,
                "path": c.path,
                "licence": c.licence,
                "original_size": f"{c.image.size[0]}x{c.image.size[1]}",
                "phash": f"{c.phash:016x}",
            }
        )
    with open(MANIFEST, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(out[0]))
        writer.writeheader()
        writer.writerows(out)
    print(f"wrote {len(out)} images to {POOL_DIR} and {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
