package dev.fsplit.codec;

/**
 * The interleaved rANS payload, version 2 (docs/formats.md, section 5): {@code lanes} (8, 16 or 32) 32-bit
 * states in [2^16, 2^32) with 16-bit renormalisation words, over the tables requantized to 14 bits
 * ({@link #requantize}). Per group the decoder does every lane's step, one refill round (each lane below
 * 2^16 takes the next little-endian 16-bit word, in lane order), then the escape payloads in lane order; the
 * encoder writes the exact reverse. Byte-identical to the C implementations (scalar, AVX2).
 */
public final class InterleavedCodec2 {
    static final int PRECISION = 14;
    static final long L = 1L << 16;
    private static final int BUCKET_SHIFT = 4; // 1024 buckets of 16 cum values

    private InterleavedCodec2() {
    }

    /** The derived tables of one {@link CodecTables}: 14-bit CDF rows and the slot of each bucket. */
    static final class Derived {
        final int[][] cdf; // row c: cdfLength(c) entries, ending at 2^14
        final char[][] bucket;

        Derived(CodecTables t) throws InvalidTablesException {
            int n = t.numChannels();
            cdf = new int[n][];
            bucket = new char[n][];
            for (int c = 0; c < n; c++) {
                cdf[c] = requantize(t.row(c), t.precision());
                char[] b = new char[1 << (PRECISION - BUCKET_SHIFT)];
                int s = 0;
                for (int i = 0; i < b.length; i++) {
                    int cum = i << BUCKET_SHIFT;
                    while (cdf[c][s + 1] <= cum) {
                        s++;
                    }
                    b[i] = (char) s;
                }
                bucket[c] = b;
            }
        }
    }

    private static final java.util.Map<CodecTables, Derived> CACHE =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<CodecTables, Derived>());

    static Derived derived(CodecTables t) throws InvalidTablesException {
        Derived d = CACHE.get(t);
        if (d == null) {
            d = new Derived(t);
            CACHE.put(t, d);
        }
        return d;
    }

    /** The normative 14-bit requantization of one CDF row given at {@code precision} bits. */
    public static int[] requantize(int[] cdf, int precision) throws InvalidTablesException {
        int slots = cdf.length - 1;
        long[] g = new long[slots];
        int coded = 0;
        long excess = -(1L << PRECISION);
        for (int s = 0; s < slots; s++) {
            long f = (long) cdf[s + 1] - cdf[s];
            if (f == 0) {
                g[s] = 0;
            } else if (precision <= PRECISION) {
                g[s] = f << (PRECISION - precision);
            } else {
                g[s] = Math.max(1, ((f << PRECISION) + (1L << (precision - 1))) >> precision);
            }
            coded += f != 0 ? 1 : 0;
            excess += g[s];
        }
        if (coded > 1 << PRECISION) {
            throw new InvalidTablesException("more than 2^14 coded slots: not representable in payload version 2");
        }
        while (excess != 0) {
            int j = 0;
            for (int s = 1; s < slots; s++) {
                if (g[s] > g[j]) {
                    j = s;
                }
            }
            if (excess < 0) {
                g[j] -= excess;
                excess = 0;
            } else {
                long d = Math.min(excess, g[j] - 1);
                g[j] -= d;
                excess -= d;
            }
        }
        int[] out = new int[cdf.length];
        for (int s = 0; s < slots; s++) {
            out[s + 1] = out[s] + (int) g[s];
        }
        return out;
    }

    // ------------------------------------------------------------------ encoder

    /** Encode {@code planes} planes of equal size in C order (row of plane p is p) with {@code lanes} states. */
    public static byte[] encodePlanar(CodecTables t, int[] symbols, int planes, int lanes) throws CodecException {
        check(t, symbols.length, planes, lanes);
        Derived q = derived(t);
        int n = symbols.length;
        int planeSize = n / planes;
        // Written backwards from the end; sized for the common case (one 16-bit word a symbol) and grown when a
        // group might not fit (a group writes at most 20 bytes a lane: its word and an escape's 9 nibble words).
        // Sizing it for the worst case up front would zero 20 bytes a symbol on every call.
        byte[] buf = new byte[2 * n + 64 * lanes];
        int ptr = buf.length;
        long[] x = new long[lanes];
        int[] start = new int[lanes];
        int[] freq = new int[lanes];
        long[] raw = new long[lanes];
        boolean[] esc = new boolean[lanes];
        boolean[] renorm = new boolean[lanes];
        java.util.Arrays.fill(x, L);
        for (int g0 = ((n + lanes - 1) / lanes - 1) * lanes; g0 >= 0; g0 -= lanes) {
            int m = Math.min(lanes, n - g0);
            if (ptr < 20 * lanes) {
                byte[] grown = new byte[2 * buf.length];
                int used = buf.length - ptr;
                System.arraycopy(buf, ptr, grown, grown.length - used, used);
                ptr = grown.length - used;
                buf = grown;
            }
            int row = g0 / planeSize; // one division a group; the group's symbols advance through the planes
            int inPlane = g0 - row * planeSize;
            for (int k = 0; k < m; k++, inPlane++) {
                if (inPlane == planeSize) {
                    row++;
                    inPlane = 0;
                }
                int[] cdf = q.cdf[row];
                int maxValue = cdf.length - 2;
                long value = (long) symbols[g0 + k] - t.offset(row);
                esc[k] = !(value >= 0 && value < maxValue);
                if (esc[k]) {
                    long r = value < 0 ? -2 * value - 1 : 2 * (value - maxValue);
                    if (r > 0xFFFFFFFFL) {
                        throw new InvalidInputException(CodecException.Kind.SYMBOL,
                                "symbol " + symbols[g0 + k] + " needs an escape beyond 32 bits");
                    }
                    raw[k] = r;
                    value = maxValue;
                }
                start[k] = cdf[(int) value];
                freq[k] = cdf[(int) value + 1] - start[k];
                if (freq[k] == 0) {
                    throw new InvalidInputException(CodecException.Kind.SYMBOL,
                            "symbol " + symbols[g0 + k] + " has zero frequency in channel " + row);
                }
            }
            for (int k = m - 1; k >= 0; k--) {
                if (esc[k]) {
                    int count = 0;
                    while (count < 8 && (raw[k] >>> (4 * count)) != 0) {
                        count++;
                    }
                    for (int j = count; j >= 0; j--) { // nibbles from the most significant, then the count
                        int v = j == 0 ? count : (int) ((raw[k] >>> (4 * (j - 1))) & 15);
                        if ((x[k] >>> 28) != 0) {
                            buf[--ptr] = (byte) (x[k] >>> 8);
                            buf[--ptr] = (byte) x[k];
                            x[k] >>>= 16;
                        }
                        x[k] = (x[k] << 4) + v;
                    }
                }
            }
            for (int k = 0; k < m; k++) {
                renorm[k] = (x[k] >>> (32 - PRECISION)) >= freq[k];
            }
            for (int k = m - 1; k >= 0; k--) {
                if (renorm[k]) {
                    buf[--ptr] = (byte) (x[k] >>> 8);
                    buf[--ptr] = (byte) x[k];
                }
            }
            for (int k = 0; k < m; k++) {
                long y = renorm[k] ? x[k] >>> 16 : x[k];
                long qv = y / freq[k];
                x[k] = (qv << PRECISION) + (y - qv * freq[k]) + start[k];
            }
        }
        byte[] out = new byte[4 * lanes + buf.length - ptr];
        for (int k = 0; k < lanes; k++) {
            out[4 * k] = (byte) x[k];
            out[4 * k + 1] = (byte) (x[k] >>> 8);
            out[4 * k + 2] = (byte) (x[k] >>> 16);
            out[4 * k + 3] = (byte) (x[k] >>> 24);
        }
        System.arraycopy(buf, ptr, out, 4 * lanes, buf.length - ptr);
        return out;
    }

    // ------------------------------------------------------------------ decoder

    private static CorruptStreamException truncated() {
        return new CorruptStreamException(CodecException.Kind.TRUNCATED, "stream is truncated");
    }

    private static CorruptStreamException corrupt(String why) {
        return new CorruptStreamException(CodecException.Kind.CORRUPT, "stream is corrupt: " + why);
    }

    /** Decode {@code out.length} symbols of {@code planes} planes from data[offset, offset + length). */
    public static void decodePlanar(CodecTables t, byte[] data, int offset, int length, int planes, int lanes,
            int[] out) throws CodecException {
        check(t, out.length, planes, lanes);
        if (length < 4 * lanes) {
            throw truncated();
        }
        if (length % 2 != 0) {
            throw corrupt("odd payload length");
        }
        Derived q = derived(t);
        int n = out.length;
        int planeSize = n == 0 ? 1 : n / planes;
        long[] x = new long[lanes];
        int[] slot = new int[lanes];
        int[] rowOf = new int[lanes];
        for (int k = 0; k < lanes; k++) {
            int p = offset + 4 * k;
            x[k] = (data[p] & 0xFFL) | (data[p + 1] & 0xFFL) << 8 | (data[p + 2] & 0xFFL) << 16
                    | (data[p + 3] & 0xFFL) << 24;
            if (x[k] < L) {
                throw corrupt("initial lane state below 2^16");
            }
        }
        int pos = offset + 4 * lanes;
        int end = offset + length;
        int mask = (1 << PRECISION) - 1;
        for (int g0 = 0; g0 < n; g0 += lanes) {
            int m = Math.min(lanes, n - g0);
            int row = g0 / planeSize; // one division a group; the group's symbols advance through the planes
            int inPlane = g0 - row * planeSize;
            for (int k = 0; k < m; k++, inPlane++) {
                if (inPlane == planeSize) {
                    row++;
                    inPlane = 0;
                }
                rowOf[k] = row;
                int[] cdf = q.cdf[row];
                int cum = (int) (x[k] & mask);
                int s = q.bucket[row][cum >>> BUCKET_SHIFT];
                while (cdf[s + 1] <= cum) {
                    s++;
                }
                x[k] = (long) (cdf[s + 1] - cdf[s]) * (x[k] >>> PRECISION) + cum - cdf[s];
                slot[k] = s;
            }
            for (int k = 0; k < m; k++) {
                if (x[k] < L) {
                    if (end - pos < 2) {
                        throw truncated();
                    }
                    x[k] = (x[k] << 16) | (data[pos] & 0xFFL) | (data[pos + 1] & 0xFFL) << 8;
                    pos += 2;
                }
            }
            for (int k = 0; k < m; k++) {
                row = rowOf[k];
                int maxValue = q.cdf[row].length - 2;
                long value = slot[k];
                if (slot[k] == maxValue) {
                    long raw = 0;
                    int count = -1;
                    for (int j = -1; j < count || count < 0; j++) {
                        long nib = x[k] & 15;
                        x[k] >>>= 4;
                        if (x[k] < L) {
                            if (end - pos < 2) {
                                throw truncated();
                            }
                            x[k] = (x[k] << 16) | (data[pos] & 0xFFL) | (data[pos + 1] & 0xFFL) << 8;
                            pos += 2;
                        }
                        if (count < 0) {
                            count = (int) nib;
                            if (count > 8) {
                                throw corrupt("escape count above 8");
                            }
                        } else {
                            raw |= nib << (4 * j);
                        }
                    }
                    if (count > 0 && (raw >>> (4 * (count - 1))) == 0) {
                        throw corrupt("non-minimal escape count");
                    }
                    value = (raw & 1) != 0 ? -(raw >>> 1) - 1 : (raw >>> 1) + maxValue;
                }
                value += t.offset(row);
                if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
                    throw corrupt("symbol beyond int32");
                }
                out[g0 + k] = (int) value;
            }
        }
        if (pos != end) {
            throw corrupt("bytes left over");
        }
        for (int k = 0; k < lanes; k++) {
            if (x[k] != L) {
                throw corrupt("final lane state is not 2^16");
            }
        }
    }

    private static void check(CodecTables t, int count, int planes, int lanes) throws InvalidInputException {
        if (!InterleavedCodec.lanesSupported(lanes)) {
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
}
