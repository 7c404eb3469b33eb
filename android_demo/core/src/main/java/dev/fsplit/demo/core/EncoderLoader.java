package dev.fsplit.demo.core;

import java.io.File;

/** Opens the artifact's encoder file (ExecuTorch Module on the phone, a stand-in in JVM tests). */
public interface EncoderLoader {
    /** threads: 0 lets the runtime choose. */
    Encoder load(Manifest manifest, File encoderFile, int threads) throws EncoderException;
}
