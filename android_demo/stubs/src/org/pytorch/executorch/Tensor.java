package org.pytorch.executorch;

/** STUB (not ExecuTorch): members of org.pytorch.executorch.Tensor the demo uses. */
public abstract class Tensor {
    public static Tensor fromBlob(float[] data, long[] shape) { throw new RuntimeException("Stub!"); }
    public static Tensor fromBlob(byte[] data, long[] shape) { throw new RuntimeException("Stub!"); }
    public static Tensor fromBlobUnsigned(byte[] data, long[] shape) { throw new RuntimeException("Stub!"); }
    public long[] shape() { throw new RuntimeException("Stub!"); }
    public abstract DType dtype();
    public int[] getDataAsIntArray() { throw new RuntimeException("Stub!"); }
    public long[] getDataAsLongArray() { throw new RuntimeException("Stub!"); }
    public float[] getDataAsFloatArray() { throw new RuntimeException("Stub!"); }
    public byte[] getDataAsByteArray() { throw new RuntimeException("Stub!"); }
    public byte[] getDataAsUnsignedByteArray() { throw new RuntimeException("Stub!"); }
}
