package dev.fsplit.demo.core;

/** The encoder's input: float32 values, or int8/uint8 bytes when the model's input is quantized. */
public final class InputTensor {
    public final long[] shape;
    /** "float32", "int8" or "uint8". */
    public final String dtype;
    /** Set when dtype is float32. */
    public final float[] floats;
    /** Set when dtype is int8 or uint8 (uint8 values stored as their low 8 bits). */
    public final byte[] bytes;

    private InputTensor(long[] shape, String dtype, float[] floats, byte[] bytes) {
        this.shape = shape;
        this.dtype = dtype;
        this.floats = floats;
        this.bytes = bytes;
    }

    public static InputTensor ofFloats(long[] shape, float[] data) {
        return new InputTensor(shape.clone(), "float32", data, null);
    }

    public static InputTensor ofBytes(long[] shape, String dtype, byte[] data) {
        return new InputTensor(shape.clone(), dtype, null, data);
    }

    public int size() {
        return floats != null ? floats.length : bytes.length;
    }
}
