package org.pytorch.executorch;

/** STUB (not ExecuTorch): members of org.pytorch.executorch.Module the demo uses. */
public class Module {
    public static final int LOAD_MODE_FILE = 0;
    public static final int LOAD_MODE_MMAP = 1;

    public static Module load(String modelPath, int loadMode, int numThreads) { throw new RuntimeException("Stub!"); }
    public void loadMethod(String methodName) { throw new RuntimeException("Stub!"); }
    public EValue[] forward(EValue... inputs) { throw new RuntimeException("Stub!"); }
    public void destroy() { throw new RuntimeException("Stub!"); }
}
