"""Rate cost of the interleaved payload v2 against the single stream, on the bundled default's latents of images
the project does not hold out (the calibration and validation splits), every rate point and lane count.

    .venv/bin/python benchmarks/codec/v2_rate.py [--base REV] [--out benchmarks/results/codec-v2-rate.md]

Sizes are whole containers (what crosses the link). ``--base REV`` adds the columns of payload v2 as revision REV
defined it, from that revision's pure-Python model (``git show``), coded on the same latents.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fsplit_mobile.codec import CodecTables, encode_latent  # noqa: E402
from fsplit_mobile.codec.container import HEADER_SIZE  # noqa: E402
from fsplit_mobile.demo import preprocess  # noqa: E402
from fsplit_mobile.models.bundled import BUNDLED_DEFAULT, load_rate_points  # noqa: E402

LANES = (8, 16, 32)
SPLITS = ("calib", "val")  # never the held-out photographs


def base_model(rev: str) -> types.ModuleType:
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:fsplit_mobile/codec/reference_interleaved2.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    mod = types.ModuleType(f"reference_interleaved2_{rev}")
    exec(
        compile(src.replace("from .reference import", "from fsplit_mobile.codec.reference import"), rev, "exec"),
        mod.__dict__,
    )
    return mod


def images() -> list[Path]:
    base = ROOT / "fsplit_mobile" / "data" / "images"
    return [p for s in SPLITS for p in sorted((base / s).iterdir()) if p.suffix.lower() in (".jpg", ".jpeg", ".png")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="git revision whose payload v2 model gives the 'before' columns")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "codec-v2-rate.md"))
    args = ap.parse_args()
    old = base_model(args.base) if args.base else None
    files = images()
    rows = []
    for name, model in load_rate_points(with_server=False).items():
        eb = model.device.entropy_bottleneck
        cdf, lengths, offsets = eb.tables()
        tables = CodecTables.from_arrays(cdf, lengths, offsets, eb.precision)
        cdfs = [[int(v) for v in np.asarray(cdf)[c, : int(lengths[c])]] for c in range(len(lengths))]
        offs = [int(o) for o in offsets]
        total = {"single": 0, **{lanes: 0 for lanes in LANES}, **{("base", lanes): 0 for lanes in LANES}}
        for f in files:
            x = preprocess(f, model.input_size, model.mean, model.std)
            with torch.no_grad():
                s = np.ascontiguousarray(model.device.symbols(x)[0].numpy())
            total["single"] += len(encode_latent(tables, s, payload_format="single"))
            for lanes in LANES:
                total[lanes] += len(encode_latent(tables, s, payload_format="interleaved2", lanes=lanes))
            if old is not None:
                c, h, w = s.shape
                rows_of = [ch for ch in range(c) for _ in range(h * w)]
                flat = [int(v) for v in s.reshape(-1)]
                for lanes in LANES:
                    total[("base", lanes)] += HEADER_SIZE + len(
                        old.encode(flat, rows_of, cdfs, offs, lanes, eb.precision)
                    )
        rows.append((name, tuple(model.latent_shape()), total))
    lines = [
        f"# Payload v2 rate cost on the default's latents ({time.strftime('%Y-%m-%d %H:%M:%S')})",
        "",
        f"Model: {BUNDLED_DEFAULT.name}, every rate point; {len(files)} images of the {' and '.join(SPLITS)} splits "
        "(never the held-out photographs). Bytes are whole containers, mean per image; the cost is against the "
        f"single stream of the same latent. Machine: {platform.platform()}. Command: "
        f"`python benchmarks/codec/v2_rate.py{' --base ' + args.base if args.base else ''}`.",
        "",
    ]
    head = "| rate point | latent | single B | " + " | ".join(f"v2 {n} lanes B (cost)" for n in LANES)
    if old is not None:
        head += " | " + " | ".join(f"v2 at {args.base} {n} lanes (cost)" for n in LANES)
    lines += [head + " |", "|" + "---|" * (3 + len(LANES) * (2 if old is not None else 1))]
    n = len(files)
    for name, shape, t in rows:
        single = t["single"]
        cells = [f"{t[k] / n:.1f} ({100 * (t[k] / single - 1):+.2f} %)" for k in LANES]
        if old is not None:
            cells += [f"{t[('base', k)] / n:.1f} ({100 * (t[('base', k)] / single - 1):+.2f} %)" for k in LANES]
        lines.append(f"| {name} | {'x'.join(map(str, shape))} | {single / n:.1f} | " + " | ".join(cells) + " |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
