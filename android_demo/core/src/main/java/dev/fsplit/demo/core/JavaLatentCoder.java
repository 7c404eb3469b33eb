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
        this(tables, Container.Format.singleStream(ratePoint));
    }

    /**
     * A coder writing containers in {@code format} (payload, lanes, rate point): what the manifest's payload block
     * names ({@link Manifest#streamFormat}).
     */
    public JavaLatentCoder(CodecTables tables, Container.Format format) {
        this.tables = tables;
        this.format = format;
    }

    /** The payload format, lanes and rate point written into every container. */
    public Container.Format format() {
        return format;
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
