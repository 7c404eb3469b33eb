package android.graphics;

import java.io.InputStream;

/** STUB (not Android). */
public class BitmapFactory {
    public static class Options {
        public boolean inJustDecodeBounds;
        public int inSampleSize;
        public Bitmap.Config inPreferredConfig;
        public int outWidth;
        public int outHeight;
    }

    public static Bitmap decodeStream(InputStream is, Rect outPadding, Options opts) {
        throw new RuntimeException("Stub!");
    }
}
