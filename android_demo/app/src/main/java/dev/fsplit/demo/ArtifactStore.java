package dev.fsplit.demo;

import android.content.Context;
import android.content.res.AssetManager;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * The artifact bundled in the APK's assets/artifact/ (put there by scripts/import_artifact.py) is copied to the
 * app's files dir on first use, since ExecuTorch loads a .pte from a file path.
 */
final class ArtifactStore {
    static final String ASSET_DIR = "artifact";

    private ArtifactStore() {
    }

    /** Folder holding the bundled artifact, copied out of the APK when missing or changed. */
    static File bundledArtifact(Context context) throws IOException {
        AssetManager assets = context.getAssets();
        String[] names = assets.list(ASSET_DIR);
        if (names == null || !Arrays.asList(names).contains("manifest.json")) {
            throw new IOException("no artifact bundled in assets/" + ASSET_DIR + "/ (run android_demo/scripts/"
                    + "import_artifact.py before building, or start the app with --es artifact DIR)");
        }
        File dir = new File(context.getFilesDir(), ASSET_DIR);
        File manifest = new File(dir, "manifest.json");
        if (manifest.isFile() && Arrays.equals(readAsset(assets, ASSET_DIR + "/manifest.json"),
                java.nio.file.Files.readAllBytes(manifest.toPath()))) {
            return dir;
        }
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create " + dir);
        }
        // manifest.json last: a half-copied folder never looks complete.
        for (String name : names) {
            if (!name.equals("manifest.json")) {
                copy(assets, ASSET_DIR + "/" + name, new File(dir, name));
            }
        }
        copy(assets, ASSET_DIR + "/manifest.json", manifest);
        return dir;
    }

    private static byte[] readAsset(AssetManager assets, String path) throws IOException {
        try (InputStream in = assets.open(path)) {
            java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = in.read(chunk)) > 0) {
                buf.write(chunk, 0, n);
            }
            return buf.toByteArray();
        }
    }

    private static void copy(AssetManager assets, String path, File dest) throws IOException {
        File tmp = new File(dest.getPath() + ".part");
        try (InputStream in = assets.open(path); OutputStream out = new FileOutputStream(tmp)) {
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = in.read(chunk)) > 0) {
                out.write(chunk, 0, n);
            }
        }
        if (!tmp.renameTo(dest)) {
            throw new IOException("cannot move " + tmp + " to " + dest);
        }
    }
}
