package dev.fsplit.demo.core.serve;

/** Talking to fsplit-serve failed; see the subclasses for unreachable servers and refused requests. */
public class ServeException extends Exception {
    public ServeException(String message) {
        super(message);
    }

    public ServeException(String message, Throwable cause) {
        super(message, cause);
    }
}
