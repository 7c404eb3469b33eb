package android.graphics;

/** STUB (not Android). */
public final class Bitmap {
    public enum Config { ALPHA_8, RGB_565, ARGB_4444, ARGB_8888, RGBA_F16, HARDWARE }

    private Bitmap() { }

    public Config getConfig() { throw new RuntimeException("Stub!"); }
    public Bitmap copy(Config config, boolean isMutable) { throw new RuntimeException("Stub!"); }
    public int getWidth() { throw new RuntimeException("Stub!"); }
    public int getHeight() { throw new RuntimeException("Stub!"); }
    public void getPixels(int[] pixels, int offset, int stride, int x, int y, int width, int height) {
        throw new RuntimeException("Stub!");
    }
}
