package dev.fsplit.demo.core.bench;

/** A benchmark run cannot go on; {@link #kind} matches the device agent's error kinds. */
public class BenchmarkException extends Exception {
    /** artifact | input | runtime | setup | io | disk_full */
    public final String kind;

    public BenchmarkException(String message, String kind) {
        super(message);
        this.kind = kind;
    }

    public BenchmarkException(String message, String kind, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }
}
