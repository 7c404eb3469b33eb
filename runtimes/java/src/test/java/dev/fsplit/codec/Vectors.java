package dev.fsplit.codec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Reader of runtimes/conformance/vectors.txt (format in its header); path from -Dfsplit.vectors. */
final class Vectors {
    static final class Encode {
        String name;
        String table;
        int[] indexes;
        int[] symbols;
        byte[] bytes;
    }

    static final class Reject {
        String name;
        String table;
        int[] indexes;
        byte[] bytes;
        String kind;
    }

    static final class Latent {
        String name;
        String table;
        int channels;
        int height;
        int width;
        int[] symbols;
        byte[] bytes;
        Container.Format format = Container.Format.SINGLE; // "stream" records name it, "latent" ones are single
    }

    static final class LatentReject {
        String name;
        String table;
        byte[] bytes;
        String kind;
    }

    final Map<String, CodecTables> tables = new HashMap<>();
    final Map<String, byte[]> tableFiles = new HashMap<>();
    final List<Encode> encode = new ArrayList<>();
    final List<Reject> reject = new ArrayList<>();
    final List<Latent> latent = new ArrayList<>();
    final List<LatentReject> latentReject = new ArrayList<>();

    static Path path() {
        return Paths.get(System.getProperty("fsplit.vectors", "../conformance/vectors.txt"));
    }

    static Vectors load() throws IOException, CodecException {
        Path file = path();
        List<String> tokens = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.trim().startsWith("#")) {
                continue;
            }
            for (String t : line.trim().split("\\s+")) {
                if (!t.isEmpty()) {
                    tokens.add(t);
                }
            }
        }
        Iterator<String> it = tokens.iterator();
        if (!it.next().equals("fsplit-rans-vectors") || !it.next().equals("1")) {
            throw new IOException("not a version-1 vectors file");
        }
        Vectors v = new Vectors();
        while (true) {
            String kind = it.next();
            if (kind.equals("end")) {
                return v;
            }
            String name = it.next();
            switch (kind) {
                case "table": {
                    byte[] data = Files.readAllBytes(file.resolveSibling(it.next()));
                    v.tableFiles.put(name, data);
                    v.tables.put(name, CodecTables.read(data));
                    break;
                }
                case "encode": {
                    Encode e = new Encode();
                    e.name = name;
                    e.table = it.next();
                    int n = Integer.parseInt(it.next());
                    e.indexes = ints(it, n);
                    e.symbols = ints(it, n);
                    e.bytes = hex(it.next());
                    v.encode.add(e);
                    break;
                }
                case "reject": {
                    Reject r = new Reject();
                    r.name = name;
                    r.table = it.next();
                    int n = Integer.parseInt(it.next());
                    r.kind = it.next();
                    r.indexes = ints(it, n);
                    r.bytes = hex(it.next());
                    v.reject.add(r);
                    break;
                }
                case "latent": {
                    Latent l = new Latent();
                    l.name = name;
                    l.table = it.next();
                    l.channels = Integer.parseInt(it.next());
                    l.height = Integer.parseInt(it.next());
                    l.width = Integer.parseInt(it.next());
                    l.symbols = ints(it, l.channels * l.height * l.width);
                    l.bytes = hex(it.next());
                    v.latent.add(l);
                    break;
                }
                case "stream": {
                    Latent l = new Latent();
                    l.name = name;
                    l.table = it.next();
                    String format = it.next();
                    int lanes = Integer.parseInt(it.next());
                    int ratePoint = Integer.parseInt(it.next());
                    l.format = new Container.Format(format.equals("interleaved2") ? Container.FORMAT_INTERLEAVED2
                            : format.equals("interleaved") ? Container.FORMAT_INTERLEAVED
                            : Container.FORMAT_SINGLE, lanes, ratePoint);
                    l.channels = Integer.parseInt(it.next());
                    l.height = Integer.parseInt(it.next());
                    l.width = Integer.parseInt(it.next());
                    l.symbols = ints(it, l.channels * l.height * l.width);
                    l.bytes = hex(it.next());
                    v.latent.add(l);
                    break;
                }
                case "latent-reject": {
                    LatentReject r = new LatentReject();
                    r.name = name;
                    r.table = it.next();
                    r.kind = it.next();
                    r.bytes = hex(it.next());
                    v.latentReject.add(r);
                    break;
                }
                default:
                    throw new IOException("unknown record " + kind);
            }
        }
    }

    private static int[] ints(Iterator<String> it, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = Integer.parseInt(it.next());
        }
        return out;
    }

    static byte[] hex(String s) {
        if (s.equals("-")) {
            return new byte[0];
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
