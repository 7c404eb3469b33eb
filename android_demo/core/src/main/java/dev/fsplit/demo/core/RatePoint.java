package dev.fsplit.demo.core;

import dev.fsplit.demo.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One rate point of a variable bit-rate artifact (docs/artifact.md "rate_points"): its index (the stream
 * container's flags bits 8-15), name, files and the mean stream size measured at export. An artifact without
 * {@code rate_points} is one rate point, index 0, described by the manifest's top level.
 */
public final class RatePoint {
    public static final int MAX_INDEX = 255;

    public final int index;
    public final String name;
    public final String encoderFile;
    public final String tablesFile;
    public final String tablesContentHash;
    /** Mean stream bytes on the export's evaluation images; NaN when not measured. */
    public final double expectedBytes;

    public RatePoint(int index, String name, String encoderFile, String tablesFile, String tablesContentHash,
                     double expectedBytes) {
        if (index < 0 || index > MAX_INDEX) {
            throw new IllegalArgumentException("rate point index must be in 0.." + MAX_INDEX + ", got " + index);
        }
        this.index = index;
        this.name = name;
        this.encoderFile = encoderFile;
        this.tablesFile = tablesFile;
        this.tablesContentHash = tablesContentHash;
        this.expectedBytes = expectedBytes;
    }

    public boolean measured() {
        return !Double.isNaN(expectedBytes);
    }

    @Override
    public String toString() {
        return "rate point " + index + " (" + name + ", " + (measured() ? expectedBytes + " B" : "unmeasured") + ")";
    }

    /** The manifest's rate points, or the single point 0 of the top level; indices distinct, 0 present. */
    static List<RatePoint> parseAll(JsonObject root, Map<String, String> files, String tablesFile, String tablesHash)
            throws ManifestException {
        if (root.isNull("rate_points")) {
            return Collections.singletonList(new RatePoint(0, "default", files.get("encoder"), tablesFile,
                    tablesHash, Double.NaN));
        }
        List<RatePoint> out = new ArrayList<>();
        Set<Integer> seen = new HashSet<>();
        List<JsonObject> entries = entries(root);
        if (entries.isEmpty()) {
            throw new ManifestException("rate_points must not be empty");
        }
        for (JsonObject e : entries) {
            int index = e.getInt("index");
            if (index < 0 || index > MAX_INDEX) {
                throw new ManifestException(e.path() + ".index must be in 0.." + MAX_INDEX + ", got " + index);
            }
            if (!seen.add(index)) {
                throw new ManifestException("rate point index " + index + " listed twice");
            }
            JsonObject f = e.getObject("files");
            JsonObject tables = e.getObject("tables");
            JsonObject measured = e.optObject("measured");
            double bytes = measured == null || measured.isNull("bytes_mean") ? Double.NaN
                    : measured.getDouble("bytes_mean");
            out.add(new RatePoint(index, e.getString("name"), f.getString("encoder"),
                    tables.optString("file", f.getString("tables")), tables.optString("content_hash", null), bytes));
        }
        if (!seen.contains(0)) {
            throw new ManifestException("rate_points has no index 0 (the top level is rate point 0)");
        }
        return Collections.unmodifiableList(out);
    }

    @SuppressWarnings("unchecked")
    static List<JsonObject> entries(JsonObject root) throws ManifestException {
        List<JsonObject> out = new ArrayList<>();
        List<Object> list = root.getList("rate_points");
        for (int i = 0; i < list.size(); i++) {
            Object o = list.get(i);
            if (!(o instanceof Map)) {
                throw new ManifestException("rate_points[" + i + "] must be an object");
            }
            out.add(new JsonObject((Map<String, Object>) o, "rate_points[" + i + "]"));
        }
        return out;
    }
}
