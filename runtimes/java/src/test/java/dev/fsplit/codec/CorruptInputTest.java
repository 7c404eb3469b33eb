package dev.fsplit.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Damaged streams, containers and tables files are refused with the right exception, never a crash. */
class CorruptInputTest {
    private static final int[][] CDF = {{0, 16384, 49152, 65535, 65536}, {0, 20000, 65536}};

    private static CodecTables tables() throws CodecException {
        return CodecTables.fromArrays(CDF, new int[] {5, 3}, new int[] {0, -3}, 16);
    }

    private static int[] latent(int n, long seed) {
        Random rng = new Random(seed);
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = rng.nextInt(10) == 0 ? rng.nextInt() >> rng.nextInt(31) : rng.nextInt(5) - 1;
        }
        return s;
    }

    @Test
    void everyTruncatedStreamIsRefused() throws Exception {
        CodecTables t = tables();
        int[] symbols = latent(64, 1);
        int[] idx = new int[64];
        for (int i = 0; i < 64; i++) {
            idx[i] = i % 2;
        }
        byte[] data = RansCodec.encode(t, symbols, idx);
        assertArrayEquals(symbols, RansCodec.decode(t, data, idx));
        for (int cut = 0; cut < data.length; cut++) {
            byte[] part = java.util.Arrays.copyOf(data, cut);
            assertThrows(CorruptStreamException.class, () -> RansCodec.decode(t, part, idx), "cut " + cut);
        }
    }

    @Test
    void bitFlipsDecodeOrThrowButNeverCrash() throws Exception {
        CodecTables t = tables();
        int[] idx = new int[40];
        byte[] data = RansCodec.encode(t, latent(40, 2), idx);
        int refused = 0;
        for (int k = 0; k < data.length; k++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = data.clone();
                bad[k] ^= (byte) (1 << bit);
                try {
                    RansCodec.decode(t, bad, idx);
                } catch (CorruptStreamException e) {
                    refused++;
                }
            }
        }
        assertTrue(refused > data.length * 8 / 3, "only " + refused + " refused");
    }

    @Test
    void randomGarbageIsHandled() throws Exception {
        CodecTables t = tables();
        Random rng = new Random(3);
        int refused = 0;
        for (int trial = 0; trial < 5000; trial++) {
            byte[] data = new byte[rng.nextInt(40)];
            rng.nextBytes(data);
            try {
                RansCodec.decode(t, data, new int[rng.nextInt(20)]);
            } catch (CorruptStreamException e) {
                refused++;
            }
        }
        assertTrue(refused > 4900);
    }

    @Test
    void containerDamageIsAlwaysDetected() throws Exception {
        CodecTables t = tables();
        byte[] data = Container.encodeLatent(t, latent(2 * 3 * 4, 4), 2, 3, 4);
        for (int cut = 0; cut < data.length; cut++) {
            byte[] part = java.util.Arrays.copyOf(data, cut);
            assertThrows(CorruptStreamException.class, () -> Container.decodeLatent(t, part));
        }
        for (int k = 0; k < data.length; k++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = data.clone();
                bad[k] ^= (byte) (1 << bit);
                assertThrows(CodecException.class, () -> Container.decodeLatent(t, bad), "byte " + k);
            }
        }
    }

    @Test
    void wrongTablesAreNamed() throws Exception {
        CodecTables t = tables();
        CodecTables other = CodecTables.fromArrays(CDF, new int[] {5, 3}, new int[] {0, -2}, 16);
        byte[] data = Container.encodeLatent(t, latent(8, 5), 2, 2, 2);
        TableMismatchException e = assertThrows(TableMismatchException.class, () -> Container.decodeLatent(other, data));
        assertTrue(e.getMessage().contains("other tables"));
        assertThrows(TableMismatchException.class, () -> Container.encodeLatent(t, new int[12], 3, 2, 2));
    }

    @Test
    void tablesFileDamageIsRefused() throws Exception {
        byte[] file = tables().toBytes();
        for (int cut = 0; cut < file.length; cut++) {
            byte[] part = java.util.Arrays.copyOf(file, cut);
            assertThrows(InvalidTablesException.class, () -> CodecTables.read(part));
        }
        for (int k = 0; k < file.length; k++) {
            byte[] bad = file.clone();
            bad[k] ^= 0x10;
            assertThrows(InvalidTablesException.class, () -> CodecTables.read(bad), "byte " + k);
        }
    }

    @Test
    void invalidTablesAndInputsNameTheProblem() throws Exception {
        InvalidTablesException e = assertThrows(InvalidTablesException.class,
                () -> CodecTables.fromArrays(new int[][] {{0, 9, 5, 65536}}, new int[] {4}, new int[] {0}, 16));
        assertEquals("channel 0: cdf decreases at entry 2 (9 -> 5)", e.getMessage());
        e = assertThrows(InvalidTablesException.class,
                () -> CodecTables.fromArrays(new int[][] {{0, 65535}}, new int[] {2}, new int[] {0}, 16));
        assertTrue(e.getMessage().contains("must end at 2^16"));
        CodecTables t = tables();
        InvalidInputException in = assertThrows(InvalidInputException.class,
                () -> RansCodec.encode(t, new int[] {0, 0}, new int[] {0, 2}));
        assertEquals("index 2 at position 1 outside [0, 2)", in.getMessage());
        in = assertThrows(InvalidInputException.class,
                () -> RansCodec.encode(t, new int[] {Integer.MAX_VALUE}, new int[] {1}));
        assertEquals(CodecException.Kind.SYMBOL, in.kind());
        assertTrue(in.getMessage().contains("escape value exceeds 32 bits"));
    }

    @Test
    void zeroAndOneSymbol() throws Exception {
        CodecTables t = tables();
        byte[] empty = RansCodec.encode(t, new int[0], new int[0]);
        assertArrayEquals(new byte[] {0, 0, 0, (byte) 0x80, 0, 0, 0, 0}, empty);
        assertEquals(0, RansCodec.decode(t, empty, new int[0]).length);
        for (int s : new int[] {0, -1, 3, Integer.MIN_VALUE, 1 << 30}) {
            byte[] one = RansCodec.encode(t, new int[] {s}, new int[] {0});
            assertArrayEquals(new int[] {s}, RansCodec.decode(t, one, new int[] {0}));
        }
    }
}
