package dev.fsplit.codec;

/** A stream or container is truncated, inconsistent, fails its checksum or exceeds the reader's limits. */
public class CorruptStreamException extends CodecException {
    private static final long serialVersionUID = 1L;

    public CorruptStreamException(Kind kind, String message) {
        super(kind, message);
    }
}
