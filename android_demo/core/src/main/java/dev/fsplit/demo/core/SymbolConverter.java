package dev.fsplit.demo.core;

/**
 * Encoder output -> int32 symbols in C order (channel, row, column), per the manifest's output spec: symbols
 * are taken as they are; a float latent is dequantized if needed, its per-channel median subtracted and rounded
 * half to even (float32 steps, same order as the Python runtime).
 */
public final class SymbolConverter {
    private final Manifest.OutputSpec spec;
    private final Manifest.LatentSpec latent;

    public SymbolConverter(Manifest.OutputSpec spec, Manifest.LatentSpec latent) {
        this.spec = spec;
        this.latent = latent;
    }

    public int[] toSymbols(EncoderOutput out) throws EncoderException {
        int c = latent.channels;
        int h = latent.height;
        int w = latent.width;
        int n = c * h * w;
        if (out.size() != n) {
            throw new EncoderException("encoder output has " + out.size() + " values, the latent is " + c + "x" + h
                    + "x" + w + " = " + n);
        }
        boolean nhwc = "NHWC".equals(spec.layout);
        int[] symbols = new int[n];
        if ("symbols".equals(spec.kind)) {
            if (out.ints == null) {
                throw new EncoderException("the manifest says the encoder returns int32 symbols, it returned "
                        + out.dtype);
            }
            for (int i = 0; i < n; i++) {
                symbols[i] = out.ints[nhwc ? fromNhwc(i, c, h, w) : i];
            }
            return symbols;
        }
        Manifest.Quantization q = spec.quantization;
        for (int i = 0; i < n; i++) {
            int src = nhwc ? fromNhwc(i, c, h, w) : i;
            float y;
            if (out.floats != null) {
                y = out.floats[src];
            } else if (out.bytes != null) {
                y = "uint8".equals(out.dtype) ? (out.bytes[src] & 0xFF) : out.bytes[src];
            } else {
                y = out.ints[src];
            }
            if (q != null) {
                y = (y - (float) q.zeroPoint) * q.scale;
            }
            y = y - latent.medians[i / (h * w)];
            symbols[i] = (int) Math.rint(y);
        }
        return symbols;
    }

    /** Index in an HWC buffer of the element at C-order (channel, row, column) position i. */
    private static int fromNhwc(int i, int c, int h, int w) {
        int ch = i / (h * w);
        int rest = i % (h * w);
        return rest * c + ch;
    }
}
