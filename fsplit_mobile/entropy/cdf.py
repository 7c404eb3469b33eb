"""Integer CDF tables with the semantics of CompressAI's `pmf_to_quantized_cdf` (C++ core, >= 1.2.5).

Each probability (as float32) is scaled by 2^precision and rounded half away from zero; the frequencies are
rescaled by integer division so they sum to at most 2^precision; the prefix sum's last entry is forced to
2^precision; every zero-width slot steals one unit from the smallest slot whose frequency is above one.
"""

import numpy as np


class TableBuildError(ValueError):
    """A pmf cannot be turned into a valid CDF table."""


def _round_half_away(x: np.ndarray) -> np.ndarray:
    floor = np.floor(x)
    return floor + ((x - floor) >= np.float32(0.5))


def pmf_to_quantized_cdf(pmf, precision: int = 16) -> np.ndarray:
    """Return the int32 CDF (length len(pmf) + 1) of `pmf` at `precision` bits."""
    if not 1 <= precision <= 16:
        raise TableBuildError(f"precision must be in 1..16, got {precision}")
    p = np.asarray(pmf, dtype=np.float32).ravel()
    if p.size == 0:
        raise TableBuildError("empty pmf")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise TableBuildError("pmf entries must be finite and non-negative")
    if p.size > 1 << precision:  # every symbol needs at least one unit of the 2^precision total
        raise TableBuildError(f"too many symbols ({p.size}) for {precision}-bit precision")
    scale = np.uint64(1 << precision)
    freq = _round_half_away(p * np.float32(1 << precision)).astype(np.uint64)
    total = int(freq.sum())
    if total == 0:
        raise TableBuildError("pmf sums to zero after quantization")
    freq = (scale * freq) // np.uint64(total)
    cdf = np.zeros(p.size + 1, dtype=np.int64)
    np.cumsum(freq, out=cdf[1:])
    cdf[-1] = 1 << precision
    for i in range(p.size):
        if cdf[i] != cdf[i + 1]:
            continue
        widths = np.diff(cdf)
        candidates = np.where(widths > 1, widths, np.iinfo(np.int64).max)
        steal = int(np.argmin(candidates))
        if candidates[steal] == np.iinfo(np.int64).max:
            raise TableBuildError("no slot to steal a unit from: too many symbols for this precision")
        if steal < i:
            cdf[steal + 1 : i + 1] -= 1
        else:
            cdf[i + 1 : steal + 1] += 1
    return cdf.astype(np.int32)
