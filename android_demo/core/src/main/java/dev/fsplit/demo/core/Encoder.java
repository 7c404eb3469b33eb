package dev.fsplit.demo.core;

/**
 * The device part of the split model. The app implements it with ExecuTorch's Module API; JVM tests plug in a
 * stand-in (e.g. one that runs the same .pte through the Python ExecuTorch runtime).
 */
public interface Encoder extends AutoCloseable {
    /** Runtime name and version, e.g. "executorch-android 1.5.1". */
    String describe();

    /** Number of threads the runtime uses, or 0 when unknown. */
    int threads();

    EncoderOutput run(InputTensor input) throws EncoderException;

    @Override
    void close();
}
