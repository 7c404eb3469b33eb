package dev.fsplit.demo.core.serve;

/** No HTTP answer: connection refused or reset, DNS failure, timeout. */
public class ServerUnreachableException extends ServeException {
    public ServerUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
