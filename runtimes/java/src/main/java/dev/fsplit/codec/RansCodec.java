package dev.fsplit.codec;

/**
 * rANS coder, byte-compatible with CompressAI's RansEncoder/RansDecoder (docs/formats.md, section 1).
 * Pure Java, integer-only; the 64-bit state stays in [2^31, 2^63) so a signed long never overflows.
 * Stateless and thread-safe: every call has its own state.
 */
public final class RansCodec {
    static final long RANS_L = 1L << 31;
    private static final int NIBBLE_BITS = 4;
    private static final int NIBBLE_CHUNK_MAX = 15;
    private static final int ESCAPE_MAX_NIBBLES = 8;

    private RansCodec() {
    }

    // ------------------------------------------------------------------ CompressAI-named entry points

    /** CompressAI's {@code encode_with_indexes}: symbol i is coded with row {@code indexes[i]}. */
    public static byte[] encodeWithIndexes(int[] symbols, int[] indexes, int[][] cdfs, int[] cdfSizes, int[] offsets)
            throws CodecException {
        return encode(CodecTables.fromArrays(cdfs, cdfSizes, offsets, 16), symbols, indexes);
    }

    /** CompressAI's {@code decode_with_indexes}. */
    public static int[] decodeWithIndexes(byte[] data, int[] indexes, int[][] cdfs, int[] cdfSizes, int[] offsets)
            throws CodecException {
        return decode(CodecTables.fromArrays(cdfs, cdfSizes, offsets, 16), data, indexes);
    }

    // ------------------------------------------------------------------ encoder

    /** Encode with explicit CDF indexes; 0 symbols give an 8-byte stream. */
    public static byte[] encode(CodecTables t, int[] symbols, int[] indexes) throws CodecException {
        return encode(t, symbols, indexes, false);
    }

    /** {@code divide}: the plain division encoder (same bytes; tests compare the two). */
    static byte[] encode(CodecTables t, int[] symbols, int[] indexes, boolean divide) throws CodecException {
        if (symbols.length != indexes.length) {
            throw new InvalidInputException(CodecException.Kind.ARGUMENT,
                    symbols.length + " symbols but " + indexes.length + " indexes");
        }
        Encoder e = new Encoder(symbols.length, divide ? null : t.encoderReciprocals(symbols.length));
        for (int i = symbols.length - 1; i >= 0; i--) { // rANS is last-in first-out
            e.symbol(t, symbols[i], indexes[i], i);
        }
        return e.finish();
    }

    /** Encode {@code planes} planes of equal size in C order; the index of plane p is p. */
    public static byte[] encodePlanar(CodecTables t, int[] symbols, int planes) throws CodecException {
        return encodePlanar(t, symbols, planes, false);
    }

    /** {@code divide}: the plain division encoder (same bytes; tests compare the two). */
    static byte[] encodePlanar(CodecTables t, int[] symbols, int planes, boolean divide) throws CodecException {
        if (planes <= 0 || symbols.length % planes != 0) {
            throw new InvalidInputException(CodecException.Kind.ARGUMENT,
                    symbols.length + " symbols do not split into " + planes + " planes");
        }
        int planeSize = symbols.length / planes;
        if (planeSize > 0 && planes > t.numChannels()) {
            throw new InvalidInputException(CodecException.Kind.INDEX,
                    planes + " planes but the tables have " + t.numChannels() + " channels");
        }
        Encoder e = new Encoder(symbols.length, divide ? null : t.encoderReciprocals(symbols.length));
        for (int p = planes - 1; p >= 0; p--) {
            for (int i = (p + 1) * planeSize - 1; i >= p * planeSize; i--) {
                e.symbol(t, symbols[i], p, i);
            }
        }
        return e.finish();
    }

    // ------------------------------------------------------------------ division by reciprocals

    /** ceil(log2(freq)): the k with 2^(k-1) < freq <= 2^k, 0 for freq 1. */
    static int ceilLog2(int freq) {
        return 32 - Integer.numberOfLeadingZeros(freq - 1);
    }

    /**
     * The encoder's reciprocal of freq (1..2^16): rcp = ceil(2^(63+k) / freq) with k = ceilLog2(freq), an unsigned
     * 64-bit value in [2^63, 2^64) (2^63 exactly for a power of two, freq 1 included). Its error
     * rcp * freq - 2^(63+k) is below freq <= 2^k, so floor(x * rcp / 2^(63+k)) = floor(x / freq) for every
     * x < 2^63 (Granlund and Montgomery 1994, theorem 4.2; the C coder's fsr_etable_build).
     */
    static long reciprocal(int freq) {
        int k = ceilLog2(freq);
        long a = 1L << (31 + k); // 2^(63+k) = a * 2^32, and a / freq < 2^32 as freq > 2^(k-1)
        long q1 = a / freq;
        long r1 = (a % freq) << 32;
        long q0 = r1 / freq;
        return (q1 << 32) + q0 + (r1 % freq != 0 ? 1 : 0);
    }

    /**
     * High 64 bits of the unsigned 128-bit product a * b, from 32-bit halves (Java 8 has no multiplyHigh; Hacker's
     * Delight's mulhu). No sum wraps: t and u are at most (2^32 - 1)^2 + 2^32 - 1 < 2^64.
     */
    static long mulhiUnsigned(long a, long b) {
        long a0 = a & 0xFFFFFFFFL;
        long a1 = a >>> 32;
        long b0 = b & 0xFFFFFFFFL;
        long b1 = b >>> 32;
        long t = a1 * b0 + ((a0 * b0) >>> 32);
        long u = a0 * b1 + (t & 0xFFFFFFFFL);
        return a1 * b1 + (t >>> 32) + (u >>> 32);
    }

    /**
     * floor(s / freq) for 0 <= s < 2^63 without a division, rcp = reciprocal(freq): mulhi(2s, rcp) is
     * floor(s * rcp / 2^63) (2s fits 64 unsigned bits), shifted right by k it is floor(s * rcp / 2^(63+k)).
     * Doubling s instead of shifting by k - 1 as the C coder does lets freq 1 (k = 0, rcp = 2^63) pass unchanged.
     */
    static long quotient(long s, int freq, long rcp) {
        return mulhiUnsigned(s << 1, rcp) >>> ceilLog2(freq);
    }

    /**
     * The single-stream encoder. Each step divides the state by the slot's frequency; with the tables'
     * {@link CodecTables#encoderReciprocals} it multiplies by the slot's reciprocal instead ({@link RansCodec#quotient},
     * exact, so the bytes are those of the division), else (tables above 2^20 slots, a first encode with fewer
     * symbols than the tables have slots, or the tests' {@code divide}) it divides.
     */
    private static final class Encoder {
        private long x = RANS_L;
        private int[] words; // in emission order; the stream holds them reversed
        private int count;
        private final long[][] reciprocals; // per row and slot, reciprocal(freq); null: divide

        Encoder(int symbols, long[][] reciprocals) {
            words = new int[Math.max(16, symbols / 2)];
            this.reciprocals = reciprocals;
        }

        /** One coding step; rcp is reciprocal(freq), or 0 to divide (0 is never a reciprocal). */
        private void put(int start, int freq, int precision, long rcp) {
            long s = x;
            if ((s >>> (63 - precision)) >= freq) { // s >= 2^(63-precision) * freq
                if (count == words.length) {
                    words = java.util.Arrays.copyOf(words, words.length * 2);
                }
                words[count++] = (int) s;
                s >>>= 32;
            }
            if (rcp != 0) {
                // q * 2^precision + (s - q * freq) + start, one multiply after q on the state's dependency chain
                x = s + start + quotient(s, freq, rcp) * ((1 << precision) - freq);
            } else {
                x = ((s / freq) << precision) + (s % freq) + start;
            }
        }

        void symbol(CodecTables t, int symbol, int index, int position) throws InvalidInputException {
            if (index < 0 || index >= t.numChannels()) {
                throw new InvalidInputException(CodecException.Kind.INDEX, "index " + index + " at position "
                        + position + " outside [0, " + t.numChannels() + ")");
            }
            int[] cdf = t.row(index);
            int maxValue = cdf.length - 2;
            long value = (long) symbol - t.offset(index);
            int precision = t.precision();
            if (value >= 0 && value < maxValue) {
                int v = (int) value;
                int freq = cdf[v + 1] - cdf[v];
                if (freq == 0) {
                    throw uncodable(symbol, index, position, "its slot has zero frequency");
                }
                put(cdf[v], freq, precision, reciprocals != null ? reciprocals[index][v] : 0);
                return;
            }
            long raw = value < 0 ? -2 * value - 1 : 2 * (value - maxValue);
            if (raw > 0xFFFFFFFFL) {
                throw uncodable(symbol, index, position, "escape value exceeds 32 bits");
            }
            int escapeFreq = cdf[maxValue + 1] - cdf[maxValue];
            if (escapeFreq == 0) {
                throw uncodable(symbol, index, position, "the escape slot has zero frequency");
            }
            int nibbles = 0;
            while (nibbles < ESCAPE_MAX_NIBBLES && (raw >>> (NIBBLE_BITS * nibbles)) != 0) {
                nibbles++;
            }
            for (int j = nibbles - 1; j >= 0; j--) { // raw's nibbles, most significant first
                put((int) ((raw >>> (NIBBLE_BITS * j)) & 15), 1, NIBBLE_BITS, 0); // freq 1: divides by 1
            }
            put(nibbles % NIBBLE_CHUNK_MAX, 1, NIBBLE_BITS, 0); // the count; <= 8 is a single chunk
            for (int j = nibbles / NIBBLE_CHUNK_MAX; j > 0; j--) {
                put(NIBBLE_CHUNK_MAX, 1, NIBBLE_BITS, 0);
            }
            put(cdf[maxValue], escapeFreq, precision, reciprocals != null ? reciprocals[index][maxValue] : 0);
        }

        private static InvalidInputException uncodable(int symbol, int index, int position, String why) {
            return new InvalidInputException(CodecException.Kind.SYMBOL,
                    "symbol " + symbol + " at position " + position + " (index " + index + "): " + why);
        }

        byte[] finish() {
            byte[] out = new byte[8 + 4 * count];
            putLe32(out, 0, (int) x);
            putLe32(out, 4, (int) (x >>> 32));
            for (int k = 0; k < count; k++) {
                putLe32(out, 8 + 4 * k, words[count - 1 - k]);
            }
            return out;
        }
    }

    static void putLe32(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    static int getLe32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    // ------------------------------------------------------------------ decoder

    /** Decode one symbol per index; the stream must be consumed exactly. */
    public static int[] decode(CodecTables t, byte[] data, int[] indexes) throws CodecException {
        int[] out = new int[indexes.length];
        Decoder d = new Decoder(data, 0, data.length);
        for (int i = 0; i < indexes.length; i++) {
            int index = indexes[i];
            if (index < 0 || index >= t.numChannels()) {
                throw new InvalidInputException(CodecException.Kind.INDEX, "index " + index + " at position " + i
                        + " outside [0, " + t.numChannels() + ")");
            }
            out[i] = d.symbol(t, index);
        }
        d.end();
        return out;
    }

    /** Decode {@code out.length / planes} symbols per plane from {@code data[offset, offset + length)}. */
    public static void decodePlanar(CodecTables t, byte[] data, int offset, int length, int planes, int[] out)
            throws CodecException {
        if (planes <= 0 || out.length % planes != 0) {
            throw new InvalidInputException(CodecException.Kind.ARGUMENT,
                    out.length + " symbols do not split into " + planes + " planes");
        }
        int planeSize = out.length / planes;
        Decoder d = new Decoder(data, offset, length);
        if (planeSize > 0 && planes > t.numChannels()) {
            throw new InvalidInputException(CodecException.Kind.INDEX,
                    planes + " planes but the tables have " + t.numChannels() + " channels");
        }
        int i = 0;
        for (int p = 0; p < planes; p++) {
            for (int k = 0; k < planeSize; k++) {
                out[i++] = d.symbol(t, p);
            }
        }
        d.end();
    }

    /** Largest s in [lo, hi] with cdf[s] <= cum (the lookup guarantees the answer lies there). */
    private static int search(int[] cdf, int lo, int hi, int cum) {
        int n = hi - lo + 1;
        while (n > 1) {
            int half = n >>> 1;
            if (cdf[lo + half] <= cum) {
                lo += half;
            }
            n -= half;
        }
        return lo;
    }

    private static final class Decoder {
        private final byte[] data;
        private int pos;
        private final int end;
        private long x;

        Decoder(byte[] data, int offset, int length) throws CorruptStreamException {
            if (length < 8) {
                throw new CorruptStreamException(CodecException.Kind.TRUNCATED, "stream is truncated: " + length
                        + " bytes, at least 8 needed");
            }
            if (length % 4 != 0) {
                throw new CorruptStreamException(CodecException.Kind.CORRUPT,
                        "stream is corrupt: length " + length + " is not a multiple of 4");
            }
            this.data = data;
            this.end = offset + length;
            x = (getLe32(data, offset) & 0xFFFFFFFFL) | ((long) getLe32(data, offset + 4) << 32);
            if (x < RANS_L) { // also catches bit 63 set (negative)
                throw new CorruptStreamException(CodecException.Kind.CORRUPT,
                        "stream is corrupt: initial state outside [2^31, 2^63)");
            }
            pos = offset + 8;
        }

        private void refill() throws CorruptStreamException {
            if (x < RANS_L) {
                if (end - pos < 4) {
                    throw new CorruptStreamException(CodecException.Kind.TRUNCATED,
                            "stream is truncated: it ends before all symbols are decoded");
                }
                x = (x << 32) | (getLe32(data, pos) & 0xFFFFFFFFL);
                pos += 4;
            }
        }

        private int nibble() throws CorruptStreamException {
            int v = (int) (x & 15);
            x >>>= NIBBLE_BITS;
            refill();
            return v;
        }

        int symbol(CodecTables t, int index) throws CorruptStreamException {
            int[] cdf = t.row(index);
            int precision = t.precision();
            int cum = (int) (x & ((1L << precision) - 1));
            // slot s with cdf[s] <= cum < cdf[s+1]: the lookup bucket bounds it, usually to one slot
            int bits = Math.min(precision, CodecTables.LOOKUP_BITS);
            int[] lk = t.lookupRow(index);
            int bucket = cum >>> (precision - bits);
            int lo = search(cdf, lk[bucket], lk[bucket + 1], cum);
            int start = cdf[lo];
            int freq = cdf[lo + 1] - start;
            x = freq * (x >>> precision) + cum - start;
            refill();
            int maxValue = cdf.length - 2;
            long value = lo;
            if (lo == maxValue) {
                int count = nibble();
                if (count > ESCAPE_MAX_NIBBLES) { // 15 would need continuation chunks; no int32 needs > 8
                    throw new CorruptStreamException(CodecException.Kind.CORRUPT,
                            "stream is corrupt: escape nibble count " + count + " > 8");
                }
                long raw = 0;
                for (int j = 0; j < count; j++) {
                    raw |= (long) nibble() << (NIBBLE_BITS * j);
                }
                if (count > 0 && (raw >>> (NIBBLE_BITS * (count - 1))) == 0) {
                    throw new CorruptStreamException(CodecException.Kind.CORRUPT,
                            "stream is corrupt: non-minimal escape nibble count");
                }
                value = (raw & 1) != 0 ? -(raw >>> 1) - 1 : (raw >>> 1) + maxValue;
            }
            value += t.offset(index);
            if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
                throw new CorruptStreamException(CodecException.Kind.CORRUPT,
                        "stream is corrupt: decoded symbol outside int32");
            }
            return (int) value;
        }

        void end() throws CorruptStreamException {
            if (pos != end || x != RANS_L) {
                throw new CorruptStreamException(CodecException.Kind.CORRUPT,
                        "stream is corrupt: trailing data or final state differs from the initial state");
            }
        }
    }
}
