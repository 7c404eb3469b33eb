package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.demo.core.testing.SampleManifest;
import java.io.File;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestTest {
    @Test
    void parsesTheContractFields() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        assertEquals("unit-test", m.modelId);
        assertEquals("executorch", m.target);
        assertEquals("encoder.pte", m.file("encoder"));
        assertEquals("tables.fsct", m.tablesFile);
        assertEquals("ab12", m.tablesContentHash);
        assertEquals(16, m.tablesPrecision);
        assertEquals(1000, m.numClasses);
        assertEquals(4, m.input.height());
        assertEquals(6, m.input.width());
        assertEquals("bilinear", m.input.resizeMethod);
        assertFalse(m.input.normalizationInGraph);
        assertArrayEquals(new float[] {0.485f, 0.456f, 0.406f}, m.input.mean);
        assertNull(m.input.quantization);
        assertEquals("symbols", m.output.kind);
        assertEquals(2, m.latent.channels);
        assertEquals(12, m.latent.size());
        assertArrayEquals(new float[] {0.25f, -1.5f}, m.latent.medians);
    }

    @Test
    void nhwcGeometryAndQuantizedInput() throws Exception {
        String text = SampleManifest.json().replace("[1, 3, 4, 6]", "[1, 4, 6, 3]").replace("\"NCHW\", \"color\"",
                "\"NHWC\", \"color\"").replace("\"normalization_in_graph\": false, \"quantization\": null",
                "\"normalization_in_graph\": true, \"quantization\": {\"scale\": 0.00392, \"zero_point\": -128, "
                        + "\"dtype\": \"int8\"}");
        Manifest m = Manifest.parse(text);
        assertEquals("NHWC", m.input.layout);
        assertEquals(4, m.input.height());
        assertEquals(6, m.input.width());
        assertEquals(-128, m.input.quantization.zeroPoint);
        assertEquals(0.00392f, m.input.quantization.scale);
    }

    private static void assertRefused(String text, String expectedInMessage) {
        ManifestException e = assertThrows(ManifestException.class, () -> Manifest.parse(text));
        assertTrue(e.getMessage().contains(expectedInMessage), "message was: " + e.getMessage());
    }

    @Test
    void refusesWhatTheAppCannotRun() {
        String ok = SampleManifest.json();
        assertRefused(ok.replace("fsplit-artifact/1", "fsplit-artifact/9"), "schema");
        assertRefused(ok.replace("\"layout\": \"NCHW\", \"color\"", "\"layout\": \"CHW\", \"color\""), "input.layout");
        assertRefused(ok.replace("[1, 3, 4, 6]", "[1, 1, 4, 6]"), "3 channels");
        assertRefused(ok.replace("\"color\": \"RGB\"", "\"color\": \"BGR\""), "input.color");
        assertRefused(ok.replace("\"method\": \"bilinear\"", "\"method\": \"area\""), "input.resize.method");
        assertRefused(ok.replace("\"value_range\": [0.0, 1.0]", "\"value_range\": [-1.0, 1.0]"), "value_range");
        assertRefused(ok.replace("\"std\": [0.229, 0.224, 0.225]", "\"std\": [0.229, 0.0, 0.225]"), "std");
        assertRefused(ok.replace("\"kind\": \"symbols\"", "\"kind\": \"probabilities\""), "output.kind");
        assertRefused(ok.replace("\"shape\": [1, 2, 2, 3]", "\"shape\": [1, 2, 2, 4]"), "output.shape");
        assertRefused(ok.replace("\"kind\": \"symbols\"", "\"kind\": \"latent\"").replace("[0.25, -1.5]", "[0.25]"),
                "medians");
        assertRefused(ok.replace("\"encoder\": \"encoder.pte\"", "\"encoder\": \"../../etc/passwd\""), "files.encoder");
        assertRefused(ok.replace("\"channels\": 2", "\"channels\": \"2\""), "latent.channels");
        assertRefused(ok.replace("\"target\": \"executorch\",", ""), "target");
        assertRefused("{not json", "line 1");
    }

    @Test
    void loadNamesTheFile(@TempDir File dir) throws Exception {
        ManifestException missing = assertThrows(ManifestException.class, () -> Manifest.load(dir));
        assertTrue(missing.getMessage().contains("manifest.json"), missing.getMessage());
        Files.write(new File(dir, "manifest.json").toPath(), "{\"schema\": 3}".getBytes("UTF-8"));
        ManifestException bad = assertThrows(ManifestException.class, () -> Manifest.load(dir));
        assertTrue(bad.getMessage().contains(dir.getPath()), bad.getMessage());
    }
}
