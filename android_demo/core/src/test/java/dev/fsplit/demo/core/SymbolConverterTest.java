package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.fsplit.demo.core.testing.SampleManifest;
import org.junit.jupiter.api.Test;

class SymbolConverterTest {
    private static final long[] ANY = {12};

    @Test
    void symbolsPassThroughAndNhwcIsTransposed() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        int[] chw = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15};
        assertArrayEquals(chw, new SymbolConverter(m.output, m.latent).toSymbols(EncoderOutput.ofInts(ANY, chw)));
        Manifest nhwc = Manifest.parse(SampleManifest.json().replace("\"layout\": \"NCHW\", \"quantization\": null}",
                "\"layout\": \"NHWC\", \"quantization\": null}"));
        int[] hwc = {0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15};
        assertArrayEquals(chw, new SymbolConverter(nhwc.output, nhwc.latent).toSymbols(EncoderOutput.ofInts(ANY, hwc)));
    }

    @Test
    void latentMinusMedianRoundsHalfToEven() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json().replace("\"kind\": \"symbols\"", "\"kind\": \"latent\""));
        // medians 0.25 (channel 0) and -1.5 (channel 1)
        float[] y = {0.75f, 1.75f, -0.25f, 2.75f, 0.25f, 100.0f, -2.0f, -1.0f, 0.0f, -3.5f, 1.0f, -1.5f};
        int[] expect = {0, 2, 0, 2, 0, 100, 0, 0, 2, -2, 2, 0};
        assertArrayEquals(expect, new SymbolConverter(m.output, m.latent).toSymbols(EncoderOutput.ofFloats(ANY, y)));
    }

    @Test
    void quantizedLatentIsDequantizedFirst() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json().replace("\"kind\": \"symbols\"", "\"kind\": \"latent\"")
                .replace("\"layout\": \"NCHW\", \"quantization\": null}",
                        "\"layout\": \"NCHW\", \"quantization\": {\"scale\": 0.5, \"zero_point\": 3, \"dtype\": \"int8\"}}"));
        byte[] q = {3, 5, 7, 1, -1, 9, 3, 5, 7, 1, -1, 9};
        // (q - 3) * 0.5 - median, rounded half to even
        int[] expect = {0, 1, 2, -1, -2, 3, 2, 2, 4, 0, 0, 4};
        assertArrayEquals(expect, new SymbolConverter(m.output, m.latent)
                .toSymbols(EncoderOutput.ofBytes(ANY, "int8", q)));
    }

    @Test
    void wrongSizeOrTypeIsAnEncoderError() throws Exception {
        Manifest m = Manifest.parse(SampleManifest.json());
        SymbolConverter conv = new SymbolConverter(m.output, m.latent);
        assertThrows(EncoderException.class, () -> conv.toSymbols(EncoderOutput.ofInts(ANY, new int[11])));
        assertThrows(EncoderException.class, () -> conv.toSymbols(EncoderOutput.ofFloats(ANY, new float[12])));
    }
}
