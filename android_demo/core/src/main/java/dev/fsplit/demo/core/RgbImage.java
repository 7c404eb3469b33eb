package dev.fsplit.demo.core;

/** An 8-bit RGB picture, pixels interleaved row by row (R, G, B per pixel), as decoded from a photo. */
public final class RgbImage {
    public final int width;
    public final int height;
    /** width * height * 3 bytes, read as unsigned. */
    public final byte[] rgb;

    public RgbImage(int width, int height, byte[] rgb) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("an " + width + "x" + height + " RGB image needs "
                    + ((long) width * height * 3) + " bytes, got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /**
     * From packed ARGB pixels (android.graphics.Bitmap#getPixels order: row by row, 0xAARRGGBB). Alpha is
     * dropped, as Pillow's convert("RGB") does.
     */
    public static RgbImage fromArgb(int[] argb, int width, int height) {
        if (argb.length != (long) width * height) {
            throw new IllegalArgumentException("an " + width + "x" + height + " image needs " + ((long) width * height)
                    + " ARGB pixels, got " + argb.length);
        }
        byte[] rgb = new byte[argb.length * 3];
        for (int i = 0, j = 0; i < argb.length; i++, j += 3) {
            int p = argb[i];
            rgb[j] = (byte) (p >>> 16);
            rgb[j + 1] = (byte) (p >>> 8);
            rgb[j + 2] = (byte) p;
        }
        return new RgbImage(width, height, rgb);
    }

    /** Unsigned value of channel c (0 R, 1 G, 2 B) at (x, y). */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }
}
