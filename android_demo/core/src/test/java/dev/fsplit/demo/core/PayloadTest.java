package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.codec.CodecTables;
import dev.fsplit.codec.Container;
import dev.fsplit.demo.core.testing.SampleManifest;
import java.io.File;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The manifest's payload block (docs/artifact.md "payload"): the app writes the stream payload it names. */
class PayloadTest {
    private static final String V2 = "\"payload\": {\"format\": \"interleaved2\", \"lanes\": 8, \"choice\": \"auto\"},\n";

    private static String withPayload(String text, String block) {
        return text.replace(" \"tool_versions\":", " " + block + " \"tool_versions\":");
    }

    @Test
    void withoutTheBlockTheSingleStream() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        assertEquals("single", m.payloadFormat);
        assertEquals(1, m.payloadLanes);
        assertEquals(Container.FORMAT_SINGLE, m.streamFormat(0).payloadFormat);
    }

    @Test
    void interleaved2IsReadAndUnknownValuesAreRefused() throws Exception {
        Manifest m = Manifest.parse(withPayload(SampleManifest.json(), V2));
        assertEquals("interleaved2", m.payloadFormat);
        assertEquals(8, m.payloadLanes);
        Container.Format f = m.streamFormat(3);
        assertEquals(Container.FORMAT_INTERLEAVED2, f.payloadFormat);
        assertEquals(8, f.lanes);
        assertEquals(3, f.ratePoint);
        String[][] bad = {
            {"\"payload\": {\"format\": \"interleaved3\", \"lanes\": 8},\n", "payload.format"},
            {"\"payload\": {\"format\": \"interleaved2\", \"lanes\": 12},\n", "payload.lanes"},
            {"\"payload\": {\"format\": \"single\", \"lanes\": 8},\n", "payload.lanes"},
        };
        for (String[] b : bad) {
            ManifestException e = assertThrows(ManifestException.class,
                    () -> Manifest.parse(withPayload(SampleManifest.json(), b[0])));
            assertTrue(e.getMessage().contains(b[1]), e.getMessage());
        }
    }

    @Test
    void loaderCoderWritesInterleaved2ThatDecodesToTheSymbols(@TempDir File dir) throws Exception {
        int[] cdf = {0, 20000, 40000, 60000, 65536};
        CodecTables tables = CodecTables.fromArrays(new int[][] {cdf, cdf}, new int[] {5, 5}, new int[] {-1, -1}, 16);
        File tablesFile = new File(dir, "tables.fsct");
        Files.write(tablesFile.toPath(), tables.toBytes());
        String text = withPayload(SampleManifest.withLatent(2, 2, 3, tables.contentHashHex()), V2);
        Manifest m = Manifest.parse(text);
        LatentCoder coder = new JavaCoderLoader().load(m, tablesFile);
        int[] symbols = {-1, 0, 1, 2, 0, -1, 1, 1, 0, 0, -1, 2};
        byte[] stream = coder.encode(symbols, 2, 2, 3);
        Container.Header h = Container.unpack(stream);
        assertEquals(Container.FORMAT_INTERLEAVED2, h.payloadFormat());
        assertEquals(8, h.lanes());
        assertArrayEquals(symbols, Container.decodeLatent(tables, stream).symbols);
        LatentCoder single = new JavaCoderLoader().load(Manifest.parse(SampleManifest.withLatent(2, 2, 3,
                tables.contentHashHex())), tablesFile);
        assertEquals(Container.FORMAT_SINGLE, Container.unpack(single.encode(symbols, 2, 2, 3)).payloadFormat());
    }
}
