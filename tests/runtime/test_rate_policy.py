"""The rate point policy of the Python client (runtime/rate_policy.py; the Java core's RatePolicy is the same):
the largest measured point whose transfer fits the latency budget, else the smallest; ties to the lower index;
the bandwidth estimator's EWMA."""

import pytest

from fsplit_mobile.runtime.rate_points import RatePoint
from fsplit_mobile.runtime.rate_policy import BandwidthEstimator, RatePolicyError, choose, fixed, transfer_ms


def _point(index, size):
    return RatePoint(
        index=index, name=f"r{index}", table_hash="h", latent_shape=(1, 1, 1), expected_bytes=size, bpp=None
    )


POINTS = [_point(0, 4000.0), _point(1, 2000.0), _point(2, 1000.0)]


@pytest.mark.parametrize("bandwidth, want", [(3.3e6, 0), (3.1e6, 1), (1.7e6, 1), (1.5e6, 2), (1e3, 2), (None, 0)])
def test_largest_point_that_fits_a_10_ms_budget(bandwidth, want):
    # 10 ms: 4000 B needs 3.2 Mbit/s, 2000 B 1.6 Mbit/s, 1000 B 0.8 Mbit/s; nothing fits 1 kbit/s: the smallest
    assert choose(POINTS, bandwidth, 10.0).index == want


def test_ties_unmeasured_points_and_refusals():
    tied = [_point(3, 500.0), _point(1, 500.0), _point(0, None)]
    assert choose(tied, 1e9, 10.0).index == 1
    assert choose(tied, 1.0, 10.0).index == 1
    assert transfer_ms(1000, 200e3) == pytest.approx(40.0)
    with pytest.raises(RatePolicyError, match="bandwidth"):
        choose(POINTS, 0.0, 10.0)
    with pytest.raises(RatePolicyError, match="budget"):
        choose(POINTS, 1e6, 0.0)
    with pytest.raises(RatePolicyError, match="measured size"):
        choose([_point(0, None)], 1e6, 10.0)
    assert fixed(POINTS, 2).index == 2
    with pytest.raises(RatePolicyError, match="no rate point 9"):
        fixed(POINTS, 9)


def test_bandwidth_estimator_is_an_ewma_of_goodput():
    est = BandwidthEstimator(alpha=0.5)
    assert est.observe(1000, 0.01) is None  # too short to mean anything
    assert est.observe(1000, 8.0) == pytest.approx(1e6)  # 8000 bits in 8 ms
    assert est.observe(1000, 2.0) == pytest.approx(0.5 * 4e6 + 0.5 * 1e6)
    with pytest.raises(RatePolicyError):
        BandwidthEstimator(alpha=0.0)
