package dev.fsplit.demo.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Milliseconds per pipeline stage, in the order the stages ran. */
public final class StageTimings {
    public static final String PREPROCESS = "preprocess";
    public static final String ENCODER = "encoder";
    public static final String CODING = "coding";
    public static final String NETWORK = "network";
    public static final String SERVER = "server";
    public static final String TOTAL = "total";

    private final Map<String, Double> ms = new LinkedHashMap<>();

    public StageTimings put(String stage, double millis) {
        ms.put(stage, millis);
        return this;
    }

    public double get(String stage) {
        Double v = ms.get(stage);
        if (v == null) {
            throw new IllegalArgumentException("no timing for stage '" + stage + "' (have " + ms.keySet() + ")");
        }
        return v;
    }

    public Map<String, Double> asMap() {
        return Collections.unmodifiableMap(ms);
    }

    /** One line per stage, e.g. "encoder    7.1 ms". */
    public String format() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Double> e : ms.entrySet()) {
            sb.append(String.format(Locale.ROOT, "%-10s %8.1f ms%n", e.getKey(), e.getValue()));
        }
        return sb.toString();
    }
}
