package dev.fsplit.codec;

/**
 * The interleaved rANS payload, version 2 (docs/formats.md, section 5): {@code lanes} (8, 16 or 32) 32-bit
 * states in [2^16, 2^32) with 16-bit renormalisation words, over the tables requantized to 14 bits
 * ({@link #requantize}). Per group the decoder does every lane's step, one refill round (each lane below
 * 2^16 takes the next little-endian 16-bit word, in lane order), then the escape payloads in lane order; the
 * encoder writes the exact reverse. The last symbols (the tail) are lane 0's alone, and the first words the tail
 * reads are parked in lanes 1 .. N-1's start states. Byte-identical to the C implementations (scalar, AVX2, NEON).
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

    /** The tail length takes one 16-bit word below 2^15, else two; so a payload holds fewer than 2^31 symbols. */
    private static final int TAIL_ONE_WORD = 1 << 15;
    /** Words the tail reads after those parked in lanes 1 .. N-1: at most one symbol's (main, count, 8 nibbles) - 1. */
    private static final int MAX_TAIL_WORDS_LEFT = 9;

    /** Encoder state: lanes' states and the bytes written backwards from the end of {@code buf}. */
    private static final class Enc {
        final CodecTables t;
        final Derived q;
        final int[] symbols;
        final int planeSize;
        final long[] x;
        final int[] start;
        final int[] freq;
        final long[] raw;
        final boolean[] esc;
        final boolean[] renorm;
        byte[] buf;
        int ptr;

        Enc(CodecTables t, Derived q, int[] symbols, int planeSize, int lanes) {
            this.t = t;
            this.q = q;
            this.symbols = symbols;
            this.planeSize = planeSize;
            x = new long[lanes];
            start = new int[lanes];
            freq = new int[lanes];
            raw = new long[lanes];
            esc = new boolean[lanes];
            renorm = new boolean[lanes];
            java.util.Arrays.fill(x, L);
            // Sized for the common case (one 16-bit word a symbol) and grown when a group might not fit (a group
            // writes at most 20 bytes a lane: its word and an escape's 9 nibble words). Sizing it for the worst
            // case up front would zero 20 bytes a symbol on every call.
            buf = new byte[2 * symbols.length + 64 * lanes];
            ptr = buf.length;
        }

        int written() {
            return buf.length - ptr;
        }

        /** Symbols g0 .. g0 + m - 1 on lanes 0 .. m - 1 (the decoder's group, coded in reverse). */
        void group(int g0, int m) throws CodecException {
            if (ptr < 20 * m) {
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
    }

    /** Encode {@code planes} planes of equal size in C order (row of plane p is p) with {@code lanes} states. */
    public static byte[] encodePlanar(CodecTables t, int[] symbols, int planes, int lanes) throws CodecException {
        check(t, symbols.length, planes, lanes);
        int n = symbols.length;
        Enc e = new Enc(t, derived(t), symbols, n / planes, lanes);
        int main = n; // the tail: lane 0 alone, last symbol first, until it has emitted lanes - 1 words
        while (main > 0 && e.written() < 2 * (lanes - 1)) {
            main--;
            e.group(main, 1);
        }
        if (main > 0) { // park the tail's first lanes - 1 words (read order) in the other lanes' start states
            for (int k = 1; k < lanes; k++) {
                e.x[k] = L + ((e.buf[e.ptr] & 0xFFL) | (e.buf[e.ptr + 1] & 0xFFL) << 8);
                e.ptr += 2;
            }
            for (int g0 = ((main + lanes - 1) / lanes - 1) * lanes; g0 >= 0; g0 -= lanes) {
                e.group(g0, Math.min(lanes, main - g0));
            }
        }
        int tail = n - main;
        int head = tail < TAIL_ONE_WORD ? 2 : 4;
        int count = main > 0 ? lanes : 1;
        byte[] out = new byte[head + 4 * count + e.written()];
        out[0] = (byte) tail;
        out[1] = (byte) (head == 2 ? tail >>> 8 : 0x80 | ((tail >>> 8) & 0x7F));
        if (head == 4) {
            out[2] = (byte) (tail >>> 15);
            out[3] = (byte) (tail >>> 23);
        }
        for (int k = 0; k < count; k++) {
            int p = head + 4 * k;
            out[p] = (byte) e.x[k];
            out[p + 1] = (byte) (e.x[k] >>> 8);
            out[p + 2] = (byte) (e.x[k] >>> 16);
            out[p + 3] = (byte) (e.x[k] >>> 24);
        }
        System.arraycopy(e.buf, e.ptr, out, head + 4 * count, e.written());
        return out;
    }

    // ------------------------------------------------------------------ decoder

    private static CorruptStreamException truncated() {
        return new CorruptStreamException(CodecException.Kind.TRUNCATED, "stream is truncated");
    }

    private static CorruptStreamException corrupt(String why) {
        return new CorruptStreamException(CodecException.Kind.CORRUPT, "stream is corrupt: " + why);
    }

    /** Decoder state: lanes' states and the words still to read, data[pos, end). */
    private static final class Dec {
        final CodecTables t;
        final Derived q;
        final int[] out;
        final int planeSize;
        final long[] x;
        final int[] slot;
        final int[] rowOf;
        byte[] data;
        int pos;
        int end;

        Dec(CodecTables t, Derived q, int[] out, int planeSize, int lanes) {
            this.t = t;
            this.q = q;
            this.out = out;
            this.planeSize = planeSize;
            x = new long[lanes];
            slot = new int[lanes];
            rowOf = new int[lanes];
            java.util.Arrays.fill(x, L);
        }

        private void refill(int k) throws CorruptStreamException {
            if (x[k] < L) {
                if (end - pos < 2) {
                    throw truncated();
                }
                x[k] = (x[k] << 16) | (data[pos] & 0xFFL) | (data[pos + 1] & 0xFFL) << 8;
                pos += 2;
            }
        }

        /** Symbols g0 .. g0 + m - 1 from lanes 0 .. m - 1. */
        void group(int g0, int m) throws CorruptStreamException {
            int mask = (1 << PRECISION) - 1;
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
                refill(k);
            }
            for (int k = 0; k < m; k++) {
                row = rowOf[k];
                int maxValue = q.cdf[row].length - 2;
                long value = slot[k];
                if (slot[k] == maxValue) {
                    long raw = 0;
                    int count = (int) (x[k] & 15);
                    x[k] >>>= 4;
                    refill(k);
                    if (count > 8) {
                        throw corrupt("escape count above 8");
                    }
                    for (int j = 0; j < count; j++) {
                        raw |= (x[k] & 15) << (4 * j);
                        x[k] >>>= 4;
                        refill(k);
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
    }

    /** Decode {@code out.length} symbols of {@code planes} planes from data[offset, offset + length). */
    public static void decodePlanar(CodecTables t, byte[] data, int offset, int length, int planes, int lanes,
            int[] out) throws CodecException {
        check(t, out.length, planes, lanes);
        if (length % 2 != 0) {
            throw corrupt("odd payload length");
        }
        if (length < 2) {
            throw truncated();
        }
        int n = out.length;
        int w0 = (data[offset] & 0xFF) | (data[offset + 1] & 0xFF) << 8;
        long tail = w0;
        int head = 2;
        if ((w0 & 0x8000) != 0) {
            if (length < 4) {
                throw truncated();
            }
            int w1 = (data[offset + 2] & 0xFF) | (data[offset + 3] & 0xFF) << 8;
            if (w1 == 0) {
                throw corrupt("non-minimal tail length");
            }
            tail = (w0 & 0x7FFF) | (long) w1 << 15;
            head = 4;
        }
        if (tail > n || (n > 0 && tail == 0)) {
            throw corrupt("tail length out of range");
        }
        int main = n - (int) tail;
        int count = main > 0 ? lanes : 1;
        if (length - head < 4 * count) {
            throw truncated();
        }
        Dec d = new Dec(t, derived(t), out, n == 0 ? 1 : n / planes, lanes);
        for (int k = 0; k < count; k++) {
            int p = offset + head + 4 * k;
            d.x[k] = (data[p] & 0xFFL) | (data[p + 1] & 0xFFL) << 8 | (data[p + 2] & 0xFFL) << 16
                    | (data[p + 3] & 0xFFL) << 24;
            if (d.x[k] < L) {
                throw corrupt("initial lane state below 2^16");
            }
        }
        d.data = data;
        d.pos = offset + head + 4 * count;
        d.end = offset + length;
        for (int g0 = 0; g0 < main; g0 += lanes) {
            d.group(g0, Math.min(lanes, main - g0));
        }
        if (main > 0) { // the other lanes end at 2^16 + the tail's first lanes - 1 words; the tail reads them first
            int left = d.end - d.pos;
            if (left > 2 * MAX_TAIL_WORDS_LEFT) {
                throw corrupt("too many words after the main part");
            }
            byte[] words = new byte[2 * (lanes - 1) + left];
            for (int k = 1; k < lanes; k++) {
                long w = d.x[k] - L;
                if (w < 0 || w > 0xFFFF) {
                    throw corrupt("final lane state outside [2^16, 2^17)");
                }
                words[2 * (k - 1)] = (byte) w;
                words[2 * (k - 1) + 1] = (byte) (w >>> 8);
            }
            System.arraycopy(data, d.pos, words, 2 * (lanes - 1), left);
            d.data = words;
            d.pos = 0;
            d.end = words.length;
        }
        int tailStart = d.pos;
        int first = 0;
        for (int i = main; i < n; i++) {
            d.group(i, 1);
            if (i == main) {
                first = d.pos - tailStart;
            }
        }
        if (d.pos - tailStart - first > 2 * (lanes - 2)) {
            throw corrupt("tail longer than the encoder makes it");
        }
        if (d.pos != d.end) {
            throw corrupt("bytes left over");
        }
        if (d.x[0] != L) {
            throw corrupt("final lane state is not 2^16");
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
