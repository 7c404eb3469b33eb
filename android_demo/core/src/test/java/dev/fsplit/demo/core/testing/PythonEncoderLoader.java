package dev.fsplit.demo.core.testing;

import dev.fsplit.demo.core.Encoder;
import dev.fsplit.demo.core.EncoderException;
import dev.fsplit.demo.core.EncoderLoader;
import dev.fsplit.demo.core.Manifest;
import java.io.File;

/**
 * Test stand-in for the app's ExecuTorch encoder loader, for BenchmarkMode.main on a plain JVM
 * (-Dfsplit.encoderLoader=dev.fsplit.demo.core.testing.PythonEncoderLoader): the .pte runs in ExecuTorch's Python
 * runtime via {@link PythonProcessEncoder}. Needs -Dfsplit.python and -Dfsplit.encoderHelper.
 */
public final class PythonEncoderLoader implements EncoderLoader {
    @Override
    public Encoder load(Manifest manifest, File encoderFile, int threads) throws EncoderException {
        String python = System.getProperty("fsplit.python");
        String helper = System.getProperty("fsplit.encoderHelper");
        if (python == null || helper == null) {
            throw new EncoderException("set -Dfsplit.python and -Dfsplit.encoderHelper for the Python encoder stand-in");
        }
        if (!encoderFile.isFile()) {
            throw new EncoderException("encoder file " + encoderFile + " does not exist");
        }
        return new PythonProcessEncoder(python, new File(helper), encoderFile.getParentFile());
    }
}
