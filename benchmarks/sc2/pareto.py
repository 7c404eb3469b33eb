"""SC2's three criteria in one figure: teacher top-1 agreement vs bytes per crop, one curve per bundled model (its
rate points; the legend states the device compute, MACs counted from the exported encoder graph, and their share of
the full network) and one curve per image codec (WebP, JPEG: the device runs only the codec).

Input: the JSON of `python -m fsplit_mobile.evaluation.compare --json` (one run, all methods on the same crops);
`--also` adds the split models of further runs on the same crops (the same split and crops, checked).

    python benchmarks/sc2/pareto.py benchmarks/results/sc2/heldout.json --out benchmarks/results/sc2/pareto.png
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def curves(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped into curves: a codec's qualities, or a checkpoint's rate points; each sorted by bytes."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "offload":
            codec, _, side = r["method"].partition("@")  # "webp-q5" or "webp-q5@112" (offloaded downscaled)
            size = f" at {side}x{side}" if side else ""
            key = codec.split("-q")[0].upper() + size + " (device: codec only)"
        else:
            key = f"{r['method'].split(':')[0]} (device {r['device_macs'] / 1e6:.1f} M MACs, {100 * r['share']:.1f} %)"
        out[key].append(r)
    return {k: sorted(v, key=lambda r: r["bytes_mean"]) for k, v in out.items()}


def plot(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, rows in curves(result["rows"]).items():
        split = rows[0]["kind"] == "split"
        ax.plot(
            [r["bytes_mean"] for r in rows],
            [r["agreement"] for r in rows],
            marker="o" if split else ".",
            linestyle="-" if split else "--",
            linewidth=2 if split else 1,
            label=name,
        )
        if split and len(rows) > 1:
            for r in rows:
                ax.annotate(r["method"].split(":")[-1], (r["bytes_mean"], r["agreement"]), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("bytes per 224x224 crop (mean, real coded streams / codec files)")
    ax.set_ylabel("top-1 agreement with the unsplit teacher")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"{result['crops']} crops of the {result['split']} split ({result['photos']} photos)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def merged(result: dict, others: list[dict]) -> dict:
    """`result` with the split-model rows of `others` added; each must be a run on the same crops."""
    rows = list(result["rows"])
    for other in others:
        for key in ("split", "crops", "photos"):
            if other.get(key) != result.get(key):
                raise SystemExit(f"--also: {key} is {other.get(key)!r}, the main result's {result.get(key)!r}")
        rows += [r for r in other["rows"] if r["kind"] == "split"]
    return {**result, "rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path, help="compare.py --json output")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--also", type=Path, action="append", default=[], help="another run's JSON: its split models")
    args = parser.parse_args(argv)
    others = [json.loads(p.read_text(encoding="utf-8")) for p in args.also]
    plot(merged(json.loads(args.result.read_text(encoding="utf-8")), others), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
