package dev.fsplit.codec;

/** CDF tables or a tables file are malformed. */
public class InvalidTablesException extends CodecException {
    private static final long serialVersionUID = 1L;

    public InvalidTablesException(String message) {
        super(Kind.TABLES, message);
    }
}
