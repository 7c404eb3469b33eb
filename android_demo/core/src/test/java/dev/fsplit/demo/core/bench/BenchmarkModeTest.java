package dev.fsplit.demo.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fsplit.demo.core.JavaCoderLoader;
import dev.fsplit.demo.core.testing.Fixtures;
import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Benchmark mode as the app runs it, on a bundle built by fsplit-bench's own code (artifact/ + inputs/ PPMs),
 * with the Python-runtime stand-in for the ExecuTorch Module. tests/bench/test_android_core.py then reads the events
 * file with fsplit_mobile.bench (events parser, result builder) and checks stream/symbol hashes against Python.
 */
@Tag(Fixtures.TAG)
class BenchmarkModeTest {
    @Test
    void writesTheEventStreamFsplitBenchReads() throws Exception {
        File bundle = Fixtures.file("fsplit.benchBundle");
        File events = new File(Fixtures.property("fsplit.benchEvents"));
        Map<String, Object> device = new LinkedHashMap<>();
        device.put("device", Map.of("model", "JVM test run (not a phone)"));
        BenchmarkRunner runner = new BenchmarkRunner("android-app", Fixtures.pythonEncoders(), new JavaCoderLoader(),
                device);
        EventFile file = new EventFile(events, null);
        int code = runner.runReportingErrors(BenchmarkRunner.Config.fromBundle(bundle, 3, 1, 0), file);
        file.finish(code);
        assertEquals(BenchmarkRunner.EXIT_OK, code, "see the error event in " + events);
    }
}
