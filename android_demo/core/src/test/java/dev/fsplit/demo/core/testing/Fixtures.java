package dev.fsplit.demo.core.testing;

import static org.junit.jupiter.api.Assertions.fail;

import dev.fsplit.demo.core.EncoderException;
import dev.fsplit.demo.core.EncoderLoader;
import java.io.File;

/**
 * Inputs that tests/bench/test_android_core.py prepares and passes as system properties (tests tagged
 * "pytest-fixtures"): a real exported artifact, Python's outputs to compare with, a running fsplit-serve.
 */
public final class Fixtures {
    public static final String TAG = "pytest-fixtures";

    private Fixtures() {
    }

    public static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            fail("system property " + name + " is not set: run these tests through tests/bench/test_android_core.py");
        }
        return value;
    }

    public static File file(String name) {
        File f = new File(property(name));
        if (!f.exists()) {
            fail(name + " = " + f + " does not exist");
        }
        return f;
    }

    /** The real exported artifact folder. */
    public static File artifact() {
        return file("fsplit.artifact");
    }

    /** Loads encoders as the app would, but runs the encoder file in Python's ExecuTorch runtime. */
    public static EncoderLoader pythonEncoders() {
        String python = property("fsplit.python");
        File helper = file("fsplit.encoderHelper");
        return (manifest, encoderFile, threads) -> {
            if (!encoderFile.isFile()) {
                throw new EncoderException("encoder file " + encoderFile + " does not exist");
            }
            return new PythonProcessEncoder(python, helper, encoderFile.getParentFile());
        };
    }
}
