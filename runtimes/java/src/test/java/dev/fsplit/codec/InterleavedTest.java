package dev.fsplit.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The interleaved payload: round trips with escapes and partial groups, and refusal of damaged payloads. */
class InterleavedTest {
    private static CodecTables tables() throws CodecException {
        return CodecTables.fromArrays(new int[][] {{0, 16384, 49152, 65535, 65536}, {0, 20000, 65536},
            {0, 1, 2, 65535, 65536}}, new int[] {5, 3, 5}, new int[] {0, -3, 7}, 16);
    }

    private static int[] latent(int n, long seed) {
        Random rng = new Random(seed);
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = rng.nextInt(12) == 0 ? rng.nextInt() >> rng.nextInt(31) : rng.nextInt(4) - 1;
        }
        return s;
    }

    @Test
    void roundTripsForEveryLaneCount() throws Exception {
        CodecTables t = tables();
        for (int lanes : new int[] {8, 16, 32}) {
            for (int plane : new int[] {0, 1, 5, 31, 200}) {
                int[] symbols = latent(3 * plane, lanes * 1000L + plane);
                byte[] data = InterleavedCodec.encodePlanar(t, symbols, 3, lanes);
                assertTrue(data.length >= 4 * lanes);
                int[] out = new int[symbols.length];
                InterleavedCodec.decodePlanar(t, data, 0, data.length, 3, lanes, out);
                assertArrayEquals(symbols, out, lanes + " lanes, plane " + plane);
            }
        }
        byte[] empty = InterleavedCodec.encodePlanar(t, new int[0], 3, 8);
        assertEquals(32, empty.length);
        assertEquals(1, empty[3]); // 2^24, little-endian
    }

    @Test
    void truncationsAndTrailingBytesAreRefused() throws Exception {
        CodecTables t = tables();
        int[] symbols = latent(3 * 40, 5);
        byte[] data = InterleavedCodec.encodePlanar(t, symbols, 3, 16);
        int[] out = new int[symbols.length];
        for (int cut = 0; cut < data.length; cut++) {
            int len = cut;
            assertThrows(CorruptStreamException.class,
                    () -> InterleavedCodec.decodePlanar(t, data, 0, len, 3, 16, out), "cut " + cut);
        }
        byte[] longer = Arrays.copyOf(data, data.length + 1);
        CorruptStreamException e = assertThrows(CorruptStreamException.class,
                () -> InterleavedCodec.decodePlanar(t, longer, 0, longer.length, 3, 16, out));
        assertEquals(CodecException.Kind.CORRUPT, e.kind());
        assertThrows(InvalidInputException.class, () -> InterleavedCodec.encodePlanar(t, symbols, 3, 4));
    }

    @Test
    void version2EncoderGrowsItsBufferForEscapeHeavyLatents() throws Exception {
        // Every symbol escapes with a large value (up to 9 nibble steps, about 20 bytes a symbol): the encoder's
        // buffer, sized for one word a symbol, must grow several times; the payload still decodes exactly.
        CodecTables t = tables();
        for (int lanes : new int[] {8, 16, 32}) {
            int plane = 700;
            int[] symbols = new int[3 * plane];
            Random rng = new Random(lanes);
            for (int i = 0; i < symbols.length; i++) {
                int big = (rng.nextInt() | (1 << 30)) >> 1;
                symbols[i] = rng.nextBoolean() ? big : -big;
            }
            byte[] data = InterleavedCodec2.encodePlanar(t, symbols, 3, lanes);
            assertTrue(data.length > 2 * symbols.length + 64 * lanes, "no growth exercised: " + data.length);
            int[] out = new int[symbols.length];
            InterleavedCodec2.decodePlanar(t, data, 0, data.length, 3, lanes, out);
            assertArrayEquals(symbols, out, lanes + " lanes");
            int[] mixed = latent(3 * plane, lanes);
            byte[] small = InterleavedCodec2.encodePlanar(t, mixed, 3, lanes);
            InterleavedCodec2.decodePlanar(t, small, 0, small.length, 3, lanes, out);
            assertArrayEquals(mixed, out, lanes + " lanes, mixed");
        }
    }
}
