package dev.fsplit.demo.core;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;

/** Binary PPM (P6, maxval 255): how fsplit-bench hands already-resized images to a device runner. */
public final class Ppm {
    private Ppm() {
    }

    /** A file is not a binary PPM with maxval 255. */
    public static final class PpmException extends IOException {
        public PpmException(String message) {
            super(message);
        }
    }

    public static RgbImage read(File file) throws IOException {
        return parse(Files.readAllBytes(file.toPath()), file.toString());
    }

    public static RgbImage parse(byte[] data, String name) throws PpmException {
        String[] fields = new String[4];
        int pos = 0;
        int count = 0;
        while (count < 4) {
            while (pos < data.length && isSpace(data[pos])) pos++;
            if (pos < data.length && data[pos] == '#') {
                while (pos < data.length && data[pos] != '\n') pos++;
                continue;
            }
            int start = pos;
            while (pos < data.length && !isSpace(data[pos])) pos++;
            if (start == pos) {
                throw new PpmException(name + ": truncated PPM header");
            }
            fields[count++] = new String(data, start, pos - start, java.nio.charset.StandardCharsets.US_ASCII);
        }
        pos++; // exactly one whitespace byte ends the header
        if (!"P6".equals(fields[0])) {
            throw new PpmException(name + ": not a binary PPM (magic '" + fields[0] + "', expected 'P6')");
        }
        int width;
        int height;
        int maxval;
        try {
            width = Integer.parseInt(fields[1]);
            height = Integer.parseInt(fields[2]);
            maxval = Integer.parseInt(fields[3]);
        } catch (NumberFormatException e) {
            throw new PpmException(name + ": non-numeric PPM header");
        }
        if (maxval != 255 || width <= 0 || height <= 0 || (long) width * height > (1L << 28)) {
            throw new PpmException(name + ": unsupported PPM (width " + width + ", height " + height + ", maxval "
                    + maxval + ")");
        }
        int need = width * height * 3;
        if (data.length - pos < need) {
            throw new PpmException(name + ": PPM pixel data truncated (" + Math.max(0, data.length - pos) + " of "
                    + need + " bytes)");
        }
        byte[] rgb = new byte[need];
        System.arraycopy(data, pos, rgb, 0, need);
        return new RgbImage(width, height, rgb);
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == 0x0b || b == 0x0c;
    }
}
