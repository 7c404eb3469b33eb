package dev.fsplit.demo.core;

/** The tables file cannot be read, or symbols cannot be coded with it. */
public class CodingException extends Exception {
    public CodingException(String message) {
        super(message);
    }

    public CodingException(String message, Throwable cause) {
        super(message, cause);
    }
}
