"""Which rate point to send: fixed, or from a bandwidth estimate (the same policy as the Java core's RatePolicy).

Policy: among the rate points with a measured size (manifest `rate_points[].measured.bytes_mean`), take the
largest one whose transfer time at the estimated bandwidth, bytes * 8 / bandwidth, fits the latency budget;
when none fits, the smallest one (the request is late either way; the smallest is the least late). Ties in size go
to the lower index. Without a bandwidth estimate the largest point is taken (nothing says it will not fit).

`BandwidthEstimator` keeps an exponentially weighted mean of the observed goodput (payload bits over the request
time the server did not spend computing), so a client adapts from its own requests.
"""

from __future__ import annotations

from collections.abc import Sequence

from .rate_points import RatePoint


class RatePolicyError(ValueError):
    """A rate point or policy setting that cannot be used (names it)."""


def transfer_ms(payload_bytes: float, bandwidth_bps: float) -> float:
    return payload_bytes * 8.0 / bandwidth_bps * 1e3


def choose(points: Sequence[RatePoint], bandwidth_bps: float | None, latency_budget_ms: float) -> RatePoint:
    """The rate point the policy above picks."""
    sized = [(float(p.expected_bytes), p) for p in points if p.expected_bytes is not None]
    if not sized:
        raise RatePolicyError(
            "no rate point has a measured size (manifest rate_points[].measured.bytes_mean): choose one by index"
        )
    if latency_budget_ms <= 0:
        raise RatePolicyError(f"latency budget must be positive, got {latency_budget_ms} ms")
    # ascending size; among equal sizes the lower index comes last, so [-1] is the largest, lowest-index point
    by_size = sorted(sized, key=lambda sp: (sp[0], -sp[1].index))
    if bandwidth_bps is None:
        return by_size[-1][1]
    if bandwidth_bps <= 0:
        raise RatePolicyError(f"bandwidth estimate must be positive, got {bandwidth_bps} bit/s")
    fitting = [sp for sp in by_size if transfer_ms(sp[0], bandwidth_bps) <= latency_budget_ms]
    if not fitting:
        return min(sized, key=lambda sp: (sp[0], sp[1].index))[1]
    return fitting[-1][1]


def fixed(points: Sequence[RatePoint], index: int) -> RatePoint:
    for p in points:
        if p.index == index:
            return p
    raise RatePolicyError(f"no rate point {index} in this artifact (has {', '.join(str(p.index) for p in points)})")


class BandwidthEstimator:
    """EWMA of observed goodput in bit/s; `alpha` is the weight of the newest sample."""

    def __init__(self, initial_bps: float | None = None, alpha: float = 0.3):
        if not 0 < alpha <= 1:
            raise RatePolicyError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha, self.bps = alpha, initial_bps

    def observe(self, payload_bytes: int, network_ms: float) -> float | None:
        """Fold in one request (bytes sent, ms on the network); a sample under 0.05 ms carries no information."""
        if network_ms >= 0.05 and payload_bytes > 0:
            sample = payload_bytes * 8.0 / (network_ms / 1e3)
            self.bps = sample if self.bps is None else self.alpha * sample + (1 - self.alpha) * self.bps
        return self.bps
