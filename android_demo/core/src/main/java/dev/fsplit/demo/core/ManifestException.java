package dev.fsplit.demo.core;

/** The artifact's manifest.json is missing, malformed, or describes something this app cannot run. */
public class ManifestException extends Exception {
    public ManifestException(String message) {
        super(message);
    }

    public ManifestException(String message, Throwable cause) {
        super(message, cause);
    }
}
