package dev.fsplit.codec;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * Stream container (docs/formats.md, section 3): "FSCL", u16 version, u16 flags, 8-byte table hash prefix,
 * u32 C, H, W, u32 payload length, u32 CRC-32 of header bytes 0..31 then the payload; then the payload.
 * Version 1 has flags 0; version 2 defines them: bits 0-1 payload format, 2-3 reserved, 4-7 log2(lanes),
 * 8-15 rate point. Writers emit version 1 whenever the flags are 0.
 */
public final class Container {
    public static final int VERSION = 1;
    public static final int VERSION_FLAGS = 2;
    public static final int FORMAT_SINGLE = 0;
    public static final int FORMAT_INTERLEAVED = 1;
    public static final int FORMAT_INTERLEAVED2 = 2; // version 2: 14-bit tables, 16-bit words (InterleavedCodec2)
    public static final int MAX_RATE_POINT = 255;
    public static final int HEADER_SIZE = 36;
    public static final int HASH_PREFIX = 8;
    public static final long MAX_SYMBOLS = 1L << 26;
    private static final int CRC_COVERED = 32;
    private static final byte[] MAGIC = {'F', 'S', 'C', 'L'};

    private Container() {
    }

    /** Payload format, lanes and rate point: what the flags field carries. */
    public static final class Format {
        public static final Format SINGLE = new Format(FORMAT_SINGLE, 1, 0);
        public final int payloadFormat;
        public final int lanes;
        public final int ratePoint;

        /** @throws IllegalArgumentException naming the field that cannot be stored */
        public Format(int payloadFormat, int lanes, int ratePoint) {
            if (payloadFormat == FORMAT_SINGLE) {
                if (lanes != 1) {
                    throw new IllegalArgumentException("lanes must be 1 for the single stream, got " + lanes);
                }
            } else if (payloadFormat == FORMAT_INTERLEAVED || payloadFormat == FORMAT_INTERLEAVED2) {
                if (!lanesSupported(lanes)) {
                    throw new IllegalArgumentException("lanes must be 8, 16 or 32 for the interleaved format, got "
                            + lanes);
                }
            } else {
                throw new IllegalArgumentException("unknown payload format " + payloadFormat);
            }
            if (ratePoint < 0 || ratePoint > MAX_RATE_POINT) {
                throw new IllegalArgumentException("rate point must be in 0.." + MAX_RATE_POINT + ", got " + ratePoint);
            }
            this.payloadFormat = payloadFormat;
            this.lanes = lanes;
            this.ratePoint = ratePoint;
        }

        public static Format singleStream(int ratePoint) {
            return new Format(FORMAT_SINGLE, 1, ratePoint);
        }

        public static Format interleaved(int lanes, int ratePoint) {
            return new Format(FORMAT_INTERLEAVED, lanes, ratePoint);
        }

        /** The u16 flags value. */
        public int flags() {
            return payloadFormat | (Integer.numberOfTrailingZeros(lanes) << 4) | (ratePoint << 8);
        }

        static boolean lanesSupported(int lanes) {
            return lanes == 8 || lanes == 16 || lanes == 32;
        }

        /** Parse version and flags; the exception names the unknown field. */
        static Format parse(int version, int flags) throws CorruptStreamException {
            if (version == VERSION) {
                if (flags != 0) {
                    throw format("unknown container flags 0x" + Integer.toHexString(flags) + " (version 1 defines none)");
                }
                return SINGLE;
            }
            if (version != VERSION_FLAGS) {
                throw format("unsupported container version " + version);
            }
            if (flags == 0) {
                throw format("container version 2 with flags 0 (such a stream is written as version 1)");
            }
            int fmt = flags & 3;
            int log2Lanes = (flags >> 4) & 15;
            if (fmt != FORMAT_SINGLE && fmt != FORMAT_INTERLEAVED && fmt != FORMAT_INTERLEAVED2) {
                throw format("unknown container flags: payload format " + fmt + " (bits 0-1)");
            }
            if ((flags & 0xC) != 0) {
                throw format("unknown container flags: reserved bits 2-3 set");
            }
            if (fmt == FORMAT_SINGLE && log2Lanes != 0) {
                throw format("unknown container flags: lanes field " + log2Lanes
                        + " (bits 4-7) must be 0 for the single stream");
            }
            if (fmt != FORMAT_SINGLE && !lanesSupported(1 << log2Lanes)) {
                throw format("unknown container flags: lanes field " + log2Lanes + " (bits 4-7) gives "
                        + (1 << log2Lanes) + " lanes, supported: 8, 16, 32");
            }
            return new Format(fmt, 1 << log2Lanes, flags >>> 8);
        }

        private static CorruptStreamException format(String message) {
            return new CorruptStreamException(CodecException.Kind.FORMAT, message);
        }
    }

    /** A parsed header; the payload is {@code data[HEADER_SIZE, HEADER_SIZE + payloadLength)}. */
    public static final class Header {
        public final int version;
        public final Format format;
        public final byte[] tableHashPrefix;
        public final int channels;
        public final int height;
        public final int width;
        public final int payloadLength;

        Header(int version, Format format, byte[] tableHashPrefix, int channels, int height, int width,
                int payloadLength) {
            this.version = version;
            this.format = format;
            this.tableHashPrefix = tableHashPrefix;
            this.channels = channels;
            this.height = height;
            this.width = width;
            this.payloadLength = payloadLength;
        }

        public int payloadFormat() {
            return format.payloadFormat;
        }

        public int lanes() {
            return format.lanes;
        }

        public int ratePoint() {
            return format.ratePoint;
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

    /** Wrap a single-stream payload at rate point 0 (a version 1 container). */
    public static byte[] pack(byte[] tableHash, int channels, int height, int width, byte[] payload) {
        return pack(tableHash, channels, height, width, payload, Format.SINGLE);
    }

    /**
     * Wrap a payload; {@code tableHash} is the tables' content hash (its first 8 bytes are stored). Version 1
     * when the flags are 0, else version 2.
     */
    public static byte[] pack(byte[] tableHash, int channels, int height, int width, byte[] payload,
            Format format) {
        int flags = format.flags();
        if (tableHash.length < HASH_PREFIX) {
            throw new IllegalArgumentException("tableHash must have at least " + HASH_PREFIX + " bytes");
        }
        ByteBuffer buf = ByteBuffer.allocate(HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putShort((short) (flags == 0 ? VERSION : VERSION_FLAGS)).putShort((short) flags).put(tableHash, 0, HASH_PREFIX)
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
        Format format = Format.parse(version, flags);
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
        return new Header(version, format, prefix, buf.getInt(16), buf.getInt(20), buf.getInt(24), (int) payloadLength);
    }

    /** Entropy-code a C x H x W latent (C order; index of a symbol = its channel) into a container. */
    public static byte[] encodeLatent(CodecTables t, int[] symbols, int channels, int height, int width)
            throws CodecException {
        return encodeLatent(t, symbols, channels, height, width, Format.SINGLE);
    }

    /** Same, in the given payload format and rate point. */
    public static byte[] encodeLatent(CodecTables t, int[] symbols, int channels, int height, int width,
            Format format) throws CodecException {
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
        byte[] payload = format.payloadFormat == FORMAT_INTERLEAVED2
                ? InterleavedCodec2.encodePlanar(t, symbols, channels, format.lanes)
                : format.payloadFormat == FORMAT_INTERLEAVED
                ? InterleavedCodec.encodePlanar(t, symbols, channels, format.lanes)
                : RansCodec.encodePlanar(t, symbols, channels);
        return pack(t.contentHash(), channels, height, width, payload, format);
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
        if (h.format.payloadFormat == FORMAT_INTERLEAVED2) {
            InterleavedCodec2.decodePlanar(t, data, HEADER_SIZE, h.payloadLength, (int) c, h.format.lanes, out);
        } else if (h.format.payloadFormat == FORMAT_INTERLEAVED) {
            InterleavedCodec.decodePlanar(t, data, HEADER_SIZE, h.payloadLength, (int) c, h.format.lanes, out);
        } else {
            RansCodec.decodePlanar(t, data, HEADER_SIZE, h.payloadLength, (int) c, out);
        }
        return new Latent((int) c, (int) hh, (int) w, out);
    }
}
