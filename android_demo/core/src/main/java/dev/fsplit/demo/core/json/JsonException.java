package dev.fsplit.demo.core.json;

/** Text is not valid JSON, or a value cannot be written as JSON. */
public class JsonException extends RuntimeException {
    public JsonException(String message) {
        super(message);
    }
}
