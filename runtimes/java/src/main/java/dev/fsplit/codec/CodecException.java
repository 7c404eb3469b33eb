package dev.fsplit.codec;

/** Base class of every error of the codec; {@link #kind()} mirrors the C status codes (FSR_ERR_*). */
public class CodecException extends Exception {
    private static final long serialVersionUID = 1L;

    /** What went wrong, with the same names as the C library's error codes. */
    public enum Kind { ARGUMENT, TABLES, INDEX, SYMBOL, TRUNCATED, CORRUPT, FORMAT, MISMATCH, CHECKSUM, LIMIT }

    private final Kind kind;

    public CodecException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /** The exception class matching a kind: corrupt-stream, mismatch, tables or input errors. */
    static CodecException of(Kind kind, String message) {
        switch (kind) {
            case TRUNCATED: case CORRUPT: case FORMAT: case CHECKSUM: case LIMIT:
                return new CorruptStreamException(kind, message);
            case MISMATCH:
                return new TableMismatchException(message);
            case TABLES:
                return new InvalidTablesException(message);
            default:
                return new InvalidInputException(kind, message);
        }
    }
}
