package dev.fsplit.demo.core;

/**
 * Picture -> encoder input, per the manifest's input spec: resize (Pillow-compatible), scale to the value
 * range, normalise with mean/std when the graph does not, lay out NCHW or NHWC, quantize when the model's input
 * is int8/uint8. Each float step is one float32 operation in the same order as the Python runtime, so both
 * produce the same tensor.
 */
public final class Preprocessor {
    private final Manifest.InputSpec spec;

    public Preprocessor(Manifest.InputSpec spec) {
        this.spec = spec;
    }

    /** From Bitmap#getPixels-style ARGB pixels. */
    public InputTensor fromArgb(int[] argb, int width, int height) {
        return apply(RgbImage.fromArgb(argb, width, height));
    }

    public InputTensor apply(RgbImage image) {
        int h = spec.height();
        int w = spec.width();
        RgbImage img = (image.width == w && image.height == h) ? image
                : ImageResizer.resize(image, w, h, spec.resizeMethod);
        return convert(img);
    }

    /** Scaling, normalisation, layout and quantization of an image already at the model's input size. */
    public InputTensor convert(RgbImage img) {
        int h = spec.height();
        int w = spec.width();
        if (img.width != w || img.height != h) {
            throw new IllegalArgumentException("image is " + img.width + "x" + img.height + ", the model takes "
                    + w + "x" + h);
        }
        boolean divide = spec.valueRange[1] == 1f;
        boolean normalize = !spec.normalizationInGraph;
        boolean nchw = "NCHW".equals(spec.layout);
        Manifest.Quantization q = spec.quantization;
        int plane = w * h;
        float[] floats = q == null ? new float[plane * 3] : null;
        byte[] bytes = q == null ? null : new byte[plane * 3];
        int qmin = q == null ? 0 : ("int8".equals(q.dtype) ? -128 : 0);
        int qmax = q == null ? 0 : ("int8".equals(q.dtype) ? 127 : 255);
        byte[] src = img.rgb;
        for (int p = 0; p < plane; p++) {
            for (int c = 0; c < 3; c++) {
                float x = (float) (src[p * 3 + c] & 0xFF);
                if (divide) x /= 255f;
                if (normalize) {
                    x -= spec.mean[c];
                    x /= spec.std[c];
                }
                int index = nchw ? c * plane + p : p * 3 + c;
                if (q == null) {
                    floats[index] = x;
                } else {
                    float v = (float) Math.rint(x / q.scale) + (float) q.zeroPoint;
                    if (v < qmin) v = qmin;
                    if (v > qmax) v = qmax;
                    bytes[index] = (byte) (int) v;
                }
            }
        }
        long[] shape = new long[spec.shape.length];
        for (int i = 0; i < shape.length; i++) shape[i] = spec.shape[i];
        return q == null ? InputTensor.ofFloats(shape, floats) : InputTensor.ofBytes(shape, q.dtype, bytes);
    }
}
