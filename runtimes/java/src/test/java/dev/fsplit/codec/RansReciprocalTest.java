package dev.fsplit.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The single-stream encoder's division by reciprocals (RansCodec.reciprocal / quotient): exact against the division
 * for every frequency at every precision, and byte-identical to the division encoder, errors included.
 */
class RansReciprocalTest {
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    private static BigInteger unsigned(long v) {
        return v >= 0 ? BigInteger.valueOf(v) : BigInteger.valueOf(v).add(TWO_64);
    }

    @Test
    void reciprocalIsTheCeilingForEveryFrequency() {
        for (int freq = 1; freq <= 1 << 16; freq++) {
            int k = RansCodec.ceilLog2(freq);
            assertTrue((k == 0 || 1 << (k - 1) < freq) && freq <= 1 << k, "k " + k + " for freq " + freq);
            BigInteger[] qr = BigInteger.ONE.shiftLeft(63 + k).divideAndRemainder(BigInteger.valueOf(freq));
            BigInteger expected = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
            assertEquals(expected, unsigned(RansCodec.reciprocal(freq)), "freq " + freq);
        }
    }

    @Test
    void mulhiMatchesBigInteger() {
        long[] edges = {0, 1, 2, 0xFFFFFFFFL, 1L << 32, (1L << 32) + 1, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2,
            0x8000000080000000L, 0xFFFFFFFF00000000L};
        Random rng = new Random(7);
        long[] values = Arrays.copyOf(edges, edges.length + 200);
        for (int i = edges.length; i < values.length; i++) {
            values[i] = rng.nextLong() >>> rng.nextInt(64);
        }
        for (long a : values) {
            for (long b : values) {
                BigInteger expected = unsigned(a).multiply(unsigned(b)).shiftRight(64);
                assertEquals(expected, unsigned(RansCodec.mulhiUnsigned(a, b)), a + " * " + b);
            }
        }
    }

    /**
     * Every frequency 1..2^p at every precision p against s / freq, at the states where a slightly wrong reciprocal
     * fails first: multiples of freq and their neighbours (near 0, near 2^63 and at random), 2^63 - 1, just below
     * the renormalization bound 2^(63-p) * freq (the largest states the encoder divides), and random states.
     */
    @Test
    void quotientIsExactForEveryFrequencyAtEveryPrecision() {
        Random rng = new Random(16);
        long[] states = new long[40];
        long checked = 0;
        for (int p = 1; p <= 16; p++) {
            for (int freq = 1; freq <= 1 << p; freq++) {
                long rcp = RansCodec.reciprocal(freq);
                long top = Long.MAX_VALUE / freq * freq; // the largest multiple of freq below 2^63
                long bound = freq == 1 << p ? Long.MAX_VALUE : (long) freq << (63 - p);
                long randomMultiple = (rng.nextLong() >>> 1) / freq * freq;
                int n = 0;
                for (long base : new long[] {0, freq, 2L * freq, RansCodec.RANS_L / freq * freq, top - freq, top,
                    bound / freq * freq, bound - freq, randomMultiple}) {
                    states[n++] = base - 1;
                    states[n++] = base;
                    states[n++] = base + 1;
                    states[n++] = base + freq - 1;
                }
                states[n++] = Long.MAX_VALUE;
                states[n++] = Long.MAX_VALUE - 1;
                states[n++] = bound - 1;
                states[n++] = bound - 2;
                while (n < states.length) {
                    states[n++] = rng.nextLong() >>> (1 + rng.nextInt(40));
                }
                for (long s : states) {
                    if (s < 0) {
                        continue; // 0 - 1, or top + freq - 1 past 2^63 - 1
                    }
                    long q = RansCodec.quotient(s, freq, rcp);
                    if (q != s / freq) {
                        fail("precision " + p + ", freq " + freq + ", state " + s + ": quotient " + q + ", expected "
                                + s / freq);
                    }
                    checked++;
                }
            }
        }
        assertTrue(checked > 30L * ((1 << 17) - 2), "only " + checked + " checks");
    }

    // ------------------------------------------------------------------ whole encoder against the division encoder

    /** A random valid row: slot widths summing to 2^precision, often with zero-width and width-1 slots. */
    private static int[] randomRow(Random rng, int precision, int length) {
        int total = 1 << precision;
        int[] cuts = new int[length];
        for (int i = 1; i < length - 1; i++) {
            switch (rng.nextInt(4)) {
                case 0: // cluster at the top: many width-0/1 slots and one large slot
                    cuts[i] = total - rng.nextInt(Math.min(total, 8) + 1);
                    break;
                case 1:
                    cuts[i] = rng.nextInt(Math.min(total, 4) + 1);
                    break;
                default:
                    cuts[i] = rng.nextInt(total + 1);
            }
        }
        cuts[length - 1] = total;
        Arrays.sort(cuts, 1, length - 1);
        return cuts;
    }

    private static CodecTables randomTables(Random rng, int precision) throws CodecException {
        int channels = 1 + rng.nextInt(5);
        int[][] cdf = new int[channels][];
        int[] len = new int[channels];
        int[] off = new int[channels];
        for (int c = 0; c < channels; c++) {
            len[c] = 2 + rng.nextInt(Math.min(1 << precision, 40));
            cdf[c] = randomRow(rng, precision, len[c]);
            off[c] = rng.nextInt(11) - 5;
        }
        return CodecTables.fromArrays(cdf, len, off, precision);
    }

    /** A symbol of channel c: any slot of nonzero width (uniformly, so rare slots are frequent), or an escape. */
    private static int randomSymbol(Random rng, CodecTables t, int c) {
        int[] cdf = t.cdf(c);
        int maxValue = cdf.length - 2;
        boolean escapes = cdf[maxValue + 1] > cdf[maxValue];
        for (int tries = 0; tries < 64; tries++) {
            int v = rng.nextInt(maxValue + 1);
            if (cdf[v + 1] == cdf[v]) {
                continue;
            }
            if (v < maxValue) {
                return v + t.offset(c);
            }
            int big = rng.nextInt() >> rng.nextInt(32); // escape: below 0 or at/above maxValue
            long value = big < 0 ? big : (long) maxValue + big;
            return (int) Math.max(Integer.MIN_VALUE + 5, Math.min(Integer.MAX_VALUE - 5, value + t.offset(c)));
        }
        return escapes ? maxValue + t.offset(c) : t.offset(c) + Math.max(0, maxValue - 1); // may be uncodable
    }

    private interface Encode {
        byte[] run(boolean divide) throws CodecException;
    }

    /** The bytes, or the exception's class, kind and message: what the two encoders must agree on. */
    private static Object outcome(Encode e, boolean divide) {
        try {
            return e.run(divide);
        } catch (CodecException x) {
            return x.getClass().getSimpleName() + " " + x.kind() + ": " + x.getMessage();
        }
    }

    private static void assertSameOutcome(Encode e, String what) {
        Object expected = outcome(e, true);
        Object actual = outcome(e, false);
        if (expected instanceof byte[] && actual instanceof byte[]) {
            assertArrayEquals((byte[]) expected, (byte[]) actual, what);
        } else {
            assertEquals(String.valueOf(expected), String.valueOf(actual), what);
        }
    }

    @Test
    void encoderMatchesTheDivisionEncoderOnRandomTables() throws Exception {
        Random rng = new Random(2024);
        int streams = 0;
        for (int trial = 0; trial < 600; trial++) {
            int precision = 1 + trial % 16;
            CodecTables t = randomTables(rng, precision);
            assertNotNull(t.encoderReciprocals(Long.MAX_VALUE), "reciprocals built");
            int n = rng.nextInt(400);
            int[] symbols = new int[n];
            int[] indexes = new int[n];
            for (int i = 0; i < n; i++) {
                indexes[i] = rng.nextInt(t.numChannels());
                symbols[i] = randomSymbol(rng, t, indexes[i]);
            }
            if (trial % 50 == 7 && n > 0) { // an index out of range: same exception from both
                indexes[rng.nextInt(n)] = t.numChannels();
            }
            String what = "trial " + trial + ", precision " + precision;
            byte[] fast;
            try {
                fast = RansCodec.encode(t, symbols, indexes);
            } catch (InvalidInputException e) {
                assertSameOutcome(d -> RansCodec.encode(t, symbols, indexes, d), what);
                continue;
            }
            assertArrayEquals(RansCodec.encode(t, symbols, indexes, true), fast, what);
            assertArrayEquals(symbols, RansCodec.decode(t, fast, indexes), what);
            streams++;

            int planes = t.numChannels();
            int[] planar = new int[planes * rng.nextInt(100)];
            for (int i = 0; i < planar.length; i++) {
                planar[i] = randomSymbol(rng, t, i / (planar.length / planes));
            }
            assertSameOutcome(d -> RansCodec.encodePlanar(t, planar, planes, d), what + ", planar");
        }
        assertTrue(streams > 400, "only " + streams + " streams compared");
    }

    @Test
    void errorsAreTheDivisionEncodersErrors() throws Exception {
        // slot 1 and the escape slot of row 0 have zero width; row 1 escapes, Integer.MIN_VALUE beyond 32 bits
        CodecTables t = CodecTables.fromArrays(new int[][] {{0, 100, 100, 65536, 65536}, {0, 1, 65535, 65536}},
                new int[] {5, 4}, new int[] {0, 5}, 16);
        assertNotNull(t.encoderReciprocals(Long.MAX_VALUE));
        int[][] symbols = {{0, 1, 2}, {0, 3, 2}, {0, -1, 2}, {0, Integer.MIN_VALUE, 2}, {0, 2}, {0, 2, 0}};
        int[][] indexes = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 1, 0}, {0, 0, 0}, {0, 2, 0}};
        for (int k = 0; k < symbols.length; k++) {
            int[] s = symbols[k];
            int[] i = indexes[k];
            Object first = outcome(d -> RansCodec.encode(t, s, i, d), false);
            assertTrue(first instanceof String, "case " + k + " must fail");
            assertSameOutcome(d -> RansCodec.encode(t, s, i, d), "case " + k);
        }
        int[] planar = {0, 2, 0, 0, 1, 1};
        assertSameOutcome(d -> RansCodec.encodePlanar(t, planar, 2, d), "planar");
        assertSameOutcome(d -> RansCodec.encodePlanar(t, planar, 3, d), "three planes of two channels");
        assertSameOutcome(d -> RansCodec.encodePlanar(t, planar, 4, d), "planes do not divide");
        assertSameOutcome(d -> RansCodec.encodePlanar(t, new int[] {0, 7, -2, 1 << 30}, 2, d), "escapes");
    }

    @Test
    void reciprocalsAreBuiltOnceForEnoughSymbolsAndCapped() throws Exception {
        Random rng = new Random(3);
        CodecTables small = randomTables(rng, 16);
        long slots = 0;
        for (int c = 0; c < small.numChannels(); c++) {
            slots += small.cdfLength(c) - 1;
        }
        assertNull(small.encoderReciprocals(slots - 1), "fewer symbols than slots: divide, build nothing");
        long[][] r = small.encoderReciprocals(slots);
        assertNotNull(r);
        assertSame(r, small.encoderReciprocals(0), "built once");

        for (int rows : new int[] {16, 17}) { // 2^20 slots get reciprocals, more keep the division
            int[] row = randomRow(rng, 16, 65537);
            int[][] cdf = new int[rows][];
            Arrays.fill(cdf, row);
            int[] len = new int[rows];
            Arrays.fill(len, row.length);
            CodecTables big = CodecTables.fromArrays(cdf, len, new int[rows], 16);
            long[][] br = big.encoderReciprocals(Long.MAX_VALUE);
            assertEquals(rows == 16, br != null, rows + " rows of 2^16 slots");
            int[] symbols = new int[rows * 50];
            for (int i = 0; i < symbols.length; i++) {
                symbols[i] = randomSymbol(rng, big, i / 50);
            }
            assertSameOutcome(d -> RansCodec.encodePlanar(big, symbols, rows, d), rows + " rows");
        }
    }
}
