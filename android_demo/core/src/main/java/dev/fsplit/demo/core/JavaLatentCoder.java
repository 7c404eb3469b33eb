package dev.fsplit.demo.core;

import dev.fsplit.codec.CodecException;
import dev.fsplit.codec.CodecTables;
import dev.fsplit.codec.Container;

/** {@link LatentCoder} backed by the pure-Java rANS coder of runtimes/java (package dev.fsplit.codec). */
public final class JavaLatentCoder implements LatentCoder {
    private final CodecTables tables;
    private final Container.Format format;

    public JavaLatentCoder(CodecTables tables) {
        this(tables, 0);
    }

    /** A coder whose containers name {@code ratePoint} (0..255; the tables must be that rate point's). */
    public JavaLatentCoder(CodecTables tables, int ratePoint) {
        this.tables = tables;
        this.format = Container.Format.singleStream(ratePoint);
    }

    /** The rate point index written into every container. */
    public int ratePoint() {
        return format.ratePoint;
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
            return Container.encodeLatent(tables, symbols, channels, height, width, format);
        } catch (CodecException e) {
            throw new CodingException(e.getMessage(), e);
        }
    }
}
