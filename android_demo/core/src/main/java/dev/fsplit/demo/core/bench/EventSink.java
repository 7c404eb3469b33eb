package dev.fsplit.demo.core.bench;

import java.io.IOException;
import java.util.Map;

/** Receives benchmark events as they happen (written to a file, logged, shown). */
public interface EventSink {
    void emit(String kind, Map<String, Object> fields) throws IOException;
}
