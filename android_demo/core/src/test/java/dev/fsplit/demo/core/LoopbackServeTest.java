package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.codec.Container;
import dev.fsplit.demo.core.bench.BenchmarkRunner;
import dev.fsplit.demo.core.json.Json;
import dev.fsplit.demo.core.serve.InferResult;
import dev.fsplit.demo.core.serve.ServeClient;
import dev.fsplit.demo.core.serve.ServerRejectedException;
import dev.fsplit.demo.core.testing.Fixtures;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The app's whole split pipeline against a REAL fsplit-serve on loopback (started by tests/bench/test_android_core.py):
 * Java preprocessing -> the artifact's encoder (run by Python's ExecuTorch runtime in place of the Android Module)
 * -> Java rANS container -> Java HTTP client. It must send the same bytes and get the same top-5 as the Python
 * client (fsplit_mobile.client.SplitClient) for the same photos.
 */
@Tag(Fixtures.TAG)
class LoopbackServeTest {
    @SuppressWarnings("unchecked")
    @Test
    void sameAnswerAsThePythonClient() throws Exception {
        File art = Fixtures.artifact();
        Manifest m = Manifest.load(art);
        ServeClient client = new ServeClient(Fixtures.property("fsplit.serverUrl"));
        List<Object> expected = (List<Object>) Json.parse(new String(
                Files.readAllBytes(Fixtures.file("fsplit.pythonClient").toPath()), StandardCharsets.UTF_8));
        File dir = Fixtures.file("fsplit.parity");
        try (SplitPipeline pipeline = new SplitPipeline(m,
                Fixtures.pythonEncoders().load(m, new File(art, m.file("encoder")), 0),
                new JavaCoderLoader().load(m, new File(art, m.tablesFile)))) {
            for (Object item : expected) {
                Map<String, Object> py = (Map<String, Object>) item;
                String name = (String) py.get("image");
                SplitPipeline.Outcome o = pipeline.infer(Ppm.read(new File(dir, name + ".ppm")), client);
                assertEquals(py.get("payload_sha256"), BenchmarkRunner.sha256Hex(o.encoded.container),
                        name + ": the Java container differs from the Python client's");
                assertEquals(((Number) py.get("payload_bytes")).intValue(), o.answer.payloadBytes);
                List<Object> top5 = (List<Object>) py.get("top5");
                assertEquals(top5.size(), o.answer.top5.size());
                for (int i = 0; i < top5.size(); i++) {
                    Map<String, Object> want = (Map<String, Object>) top5.get(i);
                    InferResult.Prediction got = o.answer.top5.get(i);
                    assertEquals(((Number) want.get("index")).intValue(), got.index, name + " rank " + i);
                    assertEquals(want.get("label"), got.label);
                    assertEquals(((Number) want.get("score")).doubleValue(), got.score, 1e-6);
                }
                for (String stage : new String[] {StageTimings.PREPROCESS, StageTimings.ENCODER, StageTimings.CODING,
                        StageTimings.NETWORK, StageTimings.SERVER, StageTimings.TOTAL}) {
                    assertTrue(o.timings.get(stage) >= 0, stage);
                }
                assertTrue(o.timings.get(StageTimings.TOTAL) >= o.timings.get(StageTimings.SERVER));
                assertEquals(8.0 * o.encoded.container.length / (m.input.width() * m.input.height()), o.bpp, 1e-12);
            }
        }
    }

    @Test
    void serverRefusesAStreamCodedForOtherTables() throws Exception {
        File art = Fixtures.artifact();
        Manifest m = Manifest.load(art);
        JavaLatentCoder coder = (JavaLatentCoder) new JavaCoderLoader().load(m, new File(art, m.tablesFile));
        int[] zeros = new int[m.latent.size()];
        byte[] good = coder.encode(zeros, m.latent.channels, m.latent.height, m.latent.width);
        byte[] payload = java.util.Arrays.copyOfRange(good, Container.HEADER_SIZE, good.length);
        byte[] otherHash = new byte[32];
        byte[] foreign = Container.pack(otherHash, m.latent.channels, m.latent.height, m.latent.width, payload);
        ServeClient client = new ServeClient(Fixtures.property("fsplit.serverUrl"));
        ServerRejectedException e = assertThrows(ServerRejectedException.class, () -> client.infer(foreign));
        assertEquals(409, e.status);
        assertEquals(m.modelId, client.health().get("model_id"));
        assertEquals(m.tablesContentHash, client.health().get("table_hash"));
    }
}
