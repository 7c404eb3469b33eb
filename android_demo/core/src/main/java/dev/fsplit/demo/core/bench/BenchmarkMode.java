package dev.fsplit.demo.core.bench;

import dev.fsplit.demo.core.CoderLoader;
import dev.fsplit.demo.core.EncoderLoader;
import dev.fsplit.demo.core.JavaCoderLoader;
import java.io.File;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Benchmark mode end to end, minus Android: extras in, events file + {@code .exit} marker out. BenchmarkActivity
 * calls {@link #writeArgsError} and {@link #runToFile}; {@link #main} does the same on a plain JVM, taking the
 * extras as {@code am start} spells them ({@code --es KEY VALUE}, {@code --ei KEY N}).
 */
public final class BenchmarkMode {
    /** System property of {@link #main}: class name of an {@link EncoderLoader} with a no-argument constructor. */
    public static final String ENCODER_LOADER_PROPERTY = "fsplit.encoderLoader";

    private BenchmarkMode() {
    }

    /** Bad extras: an error event (kind "setup") and exit marker 2 at eventsFile, as a host expects them. */
    public static void writeArgsError(File eventsFile, String message) throws IOException {
        EventFile events = new EventFile(eventsFile, null);
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("message", message);
        f.put("kind", "setup");
        events.emit("error", f);
        events.finish(BenchmarkRunner.EXIT_ERROR);
    }

    /** Run, writing events (mirrored to mirror, may be null) and then the exit marker; returns the exit status. */
    public static int runToFile(BenchmarkArgs args, BenchmarkRunner runner, EventSink mirror) throws IOException {
        EventFile events = new EventFile(args.eventsFile, mirror);
        int code = runner.runReportingErrors(args.config, events);
        events.finish(code);
        return code;
    }

    /** {@code --es KEY VALUE} / {@code --ei KEY N} pairs (as given to am start) to an extras map. */
    public static Map<String, Object> parseExtras(String[] argv) throws BenchmarkArgs.ArgsException {
        Map<String, Object> extras = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i += 3) {
            if (i + 2 >= argv.length) {
                throw new BenchmarkArgs.ArgsException("incomplete extra at '" + argv[i] + "' (want --es KEY VALUE "
                        + "or --ei KEY N)");
            }
            String type = argv[i];
            String key = argv[i + 1];
            String value = argv[i + 2];
            if ("--es".equals(type)) {
                extras.put(key, value);
            } else if ("--ei".equals(type)) {
                try {
                    extras.put(key, Integer.valueOf(value.trim()));
                } catch (NumberFormatException e) {
                    throw new BenchmarkArgs.ArgsException("--ei " + key + " needs an integer, got '" + value + "'");
                }
            } else {
                throw new BenchmarkArgs.ArgsException("unsupported extra type '" + type + "' (--es or --ei)");
            }
        }
        return extras;
    }

    /**
     * JVM entry point of benchmark mode (what BenchmarkActivity does, without Android): runner "android-app", the
     * Java rANS coder, the encoder loader named by -Dfsplit.encoderLoader. Exits with the run's exit status.
     */
    public static void main(String[] argv) {
        File defaultOut = new File(System.getProperty("fsplit.defaultOut", "fsplit-bench"));
        BenchmarkArgs args;
        try {
            args = BenchmarkArgs.resolve(parseExtras(argv), defaultOut);
        } catch (BenchmarkArgs.ArgsException e) {
            System.err.println("benchmark mode: " + e.getMessage());
            try {
                writeArgsError(new File(defaultOut, BenchmarkArgs.EVENTS_FILE), e.getMessage());
            } catch (IOException io) {
                System.err.println("cannot write the events file: " + io);
            }
            System.exit(BenchmarkRunner.EXIT_ERROR);
            return;
        }
        EncoderLoader encoders;
        try {
            String name = System.getProperty(ENCODER_LOADER_PROPERTY);
            if (name == null) {
                throw new IllegalArgumentException("set -D" + ENCODER_LOADER_PROPERTY + "=CLASS (no ExecuTorch "
                        + "Module on a plain JVM)");
            }
            encoders = (EncoderLoader) Class.forName(name).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException e) {
            String message = "encoder loader: " + e;
            System.err.println(message);
            try {
                writeArgsError(args.eventsFile, message);
            } catch (IOException io) {
                System.err.println("cannot write the events file: " + io);
            }
            System.exit(BenchmarkRunner.EXIT_ERROR);
            return;
        }
        CoderLoader coders = new JavaCoderLoader();
        Map<String, Object> hello = new LinkedHashMap<>();
        Map<String, Object> device = new LinkedHashMap<>();
        device.put("model", "JVM (not a phone): " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.version"));
        hello.put("device", device);
        int code;
        try {
            code = runToFile(args, new BenchmarkRunner("android-app", encoders, coders, hello), null);
        } catch (IOException e) {
            System.err.println("cannot write the events file " + args.eventsFile + ": " + e);
            code = BenchmarkRunner.EXIT_ERROR;
        }
        System.exit(code);
    }
}
