package dev.fsplit.demo.core.bench;

import dev.fsplit.demo.core.CoderLoader;
import dev.fsplit.demo.core.CodingException;
import dev.fsplit.demo.core.Encoder;
import dev.fsplit.demo.core.EncoderException;
import dev.fsplit.demo.core.EncoderLoader;
import dev.fsplit.demo.core.InputTensor;
import dev.fsplit.demo.core.LatentCoder;
import dev.fsplit.demo.core.Manifest;
import dev.fsplit.demo.core.ManifestException;
import dev.fsplit.demo.core.Preprocessor;
import dev.fsplit.demo.core.ProcessStats;
import dev.fsplit.demo.core.SymbolConverter;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmark mode: what the Python device agent and the native runner do, in the app. Loads the artifact, runs
 * preprocess (scaling/normalisation/layout of host-resized PPM inputs) + encoder + entropy coding {@code warmup}
 * times (excluded) then {@code runs} times per image, and emits the {@code fsplit-bench-events/1} stream.
 */
public final class BenchmarkRunner {
    public static final int EXIT_OK = 0;
    public static final int EXIT_ERROR = 2;
    public static final int EXIT_DISK_FULL = 3;

    /** What to run and how often. */
    public static final class Config {
        public final File artifactDir;
        public final File inputsDir;
        public final int runs;
        public final int warmup;
        public final int threads;

        public Config(File artifactDir, File inputsDir, int runs, int warmup, int threads) {
            if (runs < 1 || warmup < 0 || threads < 0) {
                throw new IllegalArgumentException("runs must be >= 1, warmup >= 0, threads >= 0 (got runs " + runs
                        + ", warmup " + warmup + ", threads " + threads + ")");
            }
            this.artifactDir = artifactDir;
            this.inputsDir = inputsDir;
            this.runs = runs;
            this.warmup = warmup;
            this.threads = threads;
        }

        /** A bench bundle folder as fsplit-bench pushes it: bundle/artifact and bundle/inputs. */
        public static Config fromBundle(File bundle, int runs, int warmup, int threads) {
            return new Config(new File(bundle, "artifact"), new File(bundle, "inputs"), runs, warmup, threads);
        }
    }

    private final String runnerName;
    private final EncoderLoader encoderLoader;
    private final CoderLoader coderLoader;
    private final Map<String, Object> helloExtras;

    /**
     * @param runnerName  "android-app" in the app
     * @param helloExtras extra facts for the hello event (e.g. "device": {model, sdk, abi})
     */
    public BenchmarkRunner(String runnerName, EncoderLoader encoderLoader, CoderLoader coderLoader,
                           Map<String, Object> helloExtras) {
        this.runnerName = runnerName;
        this.encoderLoader = encoderLoader;
        this.coderLoader = coderLoader;
        this.helloExtras = helloExtras;
    }

    /** Run and report through sink; returns the exit status (0, 2 error, 3 storage full). Never throws. */
    public int runReportingErrors(Config config, EventSink sink) {
        try {
            run(config, sink);
            return EXIT_OK;
        } catch (BenchmarkException e) {
            return reportError(sink, e.getMessage(), e.kind);
        } catch (IOException e) {
            boolean full = String.valueOf(e.getMessage()).contains("No space left") || String.valueOf(e.getMessage())
                    .contains("ENOSPC");
            return reportError(sink, (full ? "device storage full: " : "I/O error: ") + e, full ? "disk_full" : "io");
        } catch (RuntimeException e) {
            return reportError(sink, "runner bug: " + e, "error");
        }
    }

    private static int reportError(EventSink sink, String message, String kind) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("message", message);
        f.put("kind", kind);
        try {
            sink.emit("error", f);
        } catch (IOException ignored) {
            // the sink itself is broken; the exit status still tells
        }
        return "disk_full".equals(kind) ? EXIT_DISK_FULL : EXIT_ERROR;
    }

    /** Run the benchmark, emitting events; failures raise BenchmarkException (kind as the agent's). */
    public void run(Config config, EventSink sink) throws BenchmarkException, IOException {
        Manifest manifest;
        try {
            manifest = Manifest.load(config.artifactDir);
        } catch (ManifestException e) {
            throw new BenchmarkException(e.getMessage(), "artifact", e);
        }
        Preprocessor preprocessor = new Preprocessor(manifest.input);
        SymbolConverter toSymbols = new SymbolConverter(manifest.output, manifest.latent);
        Manifest.LatentSpec lat = manifest.latent;

        long t0 = System.nanoTime();
        Encoder encoder;
        try {
            encoder = encoderLoader.load(manifest, new File(config.artifactDir, manifest.file("encoder")),
                    config.threads);
        } catch (EncoderException e) {
            throw new BenchmarkException(e.getMessage(), "runtime", e);
        }
        try {
            long t1 = System.nanoTime();
            LatentCoder coder;
            try {
                coder = coderLoader.load(manifest, new File(config.artifactDir, manifest.tablesFile));
            } catch (CodingException e) {
                throw new BenchmarkException("tables file " + manifest.tablesFile + ": " + e.getMessage(), "artifact",
                        e);
            }
            long t2 = System.nanoTime();

            Map<String, Object> hello = new LinkedHashMap<>(helloExtras);
            hello.put("schema", BenchEvents.SCHEMA);
            hello.put("runner", runnerName);
            Map<String, Object> runtime = new LinkedHashMap<>();
            String[] desc = encoder.describe().split(" ", 2);
            runtime.put("name", desc[0]);
            runtime.put("version", desc.length > 1 ? desc[1] : "unknown");
            hello.put("runtime", runtime);
            hello.put("threads", encoder.threads() > 0 ? encoder.threads() : null);
            hello.put("affinity", null);
            hello.put("pid", ProcessStats.pid());
            sink.emit("hello", hello);
            Map<String, Object> load = new LinkedHashMap<>();
            load.put("model_load_ms", ms(t0, t1));
            load.put("tables_load_ms", ms(t1, t2));
            sink.emit("load", load);

            List<BenchInputs.Named> images = BenchInputs.load(config.inputsDir);
            for (BenchInputs.Named img : images) {
                if (img.image.width != manifest.input.width() || img.image.height != manifest.input.height()) {
                    throw new BenchmarkException("input image " + img.name + " is " + img.image.width + "x"
                            + img.image.height + ", the model takes " + manifest.input.width() + "x"
                            + manifest.input.height() + " (fsplit-bench resizes on the host)", "input");
                }
            }
            Pass pass = new Pass();
            for (int i = 0; i < config.warmup; i++) {
                pass.run(images.get(0), preprocessor, encoder, toSymbols, coder, lat);
            }
            Map<String, Object> warm = new LinkedHashMap<>();
            warm.put("runs", config.warmup);
            sink.emit("warmup", warm);

            int samples = 0;
            for (BenchInputs.Named img : images) {
                byte[] first = null;
                boolean deterministic = true;
                for (int run = 0; run < config.runs; run++) {
                    pass.run(img, preprocessor, encoder, toSymbols, coder, lat);
                    if (first == null) {
                        first = pass.stream;
                    } else if (!Arrays.equals(first, pass.stream)) {
                        deterministic = false;
                    }
                    Map<String, Object> s = new LinkedHashMap<>();
                    s.put("image", img.name);
                    s.put("run", run);
                    s.put("preprocess_ms", ms(pass.a, pass.b));
                    s.put("encoder_ms", ms(pass.b, pass.c));
                    s.put("entropy_ms", ms(pass.c, pass.d));
                    s.put("total_ms", ms(pass.a, pass.d));
                    sink.emit("sample", s);
                    samples++;
                }
                Map<String, Object> im = new LinkedHashMap<>();
                im.put("image", img.name);
                im.put("bytes", first.length);
                im.put("bpp", 8.0 * first.length / (manifest.input.height() * manifest.input.width()));
                im.put("symbols_sha256", sha256Hex(int32LittleEndian(pass.symbols)));
                im.put("stream_sha256", sha256Hex(first));
                im.put("deterministic", deterministic);
                sink.emit("image", im);
            }
            Map<String, Object> end = new LinkedHashMap<>();
            end.put("peak_rss_kb", ProcessStats.peakRssKb());
            end.put("samples", samples);
            sink.emit("end", end);
        } finally {
            encoder.close();
        }
    }

    /** One timed pass; keeps its timestamps and outputs in fields to avoid per-run allocation of holders. */
    private static final class Pass {
        long a;
        long b;
        long c;
        long d;
        int[] symbols;
        byte[] stream;

        void run(BenchInputs.Named img, Preprocessor pre, Encoder encoder, SymbolConverter toSymbols,
                 LatentCoder coder, Manifest.LatentSpec lat) throws BenchmarkException {
            try {
                a = System.nanoTime();
                InputTensor x = pre.convert(img.image);
                b = System.nanoTime();
                dev.fsplit.demo.core.EncoderOutput y = encoder.run(x);
                c = System.nanoTime();
                symbols = toSymbols.toSymbols(y);
                stream = coder.encode(symbols, lat.channels, lat.height, lat.width);
                d = System.nanoTime();
            } catch (EncoderException e) {
                throw new BenchmarkException("encoder failed on " + img.name + ": " + e.getMessage(), "runtime", e);
            } catch (CodingException e) {
                throw new BenchmarkException("entropy coding failed on " + img.name + ": " + e.getMessage(),
                        "runtime", e);
            }
        }
    }

    static double ms(long from, long to) {
        return (to - from) / 1e6;
    }

    /** int32 values as little-endian bytes (what the Python side hashes: symbols.astype('<i4').tobytes()). */
    public static byte[] int32LittleEndian(int[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(values);
        return buf.array();
    }

    public static String sha256Hex(byte[] data) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
            StringBuilder sb = new StringBuilder(digest.length * 2);
            for (byte x : digest) {
                sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this Java runtime", e);
        }
    }
}
