package dev.fsplit.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * Stream container (docs/formats.md, section 3): "FSCL", u16 version, u16 flags, 8-byte table hash prefix,
 * u32 C, H, W, u32 payload length, u32 CRC-32 of header bytes 0..31 then the payload; then the payload.
 */
public final class Container {
    public static final int VERSION = 1;
    public static final int HEADER_SIZE = 36;
    public static final int HASH_PREFIX = 8;
    public static final long MAX_SYMBOLS = 1L << 26;
    private static final int CRC_COVERED = 32;
    private static final byte[] MAGIC = {'F', 'S', 'C', 'L'};

    private Container() {
    }

    /** A parsed header; the payload is {@code data[HEADER_SIZE, HEADER_SIZE + payloadLength)}. */
    public static final class Header {
        public final byte[] tableHashPrefix;
        public final int channels;
        public final int height;
        public final int width;
        public final int payloadLength;

        Header(byte[] tableHashPrefix, int channels, int height, int width, int payloadLength) {
            this.tableHashPrefix = tableHashPrefix;
            this.channels = channels;
            this.height = height;
            this.width = width;
            this.payloadLength = payloadLength;
        }
    }

    /** A decoded latent: C x H x W symbols in C order. */
    public static final class Latent {
        public final int channels;
        public final int height;
        public final int width;
        public final int[] symbols;

        Latent(int channels, int height, int width, int[] symbols) {
            this.channels = channels;
            this.height = height;
            this.width = width;
            this.symbols = symbols;
        }
    }

    private static long crc(byte[] data, int headerStart, byte[] payload, int payloadStart, int payloadLength) {
        CRC32 crc = new CRC32();
        crc.update(data, headerStart, CRC_COVERED);
        crc.update(payload, payloadStart, payloadLength);
        return crc.getValue();
    }

    /** Wrap a payload; {@code tableHash} is the tables' content hash (its first 8 bytes are stored). */
    public static byte[] pack(byte[] tableHash, int channels, int height, int width, byte[] payload) {
        if (tableHash.length < HASH_PREFIX) {
            throw new IllegalArgumentException("tableHash must have at least " + HASH_PREFIX + " bytes");
        }
        ByteBuffer buf = ByteBuffer.allocate(HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putShort((short) VERSION).putShort((short) 0).put(tableHash, 0, HASH_PREFIX)
                .putInt(channels).putInt(height).putInt(width).putInt(payload.length).putInt(0).put(payload);
        byte[] out = buf.array();
        buf.putInt(32, (int) crc(out, 0, payload, 0, payload.length));
        return out;
    }

    /** Check magic, version, flags, length and CRC. */
    public static Header unpack(byte[] data) throws CorruptStreamException {
        if (data.length < HEADER_SIZE) {
            throw new CorruptStreamException(CodecException.Kind.TRUNCATED,
                    "container truncated: " + data.length + " bytes, the header alone has " + HEADER_SIZE);
        }
        for (int k = 0; k < 4; k++) {
            if (data[k] != MAGIC[k]) {
                throw new CorruptStreamException(CodecException.Kind.FORMAT, "not an fsplit stream (bad magic)");
            }
        }
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        int version = buf.getShort(4) & 0xFFFF;
        int flags = buf.getShort(6) & 0xFFFF;
        if (version != VERSION) {
            throw new CorruptStreamException(CodecException.Kind.FORMAT, "unsupported container version " + version);
        }
        if (flags != 0) {
            throw new CorruptStreamException(CodecException.Kind.FORMAT, "unknown container flags " + flags);
        }
        long payloadLength = buf.getInt(28) & 0xFFFFFFFFL;
        long available = data.length - HEADER_SIZE;
        if (available < payloadLength) {
            throw new CorruptStreamException(CodecException.Kind.TRUNCATED, "container truncated: payload declares "
                    + payloadLength + " bytes, " + available + " present");
        }
        if (available > payloadLength) {
            throw new CorruptStreamException(CodecException.Kind.FORMAT,
                    "container has " + (available - payloadLength) + " trailing bytes");
        }
        long stored = buf.getInt(32) & 0xFFFFFFFFL;
        if (crc(data, 0, data, HEADER_SIZE, (int) payloadLength) != stored) {
            throw new CorruptStreamException(CodecException.Kind.CHECKSUM, "container checksum mismatch");
        }
        byte[] prefix = new byte[HASH_PREFIX];
        System.arraycopy(data, 8, prefix, 0, HASH_PREFIX);
        return new Header(prefix, buf.getInt(16), buf.getInt(20), buf.getInt(24), (int) payloadLength);
    }

    /** Entropy-code a C x H x W latent (C order; index of a symbol = its channel) into a container. */
    public static byte[] encodeLatent(CodecTables t, int[] symbols, int channels, int height, int width)
            throws CodecException {
        if (channels != t.numChannels()) {
            throw new TableMismatchException("latent has " + channels + " channels but the tables have "
                    + t.numChannels());
        }
        if (height < 0 || width < 0 || (long) channels * height * width != symbols.length) {
            throw new InvalidInputException(CodecException.Kind.ARGUMENT, symbols.length + " symbols for a "
                    + channels + "x" + height + "x" + width + " latent");
        }
        if (symbols.length > MAX_SYMBOLS) {
            throw new InvalidInputException(CodecException.Kind.LIMIT, "latent exceeds " + MAX_SYMBOLS + " symbols");
        }
        return pack(t.contentHash(), channels, height, width, RansCodec.encodePlanar(t, symbols, channels));
    }

    /** Decode a container written with {@code t}. */
    public static Latent decodeLatent(CodecTables t, byte[] data) throws CodecException {
        Header h = unpack(data);
        if (!t.hashPrefixEquals(h.tableHashPrefix, 0, HASH_PREFIX)) {
            throw new TableMismatchException("stream was coded with other tables than " + t);
        }
        long c = h.channels & 0xFFFFFFFFL;
        long hh = h.height & 0xFFFFFFFFL;
        long w = h.width & 0xFFFFFFFFL;
        if (c != t.numChannels()) {
            throw new TableMismatchException("stream has " + c + " channels but the tables have " + t.numChannels());
        }
        if (hh * w > MAX_SYMBOLS || c * hh * w > MAX_SYMBOLS) {
            throw new CorruptStreamException(CodecException.Kind.LIMIT, "stream declares a " + c + "x" + hh + "x" + w
                    + " latent, beyond the limit of " + MAX_SYMBOLS + " symbols");
        }
        int[] out = new int[(int) (c * hh * w)];
        RansCodec.decodePlanar(t, data, HEADER_SIZE, h.payloadLength, (int) c, out);
        return new Latent((int) c, (int) hh, (int) w, out);
    }
}
