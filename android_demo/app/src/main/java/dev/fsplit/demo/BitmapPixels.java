package dev.fsplit.demo;

import android.content.ContentResolver;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.net.Uri;
import dev.fsplit.demo.core.RgbImage;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;

/** Bitmap <-> core glue: decode a picked photo, hand its ARGB pixels to the core. */
final class BitmapPixels {
    /** Photos larger than this (longest side) are decoded with power-of-two subsampling to bound memory. */
    static final int MAX_DECODE_SIDE = 2048;

    private BitmapPixels() {
    }

    static RgbImage toRgb(Bitmap bitmap) {
        Bitmap soft = bitmap.getConfig() == Bitmap.Config.ARGB_8888 ? bitmap
                : bitmap.copy(Bitmap.Config.ARGB_8888, false);
        int w = soft.getWidth();
        int h = soft.getHeight();
        int[] argb = new int[w * h];
        soft.getPixels(argb, 0, w, 0, 0, w, h);
        return RgbImage.fromArgb(argb, w, h);
    }

    /** Decode an image Uri (gallery pick) to a software ARGB_8888 bitmap. */
    static Bitmap decode(ContentResolver resolver, Uri uri) throws IOException {
        BitmapFactory.Options bounds = new BitmapFactory.Options();
        bounds.inJustDecodeBounds = true;
        try (InputStream in = open(resolver, uri)) {
            BitmapFactory.decodeStream(in, null, bounds);
        }
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
            throw new IOException("not a decodable image: " + uri);
        }
        int sample = 1;
        while (Math.max(bounds.outWidth, bounds.outHeight) / sample > MAX_DECODE_SIDE) {
            sample *= 2;
        }
        BitmapFactory.Options opts = new BitmapFactory.Options();
        opts.inSampleSize = sample;
        opts.inPreferredConfig = Bitmap.Config.ARGB_8888;
        try (InputStream in = open(resolver, uri)) {
            Bitmap bitmap = BitmapFactory.decodeStream(in, null, opts);
            if (bitmap == null) {
                throw new IOException("cannot decode " + uri);
            }
            return bitmap;
        }
    }

    private static InputStream open(ContentResolver resolver, Uri uri) throws IOException {
        InputStream in = resolver.openInputStream(uri);
        if (in == null) {
            throw new FileNotFoundException("cannot open " + uri);
        }
        return in;
    }
}
