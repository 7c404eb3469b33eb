package dev.fsplit.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/** Container version 2: flags (payload format, lanes, rate point) written, parsed and refused when unknown. */
class ContainerFormatTest {
    private static CodecTables tables() throws CodecException {
        return CodecTables.fromArrays(new int[][] {{0, 30000, 65000, 65536}, {0, 20000, 65536}},
                new int[] {4, 3}, new int[] {-1, 0}, 16);
    }

    private static byte[] withHeader(byte[] data, int version, int flags) {
        byte[] out = data.clone();
        ByteBuffer buf = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        buf.putShort(4, (short) version).putShort(6, (short) flags);
        CRC32 crc = new CRC32();
        crc.update(out, 0, 32);
        crc.update(out, 36, out.length - 36);
        buf.putInt(32, (int) crc.getValue());
        return out;
    }

    @Test
    void ratePointMakesVersion2AndRoundTrips() throws Exception {
        CodecTables t = tables();
        int[] symbols = {0, 1, -1, 0, 0, 5, 0, 0};
        byte[] v1 = Container.encodeLatent(t, symbols, 2, 2, 2);
        assertEquals(1, v1[4]);
        assertEquals(0, v1[6] | v1[7]);
        byte[] v2 = Container.encodeLatent(t, symbols, 2, 2, 2, Container.Format.singleStream(9));
        assertEquals(2, v2[4]);
        assertEquals(0, v2[6]);
        assertEquals(9, v2[7]);
        Container.Header h = Container.unpack(v2);
        assertEquals(2, h.version);
        assertEquals(9, h.ratePoint());
        assertEquals(Container.FORMAT_SINGLE, h.payloadFormat());
        assertEquals(1, h.lanes());
        assertArrayEquals(symbols, Container.decodeLatent(t, v2).symbols);
        assertEquals(0x0741, Container.Format.interleaved(16, 7).flags());
    }

    @Test
    void unknownFlagsAreRefusedNamingTheField() throws Exception {
        byte[] data = Container.encodeLatent(tables(), new int[8], 2, 2, 2);
        String[][] cases = {
            {"1", "256", "version 1"}, {"2", "0", "version 2 with flags 0"}, {"3", "0", "version 3"},
            {"2", "3", "payload format 3"}, {"2", "4", "reserved bits"}, {"2", "16", "must be 0 for the single"},
            {"2", "33", "gives 4 lanes"},
        };
        for (String[] c : cases) {
            byte[] bad = withHeader(data, Integer.parseInt(c[0]), Integer.parseInt(c[1]));
            CorruptStreamException e = assertThrows(CorruptStreamException.class, () -> Container.unpack(bad));
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Container.Format.singleStream(256));
        assertThrows(IllegalArgumentException.class, () -> Container.Format.interleaved(4, 0));
        assertThrows(IllegalArgumentException.class, () -> new Container.Format(1, 1, 0));
    }
}
