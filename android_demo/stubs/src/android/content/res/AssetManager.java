package android.content.res;

import java.io.IOException;
import java.io.InputStream;

/** STUB (not Android). */
public final class AssetManager {
    private AssetManager() { }

    public String[] list(String path) throws IOException { throw new RuntimeException("Stub!"); }
    public InputStream open(String fileName) throws IOException { throw new RuntimeException("Stub!"); }
}
