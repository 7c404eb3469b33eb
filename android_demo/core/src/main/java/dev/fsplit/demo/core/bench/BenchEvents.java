package dev.fsplit.demo.core.bench;

import dev.fsplit.demo.core.json.JsonWriter;
import java.util.Map;
import java.util.TreeMap;

/**
 * The event stream every device-side runner writes (schema {@code fsplit-bench-events/1}, defined in
 * fsplit_mobile/bench/events.py): one JSON object per line, prefixed with {@code "@fsplit "}, keys sorted.
 * Kinds in order: hello, load, warmup, sample*, image*, end; or error.
 */
public final class BenchEvents {
    public static final String SCHEMA = "fsplit-bench-events/1";
    public static final String PREFIX = "@fsplit ";

    private BenchEvents() {
    }

    /** One event line (without newline). */
    public static String format(String kind, Map<String, Object> fields) {
        Map<String, Object> event = new TreeMap<>(fields);
        event.put("event", kind);
        return PREFIX + JsonWriter.write(event);
    }
}
