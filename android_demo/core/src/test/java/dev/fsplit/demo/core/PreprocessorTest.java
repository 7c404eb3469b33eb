package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.fsplit.demo.core.testing.SampleManifest;
import org.junit.jupiter.api.Test;

class PreprocessorTest {
    private static RgbImage ramp(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 7);
        return new RgbImage(w, h, rgb);
    }

    @Test
    void nchwNormalisedInFloat32StepOrder() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        RgbImage img = ramp(6, 4);
        InputTensor t = new Preprocessor(m.input).apply(img);
        assertArrayEquals(new long[] {1, 3, 4, 6}, t.shape);
        assertNull(t.bytes);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 6; x++) {
                for (int c = 0; c < 3; c++) {
                    float v = img.get(x, y, c);
                    v /= 255f;
                    v -= m.input.mean[c];
                    v /= m.input.std[c];
                    assertEquals(v, t.floats[c * 24 + y * 6 + x]);
                }
            }
        }
    }

    @Test
    void nhwcInt8QuantizedAndClamped() throws Exception {
        String text = SampleManifest.json().replace("[1, 3, 4, 6]", "[1, 4, 6, 3]")
                .replace("\"NCHW\", \"color\"", "\"NHWC\", \"color\"")
                .replace("\"normalization_in_graph\": false, \"quantization\": null",
                        "\"normalization_in_graph\": true, \"quantization\": {\"scale\": 0.0025, \"zero_point\": -100, "
                                + "\"dtype\": \"int8\"}");
        Manifest m = Manifest.parse(text);
        RgbImage img = ramp(6, 4);
        InputTensor t = new Preprocessor(m.input).apply(img);
        assertEquals("int8", t.dtype);
        for (int p = 0; p < 24; p++) {
            for (int c = 0; c < 3; c++) {
                float v = (img.rgb[p * 3 + c] & 0xFF) / 255f;
                float q = (float) Math.rint(v / 0.0025f) - 100f;
                int expect = (int) Math.max(-128, Math.min(127, q));
                assertEquals(expect, t.bytes[p * 3 + c]);
            }
        }
        assertEquals(127, t.bytes[t.bytes.length - 1] & 0xFF, "bright pixels saturate at 127");
    }

    @Test
    void resizesOtherSizesAndConvertRefusesThem() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        Preprocessor p = new Preprocessor(m.input);
        assertEquals(72, p.apply(ramp(13, 9)).size());
        assertThrows(IllegalArgumentException.class, () -> p.convert(ramp(13, 9)));
        assertEquals(72, p.fromArgb(new int[6 * 4], 6, 4).size());
    }
}
