package dev.fsplit.demo.core;

/** What an encoder returned: int32 symbols, float32 latent values, or int8/uint8 quantized values. */
public final class EncoderOutput {
    public final long[] shape;
    public final int[] ints;
    public final float[] floats;
    public final byte[] bytes;
    /** "int32", "float32", "int8" or "uint8". */
    public final String dtype;

    private EncoderOutput(long[] shape, String dtype, int[] ints, float[] floats, byte[] bytes) {
        this.shape = shape;
        this.dtype = dtype;
        this.ints = ints;
        this.floats = floats;
        this.bytes = bytes;
    }

    public static EncoderOutput ofInts(long[] shape, int[] data) {
        return new EncoderOutput(shape, "int32", data, null, null);
    }

    public static EncoderOutput ofFloats(long[] shape, float[] data) {
        return new EncoderOutput(shape, "float32", null, data, null);
    }

    public static EncoderOutput ofBytes(long[] shape, String dtype, byte[] data) {
        return new EncoderOutput(shape, dtype, null, null, data);
    }

    public int size() {
        return ints != null ? ints.length : floats != null ? floats.length : bytes.length;
    }
}
