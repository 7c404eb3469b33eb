package dev.fsplit.codec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Timing of the Java coder for benchmarks/codec: encodes and decodes one latent many times and prints
 * one JSON line with median ns per symbol and ms per latent.
 *
 * <pre>java -cp out/main dev.fsplit.codec.Bench TABLES.fsct SYMBOLS.i32 C H W [SECONDS_PER_PHASE [LANES,...]]</pre>
 * SYMBOLS.i32 holds C*H*W little-endian int32 symbols in C order. After the single stream, the interleaved
 * payload is timed for 8, 16 and 32 lanes, or the comma-separated LANES ("interleaved" list in the JSON line),
 * then payload version 2 (InterleavedCodec2, "interleaved2" list) for the same lane counts.
 * benchmarks/codec runs one JVM per lane count: sharing one JIT profile across lane counts slowed the first
 * measured one by up to 2x.
 */
public final class Bench {
    private Bench() {
    }

    public static void main(String[] args) throws IOException, CodecException {
        if (args.length < 5) {
            System.err.println("usage: Bench TABLES.fsct SYMBOLS.i32 C H W [SECONDS_PER_PHASE]");
            System.exit(2);
        }
        CodecTables tables = CodecTables.read(Files.readAllBytes(Paths.get(args[0])));
        byte[] raw = Files.readAllBytes(Paths.get(args[1]));
        int c = Integer.parseInt(args[2]);
        int h = Integer.parseInt(args[3]);
        int w = Integer.parseInt(args[4]);
        double seconds = args.length > 5 ? Double.parseDouble(args[5]) : 2.0;
        int n = c * h * w;
        if (raw.length != 4 * n) {
            throw new IOException(args[1] + " holds " + raw.length / 4 + " symbols, expected " + n);
        }
        int[] symbols = new int[n];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(symbols);

        byte[] payload = RansCodec.encodePlanar(tables, symbols, c);
        int[] out = new int[n];
        RansCodec.decodePlanar(tables, payload, 0, payload.length, c, out);
        if (!Arrays.equals(out, symbols)) {
            throw new IllegalStateException("round trip failed");
        }
        double[] enc = time(seconds, () -> RansCodec.encodePlanar(tables, symbols, c));
        double[] dec = time(seconds, () -> RansCodec.decodePlanar(tables, payload, 0, payload.length, c, out));
        StringBuilder ilv = new StringBuilder();
        StringBuilder ilv2 = new StringBuilder();
        int[] laneCounts = args.length > 6 ? Arrays.stream(args[6].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {8, 16, 32};
        for (int lanes : laneCounts) {
            byte[] p = InterleavedCodec.encodePlanar(tables, symbols, c, lanes);
            InterleavedCodec.decodePlanar(tables, p, 0, p.length, c, lanes, out);
            if (!Arrays.equals(out, symbols)) {
                throw new IllegalStateException("interleaved round trip failed");
            }
            double[] e = time(seconds, () -> InterleavedCodec.encodePlanar(tables, symbols, c, lanes));
            double[] d = time(seconds, () -> InterleavedCodec.decodePlanar(tables, p, 0, p.length, c, lanes, out));
            append(ilv, lanes, p.length, e, d, n);
        }
        for (int lanes : laneCounts) {
            byte[] p = InterleavedCodec2.encodePlanar(tables, symbols, c, lanes);
            InterleavedCodec2.decodePlanar(tables, p, 0, p.length, c, lanes, out);
            if (!Arrays.equals(out, symbols)) {
                throw new IllegalStateException("interleaved version 2 round trip failed");
            }
            double[] e = time(seconds, () -> InterleavedCodec2.encodePlanar(tables, symbols, c, lanes));
            double[] d = time(seconds, () -> InterleavedCodec2.decodePlanar(tables, p, 0, p.length, c, lanes, out));
            append(ilv2, lanes, p.length, e, d, n);
        }
        System.out.printf(java.util.Locale.ROOT,
                "{\"symbols\": %d, \"payload_bytes\": %d, \"encode_ms\": %.5f, \"decode_ms\": %.5f, "
                        + "\"encode_ns_per_symbol\": %.4f, \"decode_ns_per_symbol\": %.4f, \"encode_runs\": %d, "
                        + "\"decode_runs\": %d, \"java\": \"%s\", \"interleaved\": [%s], \"interleaved2\": [%s]}%n",
                n, payload.length, enc[0] / 1e6, dec[0] / 1e6, enc[0] / n, dec[0] / n, (long) enc[1], (long) dec[1],
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"), ilv, ilv2);
    }

    private static void append(StringBuilder sb, int lanes, int bytes, double[] e, double[] d, int n) {
        sb.append(sb.length() == 0 ? "" : ", ").append(String.format(java.util.Locale.ROOT,
                "{\"lanes\": %d, \"payload_bytes\": %d, \"encode_ns_per_symbol\": %.4f, "
                        + "\"decode_ns_per_symbol\": %.4f, \"encode_ms\": %.5f, \"decode_ms\": %.5f}",
                lanes, bytes, e[0] / n, d[0] / n, e[0] / 1e6, d[0] / 1e6));
    }

    private interface Body {
        void run() throws CodecException;
    }

    /** Warm up for a second (JIT), then run for {@code seconds}; returns {median ns per run, runs}. */
    private static double[] time(double seconds, Body body) throws CodecException {
        long warmEnd = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < warmEnd) {
            body.run();
        }
        long[] samples = new long[1 << 16];
        int count = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (count < samples.length && (count < 5 || System.nanoTime() < end)) {
            long t0 = System.nanoTime();
            body.run();
            samples[count++] = System.nanoTime() - t0;
        }
        long[] used = Arrays.copyOf(samples, count);
        Arrays.sort(used);
        return new double[] {used[count / 2], count};
    }
}
