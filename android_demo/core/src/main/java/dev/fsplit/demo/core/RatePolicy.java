package dev.fsplit.demo.core;

import java.util.List;

/**
 * Which rate point to send, the same policy as the Python client (fsplit_mobile/runtime/rate_policy.py): among
 * the measured rate points, the largest whose transfer time, expectedBytes * 8 / bandwidth, fits the latency
 * budget; when none fits, the smallest; without a bandwidth estimate (NaN) the largest. Ties in size go to the
 * lower index.
 */
public final class RatePolicy {
    private RatePolicy() {
    }

    /** Transfer time in ms of {@code bytes} at {@code bandwidthBps} bit/s. */
    public static double transferMs(double bytes, double bandwidthBps) {
        return bytes * 8.0 / bandwidthBps * 1e3;
    }

    /**
     * The policy's choice. {@code bandwidthBps} NaN means no estimate yet (the largest point is taken); a
     * non-positive estimate or budget is refused.
     */
    public static RatePoint choose(List<RatePoint> points, double bandwidthBps, double latencyBudgetMs) {
        if (!(latencyBudgetMs > 0)) {
            throw new IllegalArgumentException("latency budget must be positive, got " + latencyBudgetMs + " ms");
        }
        if (!Double.isNaN(bandwidthBps) && !(bandwidthBps > 0)) {
            throw new IllegalArgumentException("bandwidth estimate must be positive, got " + bandwidthBps + " bit/s");
        }
        RatePoint largest = null;
        RatePoint smallest = null;
        RatePoint best = null;
        for (RatePoint p : points) {
            if (!p.measured()) {
                continue;
            }
            if (largest == null || larger(p, largest)) {
                largest = p;
            }
            if (smallest == null || p.expectedBytes < smallest.expectedBytes
                    || (p.expectedBytes == smallest.expectedBytes && p.index < smallest.index)) {
                smallest = p;
            }
            boolean fits = !Double.isNaN(bandwidthBps) && transferMs(p.expectedBytes, bandwidthBps) <= latencyBudgetMs;
            if (fits && (best == null || larger(p, best))) {
                best = p;
            }
        }
        if (largest == null) {
            throw new IllegalArgumentException("no rate point has a measured size (manifest rate_points[].measured"
                    + ".bytes_mean): choose one by index");
        }
        if (Double.isNaN(bandwidthBps)) {
            return largest;
        }
        return best != null ? best : smallest;
    }

    /** The rate point with this index. */
    public static RatePoint fixed(List<RatePoint> points, int index) {
        StringBuilder have = new StringBuilder();
        for (RatePoint p : points) {
            if (p.index == index) {
                return p;
            }
            have.append(have.length() == 0 ? "" : ", ").append(p.index);
        }
        throw new IllegalArgumentException("no rate point " + index + " in this artifact (has " + have + ")");
    }

    private static boolean larger(RatePoint a, RatePoint b) {
        return a.expectedBytes > b.expectedBytes || (a.expectedBytes == b.expectedBytes && a.index < b.index);
    }
}
