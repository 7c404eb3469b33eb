package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.demo.core.testing.Fixtures;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Preprocessing of full-size photos in Java equals fsplit_mobile.runtime.preprocess (Pillow resize +
 * InputConverter) bit for bit, and the encoder fed with the Java tensor gives Python's symbols. The photos and
 * Python's outputs are written by tests/bench/test_android_core.py into -Dfsplit.parity:
 * NAME.ppm (original), NAME.resized.ppm, NAME.input.f32 (model input, little-endian), NAME.symbols.i32.
 */
@Tag(Fixtures.TAG)
class PythonParityTest {
    static String[] names(File dir) {
        String[] names = dir.list((d, n) -> n.endsWith(".resized.ppm"));
        assertTrue(names != null && names.length > 0, "no photos in " + dir);
        for (int i = 0; i < names.length; i++) names[i] = names[i].substring(0, names[i].length() - ".resized.ppm".length());
        return names;
    }

    @Test
    void resizeAndTensorEqualPython() throws Exception {
        File dir = Fixtures.file("fsplit.parity");
        Manifest m = Manifest.load(Fixtures.artifact());
        Preprocessor pre = new Preprocessor(m.input);
        for (String name : names(dir)) {
            RgbImage photo = Ppm.read(new File(dir, name + ".ppm"));
            assertTrue(photo.width != m.input.width() || photo.height != m.input.height(),
                    "the photo must need resizing");
            RgbImage resized = ImageResizer.resize(photo, m.input.width(), m.input.height(), m.input.resizeMethod);
            assertArrayEquals(Ppm.read(new File(dir, name + ".resized.ppm")).rgb, resized.rgb,
                    name + ": resized pixels differ from Pillow's");
            InputTensor x = pre.apply(photo);
            float[] expected = floats(new File(dir, name + ".input.f32"));
            assertEquals(expected.length, x.size());
            for (int i = 0; i < expected.length; i++) {
                if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(x.floats[i])) {
                    throw new AssertionError(name + ": tensor element " + i + " is " + x.floats[i] + ", Python has "
                            + expected[i]);
                }
            }
        }
    }

    @Test
    void encoderOnTheJavaTensorGivesPythonsSymbols() throws Exception {
        File dir = Fixtures.file("fsplit.parity");
        File art = Fixtures.artifact();
        Manifest m = Manifest.load(art);
        SymbolConverter toSymbols = new SymbolConverter(m.output, m.latent);
        try (Encoder enc = Fixtures.pythonEncoders().load(m, new File(art, m.file("encoder")), 0)) {
            for (String name : names(dir)) {
                InputTensor x = new Preprocessor(m.input).apply(Ppm.read(new File(dir, name + ".ppm")));
                int[] symbols = toSymbols.toSymbols(enc.run(x));
                assertArrayEquals(ints(new File(dir, name + ".symbols.i32")), symbols, name);
            }
        }
    }

    static float[] floats(File f) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f.toPath())).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    static int[] ints(File f) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f.toPath())).order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }
}
