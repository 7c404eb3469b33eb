package dev.fsplit.codec;

/** A container was written with other codec tables or for another number of channels. */
public class TableMismatchException extends CodecException {
    private static final long serialVersionUID = 1L;

    public TableMismatchException(String message) {
        super(Kind.MISMATCH, message);
    }
}
