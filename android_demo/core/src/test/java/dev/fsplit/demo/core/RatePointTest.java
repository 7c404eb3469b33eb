package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.codec.CodecTables;
import dev.fsplit.codec.Container;
import dev.fsplit.demo.core.testing.SampleManifest;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rate points in the manifest, the bandwidth policy, and the rate point the coder writes into the container. */
class RatePointTest {
    private static final List<RatePoint> POINTS = Arrays.asList(
            new RatePoint(0, "hi", "encoder.pte", "tables.fsct", "aa", 4000.0),
            new RatePoint(1, "mid", "rp1-encoder.pte", "rp1-tables.fsct", "bb", 2000.0),
            new RatePoint(2, "lo", "rp2-encoder.pte", "rp2-tables.fsct", "cc", 1000.0));

    private static String twoPoints() {
        String entry0 = "{\"index\": 0, \"name\": \"hi\", \"files\": {\"encoder\": \"encoder.pte\", \"tables\": "
                + "\"tables.fsct\", \"server\": \"server.onnx\", \"labels\": \"labels.txt\"}, \"tables\": {\"file\": "
                + "\"tables.fsct\", \"content_hash\": \"ab12\", \"precision\": 16}, \"latent\": {\"channels\": 2, "
                + "\"height\": 2, \"width\": 3, \"medians\": [0.25, -1.5]}, \"output\": {\"name\": \"symbols\", "
                + "\"kind\": \"symbols\", \"shape\": [1, 2, 2, 3], \"dtype\": \"int32\", \"layout\": \"NCHW\", "
                + "\"quantization\": null}, \"measured\": {\"bytes_mean\": 300.5, \"bpp\": 0.1}}";
        String entry1 = "{\"index\": 1, \"name\": \"lo\", \"files\": {\"encoder\": \"rp1-encoder.pte\", \"tables\": "
                + "\"rp1-tables.fsct\", \"server\": \"rp1-server.onnx\", \"labels\": \"labels.txt\"}, \"tables\": "
                + "{\"file\": \"rp1-tables.fsct\", \"content_hash\": \"cd34\", \"precision\": 16}, \"latent\": "
                + "{\"channels\": 1, \"height\": 2, \"width\": 3, \"medians\": [0.5]}, \"output\": {\"name\": "
                + "\"symbols\", \"kind\": \"symbols\", \"shape\": [1, 1, 2, 3], \"dtype\": \"int32\", \"layout\": "
                + "\"NCHW\", \"quantization\": null}, \"measured\": {\"bytes_mean\": 120.0, \"bpp\": 0.04}}";
        return SampleManifest.json().replace(" \"sha256\":", " \"rate_points\": [" + entry0 + ", " + entry1 + "],\n"
                + " \"sha256\":");
    }

    @Test
    void anArtifactWithoutRatePointsIsRatePointZero() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        assertEquals(1, m.ratePoints.size());
        RatePoint p = m.ratePoints.get(0);
        assertEquals(0, p.index);
        assertEquals("ab12", p.tablesContentHash);
        assertEquals("encoder.pte", p.encoderFile);
        assertSame(m, m.atRatePoint(0));
        assertThrows(ManifestException.class, () -> m.atRatePoint(1));
    }

    @Test
    void manifestRatePointsAndTheirViews() throws Exception {
        Manifest m = Manifest.parse(twoPoints());
        assertEquals(2, m.ratePoints.size());
        assertEquals(120.0, m.ratePoints.get(1).expectedBytes);
        Manifest lo = m.atRatePoint(1);
        assertEquals("rp1-encoder.pte", lo.file("encoder"));
        assertEquals("rp1-tables.fsct", lo.tablesFile);
        assertEquals("cd34", lo.tablesContentHash);
        assertEquals(1, lo.latent.channels);
        assertEquals(2, m.atRatePoint(0).latent.channels);
        ManifestException e = assertThrows(ManifestException.class, () -> m.atRatePoint(5));
        assertTrue(e.getMessage().contains("no rate point 5"), e.getMessage());
    }

    @Test
    void aViewShippedForOneRatePointNamesItInTheStream() throws Exception {
        // what fsplit-bench run --rate-point ships: one point's view, naming the point (no rate_points list)
        String view = SampleManifest.json().replace(" \"sha256\":", " \"rate_point\": {\"index\": 2, \"name\": "
                + "\"r2\"},\n \"sha256\":");
        Manifest m = Manifest.parse(view);
        assertEquals(2, m.viewRatePoint);
        assertEquals(0, Manifest.parse(SampleManifest.json()).viewRatePoint);
        ManifestException e = assertThrows(ManifestException.class,
                () -> Manifest.parse(view.replace("\"index\": 2", "\"index\": 300")));
        assertTrue(e.getMessage().contains("rate_point.index must be in 0..255"), e.getMessage());
    }

    @Test
    void refusesInconsistentRatePoints() {
        String dup = twoPoints().replace("{\"index\": 1, \"name\": \"lo\"", "{\"index\": 0, \"name\": \"lo\"");
        ManifestException e = assertThrows(ManifestException.class, () -> Manifest.parse(dup));
        assertTrue(e.getMessage().contains("listed twice"), e.getMessage());
        String noZero = twoPoints().replace("{\"index\": 0, \"name\": \"hi\"", "{\"index\": 2, \"name\": \"hi\"");
        e = assertThrows(ManifestException.class, () -> Manifest.parse(noZero));
        assertTrue(e.getMessage().contains("no index 0"), e.getMessage());
    }

    @Test
    void policyTakesTheLargestPointThatFitsTheBudget() {
        // 10 ms budget: 4000 B needs 3.2 Mbit/s, 2000 B 1.6 Mbit/s, 1000 B 0.8 Mbit/s
        assertEquals(0, RatePolicy.choose(POINTS, 3.3e6, 10).index);
        assertEquals(1, RatePolicy.choose(POINTS, 3.1e6, 10).index);
        assertEquals(1, RatePolicy.choose(POINTS, 1.7e6, 10).index);
        assertEquals(2, RatePolicy.choose(POINTS, 1.5e6, 10).index);
        assertEquals(2, RatePolicy.choose(POINTS, 1.0e3, 10).index); // nothing fits: the smallest
        assertEquals(0, RatePolicy.choose(POINTS, Double.NaN, 10).index); // no estimate: the largest
        assertEquals(40.0, RatePolicy.transferMs(1000, 200e3), 1e-9);
    }

    @Test
    void policyTiesAndRefusals() {
        List<RatePoint> tied = Arrays.asList(new RatePoint(3, "a", "e", "t", "h", 500.0),
                new RatePoint(1, "b", "e", "t", "h", 500.0), new RatePoint(0, "c", "e", "t", "h", Double.NaN));
        assertEquals(1, RatePolicy.choose(tied, 1e9, 10).index);
        assertEquals(1, RatePolicy.choose(tied, 1.0, 10).index);
        assertThrows(IllegalArgumentException.class, () -> RatePolicy.choose(POINTS, 0.0, 50));
        assertThrows(IllegalArgumentException.class, () -> RatePolicy.choose(POINTS, 1e6, 0));
        assertThrows(IllegalArgumentException.class, () -> RatePolicy.choose(
                Arrays.asList(new RatePoint(0, "x", "e", "t", "h", Double.NaN)), 1e6, 50));
        assertEquals(2, RatePolicy.fixed(POINTS, 2).index);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RatePolicy.fixed(POINTS, 9));
        assertTrue(e.getMessage().contains("no rate point 9"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RatePoint(256, "x", "e", "t", "h", 1.0));
    }

    @Test
    void coderWritesTheRatePointIntoTheContainer() throws Exception {
        int[] cdf = {0, 20000, 40000, 60000, 65536};
        CodecTables tables = CodecTables.fromArrays(new int[][] {cdf, cdf}, new int[] {5, 5}, new int[] {-1, -1}, 16);
        int[] symbols = new int[2 * 2 * 3];
        byte[] zero = new JavaLatentCoder(tables).encode(symbols, 2, 2, 3);
        Container.Header h0 = Container.unpack(zero);
        assertEquals(0, h0.ratePoint());
        assertEquals(Container.VERSION, h0.version);
        JavaLatentCoder coder = new JavaLatentCoder(tables, 7);
        assertEquals(7, coder.ratePoint());
        Container.Header h7 = Container.unpack(coder.encode(symbols, 2, 2, 3));
        assertEquals(7, h7.ratePoint());
        assertEquals(Container.VERSION_FLAGS, h7.version);
        assertEquals(Container.FORMAT_SINGLE, h7.payloadFormat());
        assertThrows(IllegalArgumentException.class, () -> new JavaLatentCoder(tables, 256));
    }
}
