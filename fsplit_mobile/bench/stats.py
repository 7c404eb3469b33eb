"""Summary statistics of latency samples (milliseconds)."""

import math

SUMMARY_KEYS = ("n", "min", "p50", "p90", "p99", "max", "mean", "stddev")


def percentile(sorted_values, q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of already sorted values (numpy's default method)."""
    if not sorted_values:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be in 0..100, got {q}")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(values) -> dict:
    """n, min, p50, p90, p99, max, mean and sample stddev (0 for one sample) of a list of numbers."""
    v = sorted(float(x) for x in values)
    if not v:
        return {"n": 0}
    mean = math.fsum(v) / len(v)
    var = math.fsum((x - mean) ** 2 for x in v) / (len(v) - 1) if len(v) > 1 else 0.0
    return {
        "n": len(v),
        "min": v[0],
        "p50": percentile(v, 50),
        "p90": percentile(v, 90),
        "p99": percentile(v, 99),
        "max": v[-1],
        "mean": mean,
        "stddev": math.sqrt(var),
    }
