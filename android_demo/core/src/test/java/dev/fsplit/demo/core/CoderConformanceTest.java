package dev.fsplit.demo.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fsplit.codec.CodecTables;
import dev.fsplit.demo.core.testing.SampleManifest;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The app's coding path (JavaCoderLoader + JavaLatentCoder over runtimes/java) reproduces every latent container
 * of runtimes/conformance/vectors.txt byte for byte. Path: -Dfsplit.vectors (default: relative to android_demo/core,
 * the Gradle test working directory).
 */
class CoderConformanceTest {
    static File vectorsFile() {
        File f = new File(System.getProperty("fsplit.vectors", "../../runtimes/conformance/vectors.txt"));
        assertTrue(f.isFile(), "conformance vectors not found at " + f.getAbsolutePath()
                + " (set -Dfsplit.vectors)");
        return f;
    }

    /** The "table" and "latent" entries of the vectors file (other kinds are skipped). */
    static final class Vectors {
        final Map<String, File> tables = new HashMap<>();
        final List<Object[]> latents = new ArrayList<>(); // name, table, C, H, W, int[] symbols, byte[] container

        Vectors(File file) throws Exception {
            List<String> tokens = new ArrayList<>();
            for (String line : Files.readAllLines(file.toPath(), StandardCharsets.UTF_8)) {
                if (line.trim().startsWith("#")) continue;
                for (String t : line.trim().split("\\s+")) {
                    if (!t.isEmpty()) tokens.add(t);
                }
            }
            assertEquals("fsplit-rans-vectors", tokens.get(0));
            int i = 2;
            while (i < tokens.size()) {
                String kind = tokens.get(i);
                switch (kind) {
                    case "table":
                        tables.put(tokens.get(i + 1), new File(file.getParentFile(), tokens.get(i + 2)));
                        i += 3;
                        break;
                    case "encode": {
                        int n = Integer.parseInt(tokens.get(i + 3));
                        i += 4 + 2 * n + 1;
                        break;
                    }
                    case "reject": {
                        int n = Integer.parseInt(tokens.get(i + 3));
                        i += 5 + n + 1;
                        break;
                    }
                    case "latent": {
                        int c = Integer.parseInt(tokens.get(i + 3));
                        int h = Integer.parseInt(tokens.get(i + 4));
                        int w = Integer.parseInt(tokens.get(i + 5));
                        int[] symbols = new int[c * h * w];
                        for (int k = 0; k < symbols.length; k++) symbols[k] = Integer.parseInt(tokens.get(i + 6 + k));
                        byte[] expected = hex(tokens.get(i + 6 + symbols.length));
                        latents.add(new Object[] {tokens.get(i + 1), tokens.get(i + 2), c, h, w, symbols, expected});
                        i += 7 + symbols.length;
                        break;
                    }
                    case "latent-reject":
                        i += 5;
                        break;
                    case "stream": { // version 2 containers (rate point, interleaved payload): the app writes v1
                        int n = Integer.parseInt(tokens.get(i + 6)) * Integer.parseInt(tokens.get(i + 7))
                                * Integer.parseInt(tokens.get(i + 8));
                        i += 9 + n + 1;
                        break;
                    }
                    case "end":
                        i = tokens.size();
                        break;
                    default:
                        throw new AssertionError("unknown vector kind '" + kind + "' at token " + i);
                }
            }
        }
    }

    static byte[] hex(String s) {
        if (s.equals("-")) return new byte[0];
        byte[] out = new byte[s.length() / 2];
        for (int k = 0; k < out.length; k++) out[k] = (byte) Integer.parseInt(s.substring(2 * k, 2 * k + 2), 16);
        return out;
    }

    @Test
    void everyLatentVectorIsReproduced() throws Exception {
        Vectors v = new Vectors(vectorsFile());
        assertTrue(v.latents.size() >= 2, "expected latent vectors in " + vectorsFile());
        for (Object[] lat : v.latents) {
            CodecTables t = CodecTables.read(Files.readAllBytes(v.tables.get((String) lat[1]).toPath()));
            byte[] got = new JavaLatentCoder(t).encode((int[]) lat[5], (int) lat[2], (int) lat[3], (int) lat[4]);
            assertArrayEquals((byte[]) lat[6], got, "vector " + lat[0]);
        }
    }

    @Test
    void loaderChecksTheManifestsTablesHash(@TempDir File tmp) throws Exception {
        Vectors v = new Vectors(vectorsFile());
        File tablesFile = v.tables.get("frankensplit");
        CodecTables t = CodecTables.read(Files.readAllBytes(tablesFile.toPath()));
        Manifest good = Manifest.parse(SampleManifest.withLatent(t.numChannels(), 2, 3, t.contentHashHex()));
        LatentCoder coder = new JavaCoderLoader().load(good, tablesFile);
        assertEquals(t.contentHashHex(), coder.tablesHashHex());

        Manifest otherHash = Manifest.parse(SampleManifest.withLatent(t.numChannels(), 2, 3, "00ff"));
        CodingException e = assertThrows(CodingException.class, () -> new JavaCoderLoader().load(otherHash, tablesFile));
        assertTrue(e.getMessage().contains("content hash"), e.getMessage());

        Manifest otherChannels = Manifest.parse(SampleManifest.withLatent(t.numChannels() + 1, 2, 3,
                t.contentHashHex()));
        assertThrows(CodingException.class, () -> new JavaCoderLoader().load(otherChannels, tablesFile));

        File garbage = new File(tmp, "garbage.fsct");
        Files.write(garbage.toPath(), new byte[] {'F', 'S', 'C', 'T', 1, 0});
        CodingException bad = assertThrows(CodingException.class, () -> new JavaCoderLoader().load(good, garbage));
        assertTrue(bad.getMessage().contains("garbage.fsct"), bad.getMessage());
        assertThrows(CodingException.class, () -> new JavaCoderLoader().load(good, new File(tmp, "missing.fsct")));
    }

    @Test
    void symbolsTheTablesCannotCodeAreACodingError() throws Exception {
        Vectors v = new Vectors(vectorsFile());
        CodecTables t = CodecTables.read(Files.readAllBytes(v.tables.get("frankensplit").toPath()));
        JavaLatentCoder coder = new JavaLatentCoder(t);
        assertThrows(CodingException.class, () -> coder.encode(new int[5], t.numChannels(), 1, 1));
    }
}
