package org.pytorch.executorch;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/** STUB (not ExecuTorch): members of org.pytorch.executorch.Tensor the demo uses. */
public abstract class Tensor {
    public static FloatBuffer allocateFloatBuffer(int numElements) { throw new RuntimeException("Stub!"); }
    public static ByteBuffer allocateByteBuffer(int numElements) { throw new RuntimeException("Stub!"); }
    public static Tensor fromBlob(FloatBuffer data, long[] shape) { throw new RuntimeException("Stub!"); }
    public static Tensor fromBlob(ByteBuffer data, long[] shape) { throw new RuntimeException("Stub!"); }
    public static Tensor fromBlobUnsigned(ByteBuffer data, long[] shape) { throw new RuntimeException("Stub!"); }
    public long[] shape() { throw new RuntimeException("Stub!"); }
    public abstract DType dtype();
    public int[] getDataAsIntArray() { throw new RuntimeException("Stub!"); }
    public long[] getDataAsLongArray() { throw new RuntimeException("Stub!"); }
    public float[] getDataAsFloatArray() { throw new RuntimeException("Stub!"); }
    public byte[] getDataAsByteArray() { throw new RuntimeException("Stub!"); }
    public byte[] getDataAsUnsignedByteArray() { throw new RuntimeException("Stub!"); }
}
