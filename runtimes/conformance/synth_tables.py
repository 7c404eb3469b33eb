"""Build realistic CompressAI-style entropy-bottleneck tables from a parametric distribution.

Stand-in for a trained model's tables: per channel a Laplace density of y - median with a
log-uniform scale, turned into CDF tables the way CompressAI's EntropyBottleneck.update() does
(tail mass 1e-9, offsets = -minima, lengths = pmf_length + 2, CompressAI's own
pmf_to_quantized_cdf loaded from $FSPLIT_ORACLE_DIR). Also samples latents from those densities.

    python runtimes/conformance/synth_tables.py --channels 48 --seed 48 --out tables.fsct
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import math
import os

import numpy as np

TAIL_MASS = 1e-9


def load_oracle_pmf_to_quantized_cdf():
    """CompressAI's compiled pmf_to_quantized_cdf, loaded from the wheel without importing compressai."""
    root = os.environ.get("FSPLIT_ORACLE_DIR") or os.path.join(os.path.dirname(__file__), "../../.cache/oracle")
    found = glob.glob(os.path.join(root, "compressai", "_CXX.cpython-*.so"))
    if not found:
        raise SystemExit(
            f"CompressAI oracle not found under {root!r}: run `make test` setup or "
            "`pip install --no-deps --target .cache/oracle compressai==1.2.8`"
        )
    # The resolved path: CPython caches a single-phase extension by (file name, module name), and CompressAI's
    # pybind11 _CXX re-initialises its static module definition when imported again under another spelling of
    # the same file (tests/oracle.py loads it too), which frees static memory at exit ("free(): invalid pointer";
    # benchmarks/results/codec_abort.md).
    spec = importlib.util.spec_from_file_location("compressai._CXX", os.path.realpath(found[0]))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pmf_to_quantized_cdf


def channel_scales(channels: int, seed: int) -> np.ndarray:
    """Laplace scales, log-uniform in [0.15, 6]: some channels nearly constant, some wide."""
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(math.log(0.15), math.log(6.0), channels))


def laplace_cdf(x: np.ndarray, scale: float) -> np.ndarray:
    return np.where(x < 0, 0.5 * np.exp(np.minimum(x, 0) / scale), 1 - 0.5 * np.exp(-np.maximum(x, 0) / scale))


def synthesize(channels: int, seed: int):
    """Return (quantized_cdf (C, Lmax) int32, cdf_length (C,), offset (C,), scales)."""
    pmf_to_cdf = load_oracle_pmf_to_quantized_cdf()
    scales = channel_scales(channels, seed)
    rows, lengths, offsets = [], [], []
    for scale in scales:
        # quantiles at tail_mass / 2 on each side, as EntropyBottleneck learns them
        reach = scale * math.log(1.0 / TAIL_MASS)
        minima = max(0, math.ceil(reach))
        maxima = max(0, math.ceil(reach))
        samples = np.arange(-minima, maxima + 1, dtype=np.float64)
        pmf = laplace_cdf(samples + 0.5, scale) - laplace_cdf(samples - 0.5, scale)
        tail = laplace_cdf(np.array([-minima - 0.5]), scale)[0] + 1 - laplace_cdf(np.array([maxima + 0.5]), scale)[0]
        cdf = pmf_to_cdf(pmf.tolist() + [float(tail)], 16)
        rows.append(cdf)
        lengths.append(len(samples) + 2)
        offsets.append(-minima)
    width = max(lengths)
    quantized = np.zeros((channels, width), dtype=np.int32)
    for c, row in enumerate(rows):
        quantized[c, : len(row)] = row
    return quantized, np.array(lengths, dtype=np.int32), np.array(offsets, dtype=np.int32), scales


def sample_latent(tables, height: int, width: int, seed: int) -> np.ndarray:
    """Symbols drawn from each channel's own quantized distribution (escape slot -> a value just
    outside the table's range), shape (C, H, W) int32."""
    rng = np.random.default_rng(seed)
    out = np.empty((tables.num_channels, height, width), dtype=np.int32)
    for c in range(tables.num_channels):
        n = int(tables.cdf_length[c])
        cdf = tables.quantized_cdf[c, :n].astype(np.int64)
        u = rng.integers(0, 1 << tables.precision, height * width)
        slot = np.searchsorted(cdf, u, side="right") - 1
        values = slot.astype(np.int64)
        escape = slot == n - 2
        values[escape] = np.where(
            rng.random(int(escape.sum())) < 0.5,
            -1 - rng.integers(0, 40, int(escape.sum())),
            n - 2 + rng.integers(0, 40, int(escape.sum())),
        )
        out[c] = (values + int(tables.offset[c])).reshape(height, width)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channels", type=int, default=48)
    ap.add_argument("--seed", type=int, default=48)
    ap.add_argument("--out", required=True, help="output .fsct path")
    args = ap.parse_args()
    from fsplit_mobile.codec import CodecTables

    cdf, lengths, offsets, _ = synthesize(args.channels, args.seed)
    tables = CodecTables.from_arrays(cdf, lengths, offsets)
    tables.write(args.out)
    print(f"wrote {args.out}: {tables}")


if __name__ == "__main__":
    main()
