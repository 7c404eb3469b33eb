package dev.fsplit.demo.core;

import dev.fsplit.codec.CodecException;
import dev.fsplit.codec.CodecTables;
import dev.fsplit.codec.Container;

/** {@link LatentCoder} backed by the pure-Java rANS coder of runtimes/java (package dev.fsplit.codec). */
public final class JavaLatentCoder implements LatentCoder {
    private final CodecTables tables;

    public JavaLatentCoder(CodecTables tables) {
        this.tables = tables;
    }

    public CodecTables tables() {
        return tables;
    }

    @Override
    public String tablesHashHex() {
        return tables.contentHashHex();
    }

    @Override
    public byte[] encode(int[] symbols, int channels, int height, int width) throws CodingException {
        try {
            return Container.encodeLatent(tables, symbols, channels, height, width);
        } catch (CodecException e) {
            throw new CodingException(e.getMessage(), e);
        }
    }
}
