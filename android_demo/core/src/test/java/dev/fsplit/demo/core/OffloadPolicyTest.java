package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The offload policy picks what Python's fsplit_mobile/runtime/offload_policy.py picks on the shared table of
 * cases: -Dfsplit.offloadCases=FILE (tests/runtime/test_offload_policy.py adds random cases with Python's choices),
 * else tests/data/offload_policy_cases.tsv found above the working directory.
 */
class OffloadPolicyTest {
    static final String CASES = "tests/data/offload_policy_cases.tsv";

    static File casesFile() {
        String given = System.getProperty("fsplit.offloadCases");
        if (given != null && !given.isEmpty()) {
            return new File(given);
        }
        for (File dir = new File(System.getProperty("user.dir")).getAbsoluteFile(); dir != null;
                dir = dir.getParentFile()) {
            File f = new File(dir, CASES);
            if (f.isFile()) {
                return f;
            }
        }
        fail("no " + CASES + " above " + System.getProperty("user.dir") + " and -Dfsplit.offloadCases not set");
        return null;
    }

    @Test
    void choicesMatchTheSharedTable() throws Exception {
        File file = casesFile();
        Map<String, List<OffloadPolicy.Option>> sets = new LinkedHashMap<>();
        int cases = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new FileInputStream(file),
                StandardCharsets.UTF_8))) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                line = line.trim();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\\s+");
                String where = file + ":" + n;
                if (f[0].equals("option") && f.length == 8) {
                    List<OffloadPolicy.Option> set = sets.get(f[1]);
                    if (set == null) {
                        set = new ArrayList<>();
                        sets.put(f[1], set);
                    }
                    set.add(new OffloadPolicy.Option(f[2], OffloadPolicy.Kind.parse(f[3]), Double.parseDouble(f[4]),
                            Double.parseDouble(f[7]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), -1));
                } else if (f[0].equals("case") && f.length == 6) {
                    List<OffloadPolicy.Option> set = sets.get(f[1]);
                    assertTrue(set != null, where + ": no option set " + f[1]);
                    double bandwidth = f[2].equals("none") ? Double.NaN : Double.parseDouble(f[2]);
                    OffloadPolicy.Decision d = OffloadPolicy.choose(set, bandwidth, Double.parseDouble(f[3]),
                            Double.parseDouble(f[4]));
                    assertEquals(f[5], d.option.name, where + ": " + line + " (latencies "
                            + Arrays.toString(d.latenciesMs) + ")");
                    cases++;
                } else {
                    fail(where + ": not an option or case line: " + line);
                }
            }
        }
        assertTrue(cases >= 10, "only " + cases + " cases in " + file);
    }

    @Test
    void latencyOfEachKind() {
        OffloadPolicy.Option local = OffloadPolicy.Option.local("local", 60);
        OffloadPolicy.Option split = OffloadPolicy.Option.split("r2", 0, 50, 1000, 2, 0.72);
        assertEquals(60.0, OffloadPolicy.latencyMs(local, 1, 200), 0.0);
        assertEquals(72.8, OffloadPolicy.latencyMs(split, 10, 20), 1e-12);
        assertEquals(72.0, OffloadPolicy.latencyMs(split, Double.NaN, 20), 0.0);
        assertEquals(10.0, OffloadPolicy.transferMs(1250, 1), 0.0);
        assertEquals("local", OffloadPolicy.choose(Arrays.asList(local, split), 10, 20, 0.7).option.name);
        assertEquals(0, OffloadPolicy.choose(Arrays.asList(local, split), 10, 1, 0.7).option.ratePoint); // 53.8 ms
    }

    @Test
    void badInputNamesTheField() {
        assertMessage("device_ms", () -> OffloadPolicy.Option.split("s", 0, -1, 1, 1, 0.5));
        assertMessage("agreement", () -> OffloadPolicy.Option.offload("o", 1, 1, 1, 1.5));
        assertMessage("wire_bytes", () -> OffloadPolicy.Option.offload("o", 1, Double.NaN, 1, 0.5));
        assertMessage("server_ms", () -> OffloadPolicy.Option.split("s", 0, 1, 1, Double.POSITIVE_INFINITY, 0.5));
        assertMessage("sends nothing", () -> new OffloadPolicy.Option("l", OffloadPolicy.Kind.LOCAL, 1, 1, 5, 0, -1));
        assertMessage("rate_point", () -> new OffloadPolicy.Option("o", OffloadPolicy.Kind.OFFLOAD, 1, 1, 5, 0, 2));
        assertMessage("kind", () -> OffloadPolicy.Kind.parse("cloud"));
        List<OffloadPolicy.Option> opts = Arrays.asList(OffloadPolicy.Option.local("l", 5),
                OffloadPolicy.Option.split("s", 0, 1, 100, 1, 0.5));
        assertMessage("bandwidth_mbit", () -> OffloadPolicy.choose(opts, 0, 20, 0));
        assertMessage("rtt_ms", () -> OffloadPolicy.choose(opts, 1, -1, 0));
        assertMessage("min_agreement", () -> OffloadPolicy.choose(opts, 1, 20, 1.5));
        assertMessage("given twice", () -> OffloadPolicy.choose(Arrays.asList(opts.get(0), opts.get(0)), 1, 20, 0));
        assertMessage("no option reaches", () -> OffloadPolicy.choose(opts.subList(1, 2), 1, 20, 0.9));
        assertMessage("no option", () -> OffloadPolicy.choose(new ArrayList<OffloadPolicy.Option>(), 1, 20, 0));
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
