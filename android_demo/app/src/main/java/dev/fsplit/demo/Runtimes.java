package dev.fsplit.demo;

import dev.fsplit.demo.core.CoderLoader;
import dev.fsplit.demo.core.EncoderLoader;
import dev.fsplit.demo.core.JavaCoderLoader;

/** The app's encoder (ExecuTorch) and coder (pure-Java rANS from runtimes/java) loaders. */
final class Runtimes {
    static final EncoderLoader EXECUTORCH = ExecuTorchEncoder::load;
    static final CoderLoader JAVA_RANS = new JavaCoderLoader();

    private Runtimes() {
    }
}
