package dev.fsplit.codec;

/** Symbols, indexes or shapes given to the coder are unusable (index out of range, uncodable symbol, sizes). */
public class InvalidInputException extends CodecException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(Kind kind, String message) {
        super(kind, message);
    }
}
