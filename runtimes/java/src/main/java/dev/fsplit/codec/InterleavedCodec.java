package dev.fsplit.codec;

/**
 * The interleaved rANS payload (docs/formats.md, section 4): {@code lanes} (8, 16 or 32) independent 32-bit
 * states sharing one byte stream; symbol i of a planar latent is coded by lane i mod lanes, a group of lanes
 * symbols at a time. Byte-identical to the C implementations (scalar, AVX2, NEON).
 *
 * <p>Per group the decoder does every lane's step, then two refill rounds (each lane below 2^24 takes the next
 * byte, in lane order), then the escape payloads in lane order; the encoder writes the exact reverse. States
 * are kept in longs (always in [0, 2^32)), so no unsigned arithmetic is needed.
 */
public final class InterleavedCodec {
    static final long L = 1L << 24;
    private static final int NIBBLE_BITS = 4;
    private static final int ESCAPE_MAX_NIBBLES = 8;

    private InterleavedCodec() {
    }

    /** Whether {@code lanes} is a supported lane count. */
    public static boolean lanesSupported(int lanes) {
        return lanes == 8 || lanes == 16 || lanes == 32;
    }

    private static void checkPlanar(CodecTables t, int count, int planes, int lanes) throws InvalidInputException {
        if (!lanesSupported(lanes)) {
            throw new InvalidInputException(CodecException.Kind.ARGUMENT, "lanes must be 8, 16 or 32, got " + lanes);
        }
        if (planes <= 0 || count % planes != 0) {
            throw new InvalidInputException(CodecException.Kind.ARGUMENT,
                    count + " symbols do not split into " + planes + " planes");
        }
        if (count > 0 && planes > t.numChannels()) {
            throw new InvalidInputException(CodecException.Kind.INDEX,
                    planes + " planes but the tables have " + t.numChannels() + " channels");
        }
    }

    // ------------------------------------------------------------------ encoder

    /** Encode {@code planes} planes of equal size in C order (row of plane p is p) with {@code lanes} states. */
    public static byte[] encodePlanar(CodecTables t, int[] symbols, int planes, int lanes) throws CodecException {
        checkPlanar(t, symbols.length, planes, lanes);
        int n = symbols.length;
        int planeSize = n / planes;
        int precision = t.precision();
        byte[] buf = new byte[4 * lanes + 11 * n]; // 2 bytes per step + 1 per escape step (count + 8 nibbles)
        int ptr = buf.length; // written downwards
        long[] x = new long[lanes];
        int[] start = new int[lanes];
        int[] freq = new int[lanes];
        long[] raw = new long[lanes];
        int[] count = new int[lanes];
        double[] rcp = new double[lanes];
        double[][] reciprocals = t.reciprocals();
        java.util.Arrays.fill(x, L);
        int groups = (n + lanes - 1) / lanes;
        int shift1 = 32 - precision;
        int shift2 = 40 - precision;
        int groupRow = groups > 0 ? (groups - 1) * lanes / planeSize : 0; // row of the group's first symbol
        int groupRowStart = groupRow * planeSize;
        for (int g = groups - 1; g >= 0; g--) {
            int i0 = g * lanes;
            int m = Math.min(lanes, n - i0);
            boolean escapes = false;
            while (i0 < groupRowStart) { // no division per group: walk back a plane at a time
                groupRow--;
                groupRowStart -= planeSize;
            }
            int row = groupRow;
            int rowEnd = groupRowStart + planeSize;
            int[] cdf = t.row(row); // per-row values, refreshed when the group crosses into the next plane
            double[] rrow = reciprocals[row];
            long offset = t.offset(row);
            int maxValue = cdf.length - 2;
            for (int k = 0; k < m; k++) {
                int i = i0 + k;
                if (i == rowEnd) {
                    row++;
                    rowEnd += planeSize;
                    cdf = t.row(row);
                    rrow = reciprocals[row];
                    offset = t.offset(row);
                    maxValue = cdf.length - 2;
                }
                long value = symbols[i] - offset;
                if (value >= 0 && value < maxValue) {
                    raw[k] = -1;
                } else {
                    long r = value < 0 ? -2 * value - 1 : 2 * (value - maxValue);
                    if (r > 0xFFFFFFFFL) {
                        throw uncodable(symbols[i], row, i, "escape value exceeds 32 bits");
                    }
                    raw[k] = r;
                    value = maxValue;
                    escapes = true;
                }
                int v = (int) value;
                int st = cdf[v];
                int f = cdf[v + 1] - st;
                if (f == 0) {
                    throw uncodable(symbols[i], row, i, raw[k] >= 0 ? "the escape slot has zero frequency"
                            : "its slot has zero frequency");
                }
                start[k] = st;
                freq[k] = f;
                rcp[k] = rrow[v];
            }
            for (int k = m - 1; escapes && k >= 0; k--) { // escape payloads: the decoder reads them last
                if (raw[k] >= 0) {
                    long r = raw[k];
                    int nibbles = 0;
                    while (nibbles < ESCAPE_MAX_NIBBLES && (r >>> (NIBBLE_BITS * nibbles)) != 0) {
                        nibbles++;
                    }
                    for (int j = nibbles; j >= 0; j--) { // nibbles from the most significant, then the count
                        int nib = j == 0 ? nibbles : (int) ((r >>> (NIBBLE_BITS * (j - 1))) & 15);
                        long s = x[k];
                        if ((s >>> (32 - NIBBLE_BITS)) != 0) {
                            buf[--ptr] = (byte) s;
                            s >>>= 8;
                        }
                        x[k] = (s << NIBBLE_BITS) + nib;
                    }
                }
            }
            for (int k = m - 1; k >= 0; k--) { // bits shifted out (8 per byte), and round 2: the first byte
                long s = x[k];
                int f = freq[k];
                int c = ((s >>> shift1) >= f ? 8 : 0) + ((s >>> shift2) >= f ? 8 : 0);
                count[k] = c;
                if (c == 16) {
                    buf[--ptr] = (byte) s;
                }
            }
            for (int k = m - 1; k >= 0; k--) { // round 1: the last byte a lane shifted out; then its step
                int c = count[k];
                long s = x[k];
                if (c != 0) {
                    buf[--ptr] = (byte) (s >>> (c - 8));
                    s >>>= c;
                }
                long f = freq[k];
                long q = (long) (s * rcp[k]); // s / f within one, then exact
                long r = s - q * f;
                if (r < 0) {
                    q--;
                    r += f;
                } else if (r >= f) {
                    q++;
                    r -= f;
                }
                x[k] = (q << precision) + r + start[k];
            }
        }
        byte[] out = new byte[4 * lanes + (buf.length - ptr)];
        for (int k = 0; k < lanes; k++) {
            RansCodec.putLe32(out, 4 * k, (int) x[k]);
        }
        System.arraycopy(buf, ptr, out, 4 * lanes, buf.length - ptr);
        return out;
    }

    private static InvalidInputException uncodable(int symbol, int index, int position, String why) {
        return new InvalidInputException(CodecException.Kind.SYMBOL,
                "symbol " + symbol + " at position " + position + " (index " + index + "): " + why);
    }

    // ------------------------------------------------------------------ decoder

    private static CorruptStreamException truncated() {
        return new CorruptStreamException(CodecException.Kind.TRUNCATED,
                "stream is truncated: it ends before all symbols are decoded");
    }

    private static CorruptStreamException corrupt(String why) {
        return new CorruptStreamException(CodecException.Kind.CORRUPT, "stream is corrupt: " + why);
    }

    /** Decode {@code out.length / planes} symbols per plane from {@code data[offset, offset + length)}. */
    public static void decodePlanar(CodecTables t, byte[] data, int offset, int length, int planes, int lanes,
            int[] out) throws CodecException {
        checkPlanar(t, out.length, planes, lanes);
        if (length < 4 * lanes) {
            throw new CorruptStreamException(CodecException.Kind.TRUNCATED, "stream is truncated: " + length
                    + " bytes, the " + lanes + " lane states alone have " + 4 * lanes);
        }
        int n = out.length;
        int planeSize = n / planes;
        int precision = t.precision();
        int bits = Math.min(precision, CodecTables.LOOKUP_BITS);
        int mask = (1 << precision) - 1;
        long[] x = new long[lanes];
        int[] slot = new int[lanes];
        for (int k = 0; k < lanes; k++) {
            x[k] = RansCodec.getLe32(data, offset + 4 * k) & 0xFFFFFFFFL;
            if (x[k] < L) {
                throw corrupt("initial state of lane " + k + " below 2^24");
            }
        }
        int pos = offset + 4 * lanes;
        int end = offset + length;
        int groupRow = 0; // row of the group's first symbol, walked forward without a division per group
        int groupRowEnd = planeSize;
        for (int i0 = 0; i0 < n; i0 += lanes) {
            int m = Math.min(lanes, n - i0);
            while (i0 >= groupRowEnd) {
                groupRow++;
                groupRowEnd += planeSize;
            }
            int row = groupRow;
            int rowEnd = groupRowEnd;
            for (int k = 0; k < m; k++) {
                if (i0 + k == rowEnd) {
                    row++;
                    rowEnd += planeSize;
                }
                int[] cdf = t.row(row);
                int[] lk = t.lookupRow(row);
                int cum = (int) (x[k] & mask);
                int bucket = cum >>> (precision - bits);
                int s = lk[bucket];
                int hi = lk[bucket + 1];
                while (s < hi && cdf[s + 1] <= cum) {
                    s++;
                }
                int start = cdf[s];
                x[k] = (cdf[s + 1] - start) * (x[k] >>> precision) + cum - start;
                slot[k] = s;
            }
            for (int round = 0; round < 2; round++) {
                for (int k = 0; k < m; k++) {
                    if (x[k] < L) {
                        if (pos == end) {
                            throw truncated();
                        }
                        x[k] = (x[k] << 8) | (data[pos++] & 0xFF);
                    }
                }
            }
            row = groupRow;
            rowEnd = groupRowEnd;
            for (int k = 0; k < m; k++) {
                if (i0 + k == rowEnd) {
                    row++;
                    rowEnd += planeSize;
                }
                int maxValue = t.cdfLength(row) - 2;
                long value = slot[k];
                if (slot[k] == maxValue) {
                    int count = (int) (x[k] & 15);
                    x[k] >>>= NIBBLE_BITS;
                    if (x[k] < L) {
                        if (pos == end) {
                            throw truncated();
                        }
                        x[k] = (x[k] << 8) | (data[pos++] & 0xFF);
                    }
                    if (count > ESCAPE_MAX_NIBBLES) {
                        throw corrupt("escape nibble count " + count + " > 8");
                    }
                    long r = 0;
                    for (int j = 0; j < count; j++) {
                        r |= (x[k] & 15) << (NIBBLE_BITS * j);
                        x[k] >>>= NIBBLE_BITS;
                        if (x[k] < L) {
                            if (pos == end) {
                                throw truncated();
                            }
                            x[k] = (x[k] << 8) | (data[pos++] & 0xFF);
                        }
                    }
                    if (count > 0 && (r >>> (NIBBLE_BITS * (count - 1))) == 0) {
                        throw corrupt("non-minimal escape nibble count");
                    }
                    value = (r & 1) != 0 ? -(r >>> 1) - 1 : (r >>> 1) + maxValue;
                }
                value += t.offset(row);
                if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
                    throw corrupt("decoded symbol outside int32");
                }
                out[i0 + k] = (int) value;
            }
        }
        if (pos != end) {
            throw corrupt((end - pos) + " bytes left over");
        }
        for (int k = 0; k < lanes; k++) {
            if (x[k] != L) {
                throw corrupt("final state of lane " + k + " differs from the initial state");
            }
        }
    }
}
