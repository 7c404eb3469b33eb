package dev.fsplit.demo.core;

/** Entropy-codes int32 symbols (C order, channel = CDF index) into a stream container (docs/formats.md). */
public interface LatentCoder {
    /** Hex of the codec tables' content hash (what the server checks the stream against). */
    String tablesHashHex();

    byte[] encode(int[] symbols, int channels, int height, int width) throws CodingException;
}
