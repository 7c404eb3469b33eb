package dev.fsplit.demo.core.bench;

import java.io.File;
import java.util.Map;

/**
 * Benchmark-mode arguments as the app receives them (Intent extras from {@code adb shell am start}), resolved to
 * a run config and the events file path. Extras:
 * <ul>
 *   <li>{@code bundle}: a folder laid out as fsplit-bench pushes it (artifact/ and inputs/); or</li>
 *   <li>{@code artifact} (+ {@code inputs}, default: the folder "inputs" next to the artifact folder);</li>
 *   <li>{@code runs} (default 20), {@code warmup} (default 5), {@code threads} (default 0: runtime's choice),
 *       as --ei or --es;</li>
 *   <li>{@code out}: events file (default: bundle/device-events.jsonl, else
 *       {@code <default folder>/device-events.jsonl}).</li>
 * </ul>
 */
public final class BenchmarkArgs {
    public static final String EVENTS_FILE = "device-events.jsonl";
    public static final int DEFAULT_RUNS = 20;
    public static final int DEFAULT_WARMUP = 5;

    public final BenchmarkRunner.Config config;
    public final File eventsFile;

    private BenchmarkArgs(BenchmarkRunner.Config config, File eventsFile) {
        this.config = config;
        this.eventsFile = eventsFile;
    }

    /** An argument is missing or malformed. */
    public static final class ArgsException extends Exception {
        public ArgsException(String message) {
            super(message);
        }
    }

    /**
     * @param extras          name -> value (String, Integer or Long, as Android Bundles hold them)
     * @param defaultOutDir   where the events file goes without "out" or "bundle" (the app's external files dir)
     */
    public static BenchmarkArgs resolve(Map<String, Object> extras, File defaultOutDir) throws ArgsException {
        String bundle = string(extras, "bundle");
        String artifact = string(extras, "artifact");
        String inputs = string(extras, "inputs");
        File artifactDir;
        File inputsDir;
        if (bundle != null) {
            if (artifact != null || inputs != null) {
                throw new ArgsException("give either 'bundle' or 'artifact' (+ 'inputs'), not both");
            }
            artifactDir = new File(bundle, "artifact");
            inputsDir = new File(bundle, "inputs");
        } else if (artifact != null) {
            artifactDir = new File(artifact);
            File parent = artifactDir.getAbsoluteFile().getParentFile();
            inputsDir = inputs != null ? new File(inputs) : new File(parent == null ? new File("/") : parent, "inputs");
        } else {
            throw new ArgsException("benchmark mode needs the extra 'bundle' (fsplit-bench bundle folder) or "
                    + "'artifact' (artifact folder on the device)");
        }
        int runs = integer(extras, "runs", DEFAULT_RUNS);
        int warmup = integer(extras, "warmup", DEFAULT_WARMUP);
        int threads = integer(extras, "threads", 0);
        if (runs < 1 || warmup < 0 || threads < 0) {
            throw new ArgsException("runs must be >= 1, warmup >= 0 and threads >= 0 (got runs " + runs + ", warmup "
                    + warmup + ", threads " + threads + ")");
        }
        String out = string(extras, "out");
        File events = out != null ? new File(out)
                : bundle != null ? new File(bundle, EVENTS_FILE) : new File(defaultOutDir, EVENTS_FILE);
        return new BenchmarkArgs(new BenchmarkRunner.Config(artifactDir, inputsDir, runs, warmup, threads), events);
    }

    private static String string(Map<String, Object> extras, String key) throws ArgsException {
        Object v = extras.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String) || ((String) v).isEmpty()) {
            throw new ArgsException("extra '" + key + "' must be a non-empty string (--es " + key + " VALUE), got "
                    + v);
        }
        return (String) v;
    }

    private static int integer(Map<String, Object> extras, String key, int fallback) throws ArgsException {
        Object v = extras.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Integer || v instanceof Long) {
            long n = ((Number) v).longValue();
            if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
                throw new ArgsException("extra '" + key + "' is out of range: " + n);
            }
            return (int) n;
        }
        if (v instanceof String) {
            try {
                return Integer.parseInt(((String) v).trim());
            } catch (NumberFormatException e) {
                throw new ArgsException("extra '" + key + "' must be an integer (--ei " + key + " N), got '" + v + "'");
            }
        }
        throw new ArgsException("extra '" + key + "' must be an integer (--ei " + key + " N), got " + v);
    }
}
