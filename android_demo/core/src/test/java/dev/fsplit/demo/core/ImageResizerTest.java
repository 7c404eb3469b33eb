package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ImageResizerTest {
    private static RgbImage gray(int w, int h, int... values) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            for (int c = 0; c < 3; c++) rgb[i * 3 + c] = (byte) values[i];
        }
        return new RgbImage(w, h, rgb);
    }

    @Test
    void sameSizeIsACopy() {
        RgbImage in = gray(2, 2, 1, 2, 3, 4);
        RgbImage out = ImageResizer.resize(in, 2, 2, "bilinear");
        assertArrayEquals(in.rgb, out.rgb);
        assertNotSame(in.rgb, out.rgb);
    }

    @Test
    void shrinkingWidensTheKernelAsPillowDoes() {
        // Shrinking 4 -> 2 widens the triangle to the scale; clipped at the edges, the taps weigh 3/7, 3/7, 1/7.
        // Pillow 13 gives [71, 209] for this row.
        RgbImage out = ImageResizer.resize(gray(4, 1, 0, 100, 200, 255), 2, 1, "bilinear");
        assertEquals(71, out.get(0, 0, 0)); // (0*3 + 100*3 + 200*1) / 7 = 71.4
        assertEquals(209, out.get(1, 0, 0)); // (100*1 + 200*3 + 255*3) / 7 = 209.3
    }

    @Test
    void boxFilterRoundsAfterEachPass() {
        RgbImage in = gray(4, 2, 10, 20, 30, 41, 50, 60, 70, 80);
        RgbImage out = ImageResizer.resize(in, 2, 1, "box");
        // Each pass rounds to 8 bits (as Pillow: [35, 56]): (10+20)/2=15, (50+60)/2=55 -> 35;
        // (30+41)/2=35.5 -> 36, (70+80)/2=75 -> (36+75)/2=55.5 -> 56.
        assertEquals(35, out.get(0, 0, 0));
        assertEquals(56, out.get(1, 0, 0));
    }

    @Test
    void upscalingAConstantImageKeepsIt() {
        RgbImage in = gray(3, 2, 77, 77, 77, 77, 77, 77);
        for (String m : new String[] {"bilinear", "bicubic", "lanczos", "box", "nearest"}) {
            RgbImage out = ImageResizer.resize(in, 7, 5, m);
            for (byte b : out.rgb) assertEquals(77, b & 0xFF, m);
        }
    }

    @Test
    void channelsStayApart() {
        byte[] rgb = {(byte) 255, 0, 0, 0, (byte) 255, 0};
        RgbImage out = ImageResizer.resize(new RgbImage(2, 1, rgb), 1, 1, "bilinear");
        assertEquals(128, out.get(0, 0, 0));
        assertEquals(128, out.get(0, 0, 1));
        assertEquals(0, out.get(0, 0, 2));
    }

    @Test
    void refusesUnknownMethodAndBadSize() {
        RgbImage in = gray(2, 1, 0, 0);
        assertThrows(IllegalArgumentException.class, () -> ImageResizer.resize(in, 1, 1, "area"));
        assertThrows(IllegalArgumentException.class, () -> ImageResizer.resize(in, 0, 1, "bilinear"));
        assertThrows(IllegalArgumentException.class, () -> new RgbImage(2, 2, new byte[5]));
        assertThrows(IllegalArgumentException.class, () -> RgbImage.fromArgb(new int[3], 2, 2));
    }

    @Test
    void argbDropsAlpha() {
        RgbImage img = RgbImage.fromArgb(new int[] {0x80FF1020}, 1, 1);
        assertEquals(0xFF, img.get(0, 0, 0));
        assertEquals(0x10, img.get(0, 0, 1));
        assertEquals(0x20, img.get(0, 0, 2));
    }
}
