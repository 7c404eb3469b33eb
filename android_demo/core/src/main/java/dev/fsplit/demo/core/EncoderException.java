package dev.fsplit.demo.core;

/** The encoder could not be loaded or failed to run. */
public class EncoderException extends Exception {
    public EncoderException(String message) {
        super(message);
    }

    public EncoderException(String message, Throwable cause) {
        super(message, cause);
    }
}
