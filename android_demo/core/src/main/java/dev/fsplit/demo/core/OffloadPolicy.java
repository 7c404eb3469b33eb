package dev.fsplit.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where to run one request: on the device (local), split at a rate point, or offloaded as a JPEG/WebP image. The
 * same rule as the Python client (fsplit_mobile/runtime/offload_policy.py); both are checked against one table of
 * cases (tests/data/offload_policy_cases.tsv).
 *
 * <p>Latency of an option: local = deviceMs; split and offload = deviceMs + rttMs + wireBytes * 8 /
 * (bandwidthMbit * 1000) + serverMs, without the transfer term when there is no bandwidth estimate (NaN). Among
 * the options whose agreement reaches the floor (agreement + 1e-9 &gt;= minAgreement; local inference has agreement
 * 1.0), the lowest latency wins; exact ties go to the higher agreement, then local before split before offload,
 * then to the earlier option in the list.
 */
public final class OffloadPolicy {
    /** A floor equal to an option's own agreement is met (agreements are fractions of a sample count). */
    public static final double AGREEMENT_SLACK = 1e-9;

    private OffloadPolicy() {
    }

    /** The kinds of option, in tie order. */
    public enum Kind {
        LOCAL, SPLIT, OFFLOAD;

        /** "local", "split" or "offload". */
        public static Kind parse(String text) {
            for (Kind k : values()) {
                if (k.name().equalsIgnoreCase(text)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("kind must be one of local, split, offload, got " + text);
        }
    }

    /** One way to serve a request; ratePoint is the artifact's rate point index of a split option, else -1. */
    public static final class Option {
        public final String name;
        public final Kind kind;
        public final double deviceMs;
        public final double agreement;
        public final double wireBytes;
        public final double serverMs;
        public final int ratePoint;

        public Option(String name, Kind kind, double deviceMs, double agreement, double wireBytes, double serverMs,
                int ratePoint) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("option name must be a non-empty string");
            }
            if (kind == null) {
                throw new IllegalArgumentException("option '" + name + "': kind must be one of local, split, offload");
            }
            String owner = "option '" + name + "'";
            this.name = name;
            this.kind = kind;
            this.deviceMs = nonNegative(owner, "device_ms", deviceMs);
            this.agreement = fraction(owner, "agreement", agreement);
            this.wireBytes = nonNegative(owner, "wire_bytes", wireBytes);
            this.serverMs = nonNegative(owner, "server_ms", serverMs);
            if (kind == Kind.LOCAL && (wireBytes != 0 || serverMs != 0)) {
                throw new IllegalArgumentException(owner + ": a local option sends nothing (wire_bytes and server_ms "
                        + "must be 0)");
            }
            if (ratePoint < -1 || (ratePoint >= 0 && kind != Kind.SPLIT)) {
                throw new IllegalArgumentException(owner + ": rate_point must be -1 (none) or, for a split option, an "
                        + "index >= 0, got " + ratePoint);
            }
            this.ratePoint = ratePoint;
        }

        public static Option local(String name, double deviceMs) {
            return new Option(name, Kind.LOCAL, deviceMs, 1.0, 0, 0, -1);
        }

        public static Option split(String name, int ratePoint, double deviceMs, double wireBytes, double serverMs,
                double agreement) {
            return new Option(name, Kind.SPLIT, deviceMs, agreement, wireBytes, serverMs, ratePoint);
        }

        public static Option offload(String name, double deviceMs, double wireBytes, double serverMs,
                double agreement) {
            return new Option(name, Kind.OFFLOAD, deviceMs, agreement, wireBytes, serverMs, -1);
        }

        @Override
        public String toString() {
            return name + " (" + kind.name().toLowerCase(java.util.Locale.ROOT) + ")";
        }
    }

    /** The choice, its latency, and every option's latency on the link (in the order given). */
    public static final class Decision {
        public final Option option;
        public final double latencyMs;
        public final List<Option> options;
        public final double[] latenciesMs;

        Decision(Option option, double latencyMs, List<Option> options, double[] latenciesMs) {
            this.option = option;
            this.latencyMs = latencyMs;
            this.options = options;
            this.latenciesMs = latenciesMs;
        }
    }

    /** Time in ms to send {@code wireBytes} at {@code bandwidthMbit} Mbit/s. */
    public static double transferMs(double wireBytes, double bandwidthMbit) {
        return wireBytes * 8.0 / (bandwidthMbit * 1000.0);
    }

    /** The option's latency on this link; bandwidthMbit NaN: no estimate (no transfer term). */
    public static double latencyMs(Option o, double bandwidthMbit, double rttMs) {
        checkLink(bandwidthMbit, rttMs);
        return latency(o, bandwidthMbit, rttMs);
    }

    /** Whether the option reaches the agreement floor. */
    public static boolean eligible(Option o, double minAgreement) {
        return o.agreement + AGREEMENT_SLACK >= minAgreement;
    }

    /** The rule's choice (class comment). */
    public static Decision choose(List<Option> options, double bandwidthMbit, double rttMs, double minAgreement) {
        if (options == null || options.isEmpty()) {
            throw new IllegalArgumentException("options: no option to choose from");
        }
        Set<String> names = new HashSet<>();
        for (Option o : options) {
            if (!names.add(o.name)) {
                throw new IllegalArgumentException("options: name '" + o.name + "' given twice");
            }
        }
        checkLink(bandwidthMbit, rttMs);
        double floor = fraction("policy", "min_agreement", minAgreement);
        List<Option> copy = Collections.unmodifiableList(new ArrayList<>(options));
        double[] latencies = new double[copy.size()];
        int best = -1;
        for (int i = 0; i < copy.size(); i++) {
            Option o = copy.get(i);
            latencies[i] = latency(o, bandwidthMbit, rttMs);
            if (!eligible(o, floor)) {
                continue;
            }
            if (best < 0 || better(o, latencies[i], copy.get(best), latencies[best])) {
                best = i;
            }
        }
        if (best < 0) {
            Option top = copy.get(0);
            for (Option o : copy) {
                if (o.agreement > top.agreement) {
                    top = o;
                }
            }
            throw new IllegalArgumentException("min_agreement " + floor + ": no option reaches it (best: " + top.name
                    + " at " + top.agreement + ")");
        }
        return new Decision(copy.get(best), latencies[best], copy, latencies);
    }

    // strictly better than the current pick: lower latency, then higher agreement, then kind order (the list
    // order decides the rest: the earlier option stays)
    private static boolean better(Option a, double la, Option b, double lb) {
        if (la != lb) {
            return la < lb;
        }
        if (a.agreement != b.agreement) {
            return a.agreement > b.agreement;
        }
        return a.kind.ordinal() < b.kind.ordinal();
    }

    private static double latency(Option o, double bandwidthMbit, double rttMs) {
        if (o.kind == Kind.LOCAL) {
            return o.deviceMs;
        }
        double transfer = Double.isNaN(bandwidthMbit) ? 0.0 : transferMs(o.wireBytes, bandwidthMbit);
        return o.deviceMs + rttMs + transfer + o.serverMs;
    }

    private static void checkLink(double bandwidthMbit, double rttMs) {
        if (!Double.isNaN(bandwidthMbit) && !(bandwidthMbit > 0 && !Double.isInfinite(bandwidthMbit))) {
            throw new IllegalArgumentException("link: bandwidth_mbit must be a finite number > 0 (NaN: no estimate), "
                    + "got " + bandwidthMbit);
        }
        nonNegative("link", "rtt_ms", rttMs);
    }

    private static double nonNegative(String owner, String field, double x) {
        if (!(x >= 0) || Double.isInfinite(x)) {
            throw new IllegalArgumentException(owner + ": " + field + " must be a finite number >= 0, got " + x);
        }
        return x;
    }

    private static double fraction(String owner, String field, double x) {
        if (!(x >= 0 && x <= 1)) {
            throw new IllegalArgumentException(owner + ": " + field + " must be in [0, 1], got " + x);
        }
        return x;
    }
}
