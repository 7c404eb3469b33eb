package dev.fsplit.demo.core.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchmarkArgsTest {
    private static final File OUT = new File("/sdcard/Android/data/dev.fsplit.demo/files/fsplit-bench");

    @Test
    void bundleLayoutLikeFsplitBench() throws Exception {
        Map<String, Object> e = new HashMap<>();
        e.put("bundle", "/data/local/tmp/fsplit-bench-1");
        e.put("runs", 7);
        e.put("warmup", "2");
        BenchmarkArgs a = BenchmarkArgs.resolve(e, OUT);
        assertEquals(new File("/data/local/tmp/fsplit-bench-1/artifact"), a.config.artifactDir);
        assertEquals(new File("/data/local/tmp/fsplit-bench-1/inputs"), a.config.inputsDir);
        assertEquals(new File("/data/local/tmp/fsplit-bench-1/device-events.jsonl"), a.eventsFile);
        assertEquals(7, a.config.runs);
        assertEquals(2, a.config.warmup);
        assertEquals(0, a.config.threads);
    }

    @Test
    void artifactWithDefaultsWritesToTheAppFolder() throws Exception {
        Map<String, Object> e = new HashMap<>();
        e.put("artifact", "/data/local/tmp/fsplit/executorch-int8");
        BenchmarkArgs a = BenchmarkArgs.resolve(e, OUT);
        assertEquals(new File("/data/local/tmp/fsplit/inputs"), a.config.inputsDir);
        assertEquals(new File(OUT, "device-events.jsonl"), a.eventsFile);
        assertEquals(BenchmarkArgs.DEFAULT_RUNS, a.config.runs);
        assertEquals(BenchmarkArgs.DEFAULT_WARMUP, a.config.warmup);
        e.put("out", "/sdcard/x.jsonl");
        e.put("threads", 4L);
        a = BenchmarkArgs.resolve(e, OUT);
        assertEquals(new File("/sdcard/x.jsonl"), a.eventsFile);
        assertEquals(4, a.config.threads);
    }

    private static void assertRefused(Map<String, Object> e, String expected) {
        BenchmarkArgs.ArgsException ex = assertThrows(BenchmarkArgs.ArgsException.class,
                () -> BenchmarkArgs.resolve(e, OUT));
        assertTrue(ex.getMessage().contains(expected), ex.getMessage());
    }

    @Test
    void badExtrasAreNamed() {
        assertRefused(new HashMap<>(), "'bundle'");
        Map<String, Object> e = new HashMap<>();
        e.put("bundle", "/b");
        e.put("artifact", "/a");
        assertRefused(e, "not both");
        e.remove("artifact");
        e.put("runs", "many");
        assertRefused(e, "'runs'");
        e.put("runs", 0);
        assertRefused(e, "runs must be >= 1");
        e.put("runs", 3);
        e.put("warmup", true);
        assertRefused(e, "'warmup'");
        e.remove("warmup");
        e.put("bundle", 5);
        assertRefused(e, "'bundle'");
    }
}
