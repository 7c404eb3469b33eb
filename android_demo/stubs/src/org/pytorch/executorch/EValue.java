package org.pytorch.executorch;

/** STUB (not ExecuTorch). */
public class EValue {
    public static EValue from(Tensor tensor) { throw new RuntimeException("Stub!"); }
    public Tensor toTensor() { throw new RuntimeException("Stub!"); }
}
