package dev.fsplit.demo.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.demo.core.CoderLoader;
import dev.fsplit.demo.core.Encoder;
import dev.fsplit.demo.core.EncoderException;
import dev.fsplit.demo.core.EncoderLoader;
import dev.fsplit.demo.core.EncoderOutput;
import dev.fsplit.demo.core.InputTensor;
import dev.fsplit.demo.core.LatentCoder;
import dev.fsplit.demo.core.json.Json;
import dev.fsplit.demo.core.testing.SampleManifest;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runner logic with test doubles for encoder and coder (the real ones run in the pytest-driven tests). */
class BenchmarkRunnerTest {
    /** Symbols = mean of each channel plane of the input, per latent position (deterministic, input-dependent). */
    static final class SumEncoder implements Encoder {
        int calls;

        @Override
        public String describe() {
            return "fake 1.0";
        }

        @Override
        public int threads() {
            return 2;
        }

        @Override
        public EncoderOutput run(InputTensor x) {
            calls++;
            int[] out = new int[12];
            for (int i = 0; i < out.length; i++) out[i] = Math.round(x.floats[i] * 3);
            return EncoderOutput.ofInts(new long[] {1, 2, 2, 3}, out);
        }

        @Override
        public void close() {
        }
    }

    static final LatentCoder PACKING_CODER = new LatentCoder() {
        @Override
        public String tablesHashHex() {
            return "ab12";
        }

        @Override
        public byte[] encode(int[] symbols, int c, int h, int w) {
            byte[] b = new byte[symbols.length];
            for (int i = 0; i < b.length; i++) b[i] = (byte) symbols[i];
            return b;
        }
    };

    static void writeBundle(File bundle, String manifest, int width, int height) throws Exception {
        File art = new File(bundle, "artifact");
        File inputs = new File(bundle, "inputs");
        assertTrue(art.mkdirs() && inputs.mkdirs());
        Files.write(new File(art, "manifest.json").toPath(), manifest.getBytes(StandardCharsets.UTF_8));
        Files.write(new File(inputs, "index.json").toPath(),
                "[{\"name\": \"a\", \"file\": \"a.ppm\"}, {\"name\": \"b\", \"file\": \"b.ppm\"}]".getBytes("UTF-8"));
        for (String name : new String[] {"a", "b"}) {
            byte[] header = ("P6\n" + width + " " + height + "\n255\n").getBytes(StandardCharsets.US_ASCII);
            byte[] data = new byte[header.length + width * height * 3];
            System.arraycopy(header, 0, data, 0, header.length);
            for (int i = header.length; i < data.length; i++) data[i] = (byte) (i * (name.equals("a") ? 3 : 5));
            Files.write(new File(inputs, name + ".ppm").toPath(), data);
        }
    }

    static final class Recorder implements EventSink {
        final List<String> kinds = new ArrayList<>();
        final List<Map<String, Object>> events = new ArrayList<>();

        @Override
        public void emit(String kind, Map<String, Object> fields) {
            kinds.add(kind);
            events.add(new LinkedHashMap<>(fields));
        }
    }

    @Test
    void emitsTheEventStreamInOrder(@TempDir File tmp) throws Exception {
        writeBundle(tmp, SampleManifest.json(), 6, 4);
        SumEncoder enc = new SumEncoder();
        EncoderLoader loader = (m, f, threads) -> enc;
        CoderLoader coders = (m, f) -> PACKING_CODER;
        Map<String, Object> extras = new LinkedHashMap<>();
        extras.put("device", "unit test");
        BenchmarkRunner runner = new BenchmarkRunner("android-app", loader, coders, extras);
        Recorder rec = new Recorder();
        int code = runner.runReportingErrors(BenchmarkRunner.Config.fromBundle(tmp, 3, 2, 0), rec);
        assertEquals(0, code);
        assertEquals(List.of("hello", "load", "warmup", "sample", "sample", "sample", "image", "sample", "sample",
                "sample", "image", "end"), rec.kinds);
        assertEquals(2 + 6, enc.calls);
        Map<String, Object> hello = rec.events.get(0);
        assertEquals(BenchEvents.SCHEMA, hello.get("schema"));
        assertEquals("android-app", hello.get("runner"));
        assertEquals("unit test", hello.get("device"));
        assertEquals(Map.of("name", "fake", "version", "1.0"), hello.get("runtime"));
        Map<String, Object> image = rec.events.get(6);
        assertEquals("a", image.get("image"));
        assertEquals(12, image.get("bytes"));
        assertEquals(8.0 * 12 / 24, image.get("bpp"));
        assertEquals(Boolean.TRUE, image.get("deterministic"));
        assertEquals(64, ((String) image.get("stream_sha256")).length());
        Map<String, Object> sample = rec.events.get(3);
        double total = (Double) sample.get("total_ms");
        double parts = (Double) sample.get("preprocess_ms") + (Double) sample.get("encoder_ms")
                + (Double) sample.get("entropy_ms");
        assertEquals(total, parts, 1e-6);
        assertEquals(6, rec.events.get(11).get("samples"));
    }

    @Test
    void eventFileLinesAreParseableAndEndWithTheExitMarker(@TempDir File tmp) throws Exception {
        writeBundle(tmp, SampleManifest.json(), 6, 4);
        BenchmarkRunner runner = new BenchmarkRunner("android-app", (m, f, t) -> new SumEncoder(),
                (m, f) -> PACKING_CODER, Map.of());
        File events = new File(tmp, "out/device-events.jsonl");
        EventFile file = new EventFile(events, null);
        file.finish(runner.runReportingErrors(BenchmarkRunner.Config.fromBundle(tmp, 1, 0, 0), file));
        List<String> lines = Files.readAllLines(events.toPath());
        assertEquals(8, lines.size()); // hello, load, warmup, (sample, image) x 2, end
        for (String line : lines) {
            assertTrue(line.startsWith("@fsplit {"), line);
            Map<String, Object> ev = Json.parseObject(line.substring(8));
            assertTrue(ev.containsKey("event"));
        }
        assertEquals("0", Files.readAllLines(new File(tmp, "out/device-events.jsonl.exit").toPath()).get(0));
    }

    @Test
    void failuresBecomeErrorEventsWithTheAgentsKinds(@TempDir File tmp) throws Exception {
        EncoderLoader broken = (m, f, t) -> {
            throw new EncoderException("cannot load " + f.getName());
        };
        BenchmarkRunner runner = new BenchmarkRunner("android-app", broken, (m, f) -> PACKING_CODER, Map.of());

        Recorder noManifest = new Recorder();
        assertEquals(2, runner.runReportingErrors(BenchmarkRunner.Config.fromBundle(tmp, 1, 0, 0), noManifest));
        assertEquals(List.of("error"), noManifest.kinds);
        assertEquals("artifact", noManifest.events.get(0).get("kind"));

        writeBundle(tmp, SampleManifest.json(), 6, 4);
        Recorder noRuntime = new Recorder();
        assertEquals(2, runner.runReportingErrors(BenchmarkRunner.Config.fromBundle(tmp, 1, 0, 0), noRuntime));
        assertEquals("runtime", noRuntime.events.get(0).get("kind"));
        assertTrue(((String) noRuntime.events.get(0).get("message")).contains("encoder.pte"));

        File other = new File(tmp, "wrong-size");
        writeBundle(other, SampleManifest.json(), 5, 4);
        BenchmarkRunner ok = new BenchmarkRunner("android-app", (m, f, t) -> new SumEncoder(),
                (m, f) -> PACKING_CODER, Map.of());
        Recorder wrongSize = new Recorder();
        assertEquals(2, ok.runReportingErrors(BenchmarkRunner.Config.fromBundle(other, 1, 0, 0), wrongSize));
        Map<String, Object> err = wrongSize.events.get(wrongSize.events.size() - 1);
        assertEquals("input", err.get("kind"));
        assertTrue(((String) err.get("message")).contains("5x4"), (String) err.get("message"));

        Files.write(new File(other, "inputs/a.ppm").toPath(), "P5\n1 1\n255\n0".getBytes("UTF-8"));
        Recorder badPpm = new Recorder();
        assertEquals(2, ok.runReportingErrors(BenchmarkRunner.Config.fromBundle(other, 1, 0, 0), badPpm));
        assertTrue(((String) badPpm.events.get(badPpm.events.size() - 1).get("message")).contains("P6"));
    }
}
