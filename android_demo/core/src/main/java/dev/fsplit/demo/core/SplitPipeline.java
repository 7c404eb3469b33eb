package dev.fsplit.demo.core;

import dev.fsplit.demo.core.serve.InferResult;
import dev.fsplit.demo.core.serve.ServeClient;
import dev.fsplit.demo.core.serve.ServeException;

/**
 * The device side of split computing, free of android.*: picture -> preprocess (per manifest) -> encoder ->
 * int32 symbols -> rANS stream container -> POST to fsplit-serve -> top-5, with a per-stage latency breakdown
 * (preprocess, encoder, coding, network, server, total).
 */
public final class SplitPipeline implements AutoCloseable {
    /** Result of the on-device part. */
    public static final class Encoded {
        public final int[] symbols;
        public final byte[] container;
        public final StageTimings timings;

        Encoded(int[] symbols, byte[] container, StageTimings timings) {
            this.symbols = symbols;
            this.container = container;
            this.timings = timings;
        }
    }

    /** Result of the whole round trip. */
    public static final class Outcome {
        public final Encoded encoded;
        public final InferResult answer;
        public final StageTimings timings;
        /** Bits per pixel of the payload, relative to the model input resolution. */
        public final double bpp;

        Outcome(Encoded encoded, InferResult answer, StageTimings timings, double bpp) {
            this.encoded = encoded;
            this.answer = answer;
            this.timings = timings;
            this.bpp = bpp;
        }
    }

    private final Manifest manifest;
    private final Preprocessor preprocessor;
    private final SymbolConverter symbolConverter;
    private final Encoder encoder;
    private final LatentCoder coder;

    public SplitPipeline(Manifest manifest, Encoder encoder, LatentCoder coder) {
        this.manifest = manifest;
        this.preprocessor = new Preprocessor(manifest.input);
        this.symbolConverter = new SymbolConverter(manifest.output, manifest.latent);
        this.encoder = encoder;
        this.coder = coder;
    }

    public Manifest manifest() {
        return manifest;
    }

    /** Preprocess + encoder + coding of a decoded picture (any size: it is resized per the manifest). */
    public Encoded encode(RgbImage picture) throws EncoderException, CodingException {
        long a = System.nanoTime();
        InputTensor x = preprocessor.apply(picture);
        long b = System.nanoTime();
        EncoderOutput y = encoder.run(x);
        long c = System.nanoTime();
        int[] symbols = symbolConverter.toSymbols(y);
        Manifest.LatentSpec lat = manifest.latent;
        byte[] container = coder.encode(symbols, lat.channels, lat.height, lat.width);
        long d = System.nanoTime();
        StageTimings t = new StageTimings()
                .put(StageTimings.PREPROCESS, (b - a) / 1e6)
                .put(StageTimings.ENCODER, (c - b) / 1e6)
                .put(StageTimings.CODING, (d - c) / 1e6);
        return new Encoded(symbols, container, t);
    }

    /** encode() then POST to the server. */
    public Outcome infer(RgbImage picture, ServeClient client)
            throws EncoderException, CodingException, ServeException {
        long start = System.nanoTime();
        Encoded enc = encode(picture);
        InferResult answer = client.infer(enc.container);
        long end = System.nanoTime();
        StageTimings t = new StageTimings();
        for (java.util.Map.Entry<String, Double> e : enc.timings.asMap().entrySet()) {
            t.put(e.getKey(), e.getValue());
        }
        t.put(StageTimings.NETWORK, answer.networkMs());
        t.put(StageTimings.SERVER, answer.serverTotalMs());
        t.put(StageTimings.TOTAL, (end - start) / 1e6);
        double bpp = 8.0 * enc.container.length / (manifest.input.height() * (double) manifest.input.width());
        return new Outcome(enc, answer, t, bpp);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
