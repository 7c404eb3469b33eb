package dev.fsplit.demo.core.serve;

/**
 * The server answered with an error status. {@link #code} and {@link #detail} come from its JSON error body
 * (e.g. 409 "table_mismatch" when the stream was coded with other tables, 503 with a Retry-After when saturated).
 */
public class ServerRejectedException extends ServeException {
    public final int status;
    public final String code;
    public final String detail;
    /** Value of the Retry-After header, or null. */
    public final String retryAfter;

    public ServerRejectedException(int status, String code, String detail, String retryAfter) {
        super("server answered " + status + " " + code + ": " + detail);
        this.status = status;
        this.code = code;
        this.detail = detail;
        this.retryAfter = retryAfter;
    }
}
