package android.content;

import android.content.res.AssetManager;
import java.io.File;

/** STUB (not Android): compile-only declaration of the members the demo uses. */
public abstract class Context {
    public static final int MODE_PRIVATE = 0;

    public AssetManager getAssets() { throw new RuntimeException("Stub!"); }
    public File getFilesDir() { throw new RuntimeException("Stub!"); }
    public File getExternalFilesDir(String type) { throw new RuntimeException("Stub!"); }
    public ContentResolver getContentResolver() { throw new RuntimeException("Stub!"); }
    public SharedPreferences getSharedPreferences(String name, int mode) { throw new RuntimeException("Stub!"); }
}
