package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fsplit.demo.core.json.JsonObject;
import dev.fsplit.demo.core.testing.Fixtures;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The app reads a manifest.json and tables file written by the real fsplit-export as Python reads them. */
@Tag(Fixtures.TAG)
class RealArtifactTest {
    @Test
    void manifestOfARealExportReadsAsPythonReadsIt() throws Exception {
        Manifest m = Manifest.load(Fixtures.artifact());
        // Facts tests/bench/test_android_core.py read from the same file with fsplit_mobile.runtime.Artifact.
        JsonObject facts = JsonObject.parse(new String(Files.readAllBytes(Fixtures.file("fsplit.facts").toPath()),
                StandardCharsets.UTF_8));
        assertEquals(facts.getString("model_id"), m.modelId);
        assertEquals(facts.getString("target"), m.target);
        assertEquals(facts.getString("quantization"), m.quantization);
        assertEquals(facts.getString("encoder"), m.file("encoder"));
        assertEquals(facts.getString("tables"), m.tablesFile);
        assertEquals(facts.getString("tables_hash"), m.tablesContentHash);
        assertEquals(facts.getInt("height"), m.input.height());
        assertEquals(facts.getInt("width"), m.input.width());
        assertEquals(facts.getString("layout"), m.input.layout);
        assertEquals(facts.getString("resize_method"), m.input.resizeMethod);
        assertEquals(facts.getBoolean("normalization_in_graph"), m.input.normalizationInGraph);
        assertEquals(facts.getString("output_kind"), m.output.kind);
        assertArrayEquals(facts.getIntArray("latent"), new int[] {m.latent.channels, m.latent.height, m.latent.width});
        assertEquals(facts.getInt("num_classes"), m.numClasses);
    }

    @Test
    void itsTablesLoadInTheJavaCoder() throws Exception {
        File dir = Fixtures.artifact();
        Manifest m = Manifest.load(dir);
        LatentCoder coder = new JavaCoderLoader().load(m, new File(dir, m.tablesFile));
        assertEquals(m.tablesContentHash, coder.tablesHashHex());
    }
}
