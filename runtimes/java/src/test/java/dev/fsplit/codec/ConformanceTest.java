package dev.fsplit.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every conformance vector reproduced byte for byte, decoded back, and every rejection case refused. */
class ConformanceTest {
    private static Vectors v;

    @BeforeAll
    static void load() throws Exception {
        v = Vectors.load();
        assertTrue(v.encode.size() >= 70, "too few encode vectors: " + v.encode.size());
    }

    @Test
    void tablesFilesReadAndRewriteIdentically() {
        for (String name : v.tables.keySet()) {
            assertArrayEquals(v.tableFiles.get(name), v.tables.get(name).toBytes(), name);
        }
        assertEquals(48, v.tables.get("frankensplit").numChannels());
    }

    @Test
    void encodeReproducesEveryStream() throws Exception {
        for (Vectors.Encode e : v.encode) {
            assertArrayEquals(e.bytes, RansCodec.encode(v.tables.get(e.table), e.symbols, e.indexes), e.name);
        }
    }

    @Test
    void decodeRecoversEverySymbol() throws Exception {
        for (Vectors.Encode e : v.encode) {
            assertArrayEquals(e.symbols, RansCodec.decode(v.tables.get(e.table), e.bytes, e.indexes), e.name);
        }
    }

    @Test
    void compressAiNamedApiMatches() throws Exception {
        for (Vectors.Encode e : v.encode) {
            CodecTables t = v.tables.get(e.table);
            int[][] cdfs = new int[t.numChannels()][];
            int[] sizes = new int[t.numChannels()];
            int[] offsets = new int[t.numChannels()];
            for (int c = 0; c < t.numChannels(); c++) {
                cdfs[c] = t.cdf(c);
                sizes[c] = t.cdfLength(c);
                offsets[c] = t.offset(c);
            }
            assertArrayEquals(e.bytes, RansCodec.encodeWithIndexes(e.symbols, e.indexes, cdfs, sizes, offsets), e.name);
            assertArrayEquals(e.symbols, RansCodec.decodeWithIndexes(e.bytes, e.indexes, cdfs, sizes, offsets), e.name);
        }
    }

    @Test
    void everyRejectionCaseIsRefusedWithItsKind() {
        for (Vectors.Reject r : v.reject) {
            CorruptStreamException err = assertThrows(CorruptStreamException.class,
                    () -> RansCodec.decode(v.tables.get(r.table), r.bytes, r.indexes), r.name);
            assertEquals(r.kind.toUpperCase(), err.kind().name(), r.name + ": " + err.getMessage());
        }
    }

    @Test
    void containersReproducedAndDecoded() throws Exception {
        assertTrue(v.latent.size() >= 3);
        for (Vectors.Latent l : v.latent) {
            CodecTables t = v.tables.get(l.table);
            assertArrayEquals(l.bytes, Container.encodeLatent(t, l.symbols, l.channels, l.height, l.width, l.format),
                    l.name);
            Container.Latent back = Container.decodeLatent(t, l.bytes);
            assertEquals(l.height, back.height, l.name);
            assertEquals(l.width, back.width, l.name);
            assertArrayEquals(l.symbols, back.symbols, l.name);
            assertEquals(l.format.flags(), Container.unpack(l.bytes).format.flags(), l.name);
        }
    }

    @Test
    void containerRejectionCasesRefusedWithTheirKind() {
        for (Vectors.LatentReject r : v.latentReject) {
            CodecException err = assertThrows(CodecException.class,
                    () -> Container.decodeLatent(v.tables.get(r.table), r.bytes), r.name);
            assertEquals(r.kind.toUpperCase(), err.kind().name(), r.name + ": " + err.getMessage());
            Class<?> expected = r.kind.equals("mismatch") ? TableMismatchException.class : CorruptStreamException.class;
            assertEquals(expected, err.getClass(), r.name);
        }
    }
}
