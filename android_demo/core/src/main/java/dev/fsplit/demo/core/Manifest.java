package dev.fsplit.demo.core;

import dev.fsplit.codec.Container;
import dev.fsplit.demo.core.json.JsonException;
import dev.fsplit.demo.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The artifact contract, manifest.json schema {@code fsplit-artifact/1} (docs/artifact.md), as this app needs it. */
public final class Manifest {
    public static final String SCHEMA = "fsplit-artifact/1";

    /** Input or output quantization of the model file: real = (q - zeroPoint) * scale. */
    public static final class Quantization {
        public final float scale;
        public final int zeroPoint;
        public final String dtype;

        Quantization(float scale, int zeroPoint, String dtype) {
            this.scale = scale;
            this.zeroPoint = zeroPoint;
            this.dtype = dtype;
        }
    }

    /** How a picture becomes the encoder's input tensor. */
    public static final class InputSpec {
        public final String name;
        public final int[] shape;
        public final String dtype;
        public final String layout;
        public final String color;
        public final int resizeWidth;
        public final int resizeHeight;
        public final String resizeMethod;
        public final float[] valueRange;
        public final float[] mean;
        public final float[] std;
        public final boolean normalizationInGraph;
        public final Quantization quantization;

        InputSpec(String name, int[] shape, String dtype, String layout, String color, int resizeWidth,
                  int resizeHeight, String resizeMethod, float[] valueRange, float[] mean, float[] std,
                  boolean normalizationInGraph, Quantization quantization) {
            this.name = name;
            this.shape = shape;
            this.dtype = dtype;
            this.layout = layout;
            this.color = color;
            this.resizeWidth = resizeWidth;
            this.resizeHeight = resizeHeight;
            this.resizeMethod = resizeMethod;
            this.valueRange = valueRange;
            this.mean = mean;
            this.std = std;
            this.normalizationInGraph = normalizationInGraph;
            this.quantization = quantization;
        }

        /** Model input height (from shape and layout). */
        public int height() {
            return "NCHW".equals(layout) ? shape[2] : shape[1];
        }

        /** Model input width (from shape and layout). */
        public int width() {
            return "NCHW".equals(layout) ? shape[3] : shape[2];
        }
    }

    /** What the encoder returns: integer symbols, or a float latent the app turns into symbols. */
    public static final class OutputSpec {
        public final String name;
        public final String kind;
        public final int[] shape;
        public final String dtype;
        public final String layout;
        public final Quantization quantization;

        OutputSpec(String name, String kind, int[] shape, String dtype, String layout, Quantization quantization) {
            this.name = name;
            this.kind = kind;
            this.shape = shape;
            this.dtype = dtype;
            this.layout = layout;
            this.quantization = quantization;
        }
    }

    /** Latent geometry (channels x height x width) and per-channel medians. */
    public static final class LatentSpec {
        public final int channels;
        public final int height;
        public final int width;
        public final float[] medians;

        LatentSpec(int channels, int height, int width, float[] medians) {
            this.channels = channels;
            this.height = height;
            this.width = width;
            this.medians = medians;
        }

        public int size() {
            return channels * height * width;
        }
    }

    public final String modelId;
    public final String target;
    public final String quantization;
    /** Role (encoder, tables, server, labels) -> file name inside the artifact folder. */
    public final Map<String, String> files;
    public final InputSpec input;
    public final OutputSpec output;
    public final LatentSpec latent;
    public final String tablesFile;
    public final String tablesContentHash;
    public final int tablesPrecision;
    public final int numClasses;
    /** File name -> sha256 hex, as recorded at export time (may be empty). */
    public final Map<String, String> sha256;
    /** The rate points (docs/artifact.md "rate_points"); one, index 0, for an artifact without them. */
    public final List<RatePoint> ratePoints;
    /**
     * The stream payload to write (docs/artifact.md "payload"): "single", "interleaved" or "interleaved2"; "single"
     * for a manifest without the block.
     */
    public final String payloadFormat;
    /** Interleaved lanes of {@link #payloadFormat} (1 for the single stream). */
    public final int payloadLanes;
    /**
     * The rate point this manifest is a view of ({@code rate_point.index}: fsplit-bench run --rate-point ships one
     * point's view), written into every stream's header; 0 for a manifest without the field.
     */
    public final int viewRatePoint;
    private final JsonObject root;

    private Manifest(String modelId, String target, String quantization, Map<String, String> files,
                     InputSpec input, OutputSpec output, LatentSpec latent, String tablesFile,
                     String tablesContentHash, int tablesPrecision, int numClasses, Map<String, String> sha256,
                     List<RatePoint> ratePoints, JsonObject root) throws ManifestException {
        this.modelId = modelId;
        this.target = target;
        this.quantization = quantization;
        this.files = files;
        this.input = input;
        this.output = output;
        this.latent = latent;
        this.tablesFile = tablesFile;
        this.tablesContentHash = tablesContentHash;
        this.tablesPrecision = tablesPrecision;
        this.numClasses = numClasses;
        this.sha256 = sha256;
        this.ratePoints = ratePoints;
        this.root = root;
        String[] payload = parsePayload(root);
        this.viewRatePoint = parseViewRatePoint(root);
        this.payloadFormat = payload[0];
        this.payloadLanes = Integer.parseInt(payload[1]);
    }

    /** The container format this artifact's streams are written in at a rate point (its payload and lanes). */
    public Container.Format streamFormat(int ratePoint) {
        int fmt = "interleaved2".equals(payloadFormat) ? Container.FORMAT_INTERLEAVED2
                : "interleaved".equals(payloadFormat) ? Container.FORMAT_INTERLEAVED : Container.FORMAT_SINGLE;
        return new Container.Format(fmt, payloadLanes, ratePoint);
    }

    private static int parseViewRatePoint(JsonObject root) throws ManifestException {
        if (root.isNull("rate_point")) {
            return 0;
        }
        int index;
        try {
            index = root.getObject("rate_point").getInt("index");
        } catch (JsonException e) {
            throw new ManifestException(e.getMessage(), e);
        }
        if (index < 0 || index > 255) {
            throw new ManifestException("rate_point.index must be in 0..255, got " + index);
        }
        return index;
    }

    private static String[] parsePayload(JsonObject root) throws ManifestException {
        if (root.isNull("payload")) {
            return new String[] {"single", "1"};
        }
        JsonObject block;
        String format;
        int lanes;
        try {
            block = root.getObject("payload");
            format = block.getString("format");
            lanes = block.optInt("lanes", 1);
        } catch (JsonException e) {
            throw new ManifestException(e.getMessage(), e);
        }
        if ("single".equals(format)) {
            if (lanes != 1) {
                throw new ManifestException("payload.lanes must be 1 for the single stream, got " + lanes);
            }
        } else if ("interleaved".equals(format) || "interleaved2".equals(format)) {
            if (lanes != 8 && lanes != 16 && lanes != 32) {
                throw new ManifestException("payload.lanes must be 8, 16 or 32 for " + format + ", got " + lanes);
            }
        } else {
            throw new ManifestException("payload.format must be single, interleaved or interleaved2, got '" + format
                    + "'");
        }
        return new String[] {format, Integer.toString(lanes)};
    }

    /**
     * The manifest as seen at one rate point: that point's files, tables, latent, output and server at the top
     * level (what a {@link SplitPipeline} for that point needs; its coder writes the index into the container).
     */
    public Manifest atRatePoint(int index) throws ManifestException {
        if (root.isNull("rate_points")) {
            if (index == 0) {
                return this;
            }
            throw new ManifestException("no rate point " + index + " (the artifact has only rate point 0)");
        }
        for (JsonObject e : RatePoint.entries(root)) {
            if (e.getInt("index") == index) {
                Map<String, Object> view = new LinkedHashMap<>(root.raw());
                for (String key : new String[] {"files", "tables", "latent", "output", "server", "payload"}) {
                    if (e.has(key)) {
                        view.put(key, e.raw().get(key));
                    }
                }
                view.remove("rate_points");
                try {
                    return fromJson(new JsonObject(view, ""));
                } catch (JsonException ex) {
                    throw new ManifestException("rate point " + index + ": " + ex.getMessage(), ex);
                }
            }
        }
        throw new ManifestException("no rate point " + index + " in this artifact");
    }

    /** Read and validate {@code dir/manifest.json}. */
    public static Manifest load(File artifactDir) throws ManifestException {
        File file = new File(artifactDir, "manifest.json");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file.toPath());
        } catch (IOException e) {
            throw new ManifestException(file + ": cannot read (" + e + ")", e);
        }
        try {
            return parse(new String(bytes, StandardCharsets.UTF_8));
        } catch (ManifestException e) {
            throw new ManifestException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parse and validate manifest.json text. */
    public static Manifest parse(String text) throws ManifestException {
        try {
            return fromJson(JsonObject.parse(text));
        } catch (JsonException e) {
            throw new ManifestException(e.getMessage(), e);
        }
    }

    /** The file name for a role (encoder, tables, server, labels), or null when the artifact has none. */
    public String file(String role) {
        return files.get(role);
    }

    private static Manifest fromJson(JsonObject root) throws ManifestException {
        String schema = root.getString("schema");
        if (!SCHEMA.equals(schema)) {
            throw new ManifestException("unsupported manifest schema '" + schema + "' (this app reads " + SCHEMA + ")");
        }
        JsonObject filesObj = root.getObject("files");
        Map<String, String> files = new LinkedHashMap<>();
        for (String role : filesObj.raw().keySet()) {
            if (!filesObj.isNull(role)) {
                files.put(role, safeFileName(filesObj.getString(role), "files." + role));
            }
        }
        if (!files.containsKey("encoder")) {
            throw new ManifestException("missing field 'files.encoder'");
        }
        InputSpec input = parseInput(root.getObject("input"));
        LatentSpec latent = parseLatent(root.getObject("latent"));
        OutputSpec output = parseOutput(root.getObject("output"), latent);

        JsonObject tables = root.getObject("tables");
        String tablesFile = safeFileName(tables.optString("file", files.get("tables")), "tables.file");
        if (tablesFile == null) {
            throw new ManifestException("the manifest names no tables file (tables.file or files.tables)");
        }
        int precision = tables.optInt("precision", 16);
        JsonObject server = root.optObject("server");
        int numClasses = server == null ? 0 : server.optInt("num_classes", 0);

        Map<String, String> sha = new LinkedHashMap<>();
        JsonObject shaObj = root.optObject("sha256");
        if (shaObj != null) {
            for (String name : shaObj.raw().keySet()) {
                sha.put(name, shaObj.getString(name));
            }
        }
        return new Manifest(root.optString("model_id", "unknown"), root.getString("target"),
                root.optString("quantization", "none"), Collections.unmodifiableMap(files), input, output, latent,
                tablesFile, tables.optString("content_hash", null), precision, numClasses,
                Collections.unmodifiableMap(sha),
                RatePoint.parseAll(root, files, tablesFile, tables.optString("content_hash", null)), root);
    }

    private static String safeFileName(String name, String field) throws ManifestException {
        if (name == null) {
            return null;
        }
        if (name.isEmpty() || name.startsWith("/") || name.contains("..") || name.contains("\\")) {
            throw new ManifestException("field '" + field + "' must be a file name inside the artifact, got '"
                    + name + "'");
        }
        return name;
    }

    private static InputSpec parseInput(JsonObject in) throws ManifestException {
        int[] shape = in.getIntArray("shape");
        String layout = in.getString("layout");
        if (shape.length != 4 || shape[0] != 1) {
            throw new ManifestException("input.shape must be [1, ., ., .], got " + Arrays.toString(shape));
        }
        int channels;
        if ("NCHW".equals(layout)) {
            channels = shape[1];
        } else if ("NHWC".equals(layout)) {
            channels = shape[3];
        } else {
            throw new ManifestException("input.layout must be NCHW or NHWC, got '" + layout + "'");
        }
        if (channels != 3) {
            throw new ManifestException("input must have 3 channels, shape is " + Arrays.toString(shape));
        }
        for (int d : shape) {
            if (d <= 0) throw new ManifestException("input.shape has a non-positive size: " + Arrays.toString(shape));
        }
        String color = in.optString("color", "RGB");
        if (!"RGB".equals(color)) {
            throw new ManifestException("input.color must be RGB, got '" + color + "'");
        }
        String dtype = in.optString("dtype", "float32");
        Quantization quant = parseQuantization(in, "input");
        if (quant == null && !"float32".equals(dtype)) {
            throw new ManifestException("input.dtype must be float32 for an unquantized input, got '" + dtype + "'");
        }
        int height = "NCHW".equals(layout) ? shape[2] : shape[1];
        int width = "NCHW".equals(layout) ? shape[3] : shape[2];
        int resizeW = width;
        int resizeH = height;
        String method = "bilinear";
        JsonObject resize = in.optObject("resize");
        if (resize != null) {
            int[] size = resize.getIntArray("size");
            if (size.length != 2) {
                throw new ManifestException("input.resize.size must be [height, width], got " + Arrays.toString(size));
            }
            resizeH = size[0];
            resizeW = size[1];
            method = resize.optString("method", "bilinear");
        }
        if (resizeH != height || resizeW != width) {
            throw new ManifestException("input.resize.size " + resizeH + "x" + resizeW
                    + " differs from the model input " + height + "x" + width + " (no crop step is defined)");
        }
        if (!ImageResizer.isSupported(method)) {
            throw new ManifestException("input.resize.method '" + method + "' is not supported (supported: "
                    + ImageResizer.SUPPORTED + ")");
        }
        float[] range = in.has("value_range") ? toFloats(in.getDoubleArray("value_range")) : new float[] {0f, 1f};
        if (range.length != 2 || range[0] != 0f || (range[1] != 1f && range[1] != 255f)) {
            throw new ManifestException("input.value_range must be [0, 1] or [0, 255], got " + Arrays.toString(range));
        }
        boolean inGraph = in.optBoolean("normalization_in_graph", true);
        float[] mean = in.has("mean") && !in.isNull("mean") ? toFloats(in.getDoubleArray("mean")) : new float[] {0f, 0f, 0f};
        float[] std = in.has("std") && !in.isNull("std") ? toFloats(in.getDoubleArray("std")) : new float[] {1f, 1f, 1f};
        if (!inGraph) {
            if (mean.length != 3 || std.length != 3) {
                throw new ManifestException("input.mean and input.std must have 3 values each");
            }
            for (float s : std) {
                if (s == 0f) throw new ManifestException("input.std must be non-zero");
            }
        }
        return new InputSpec(in.optString("name", "image"), shape, dtype, layout, color, resizeW, resizeH, method,
                range, mean, std, inGraph, quant);
    }

    private static Quantization parseQuantization(JsonObject parent, String where) throws ManifestException {
        JsonObject q = parent.optObject("quantization");
        if (q == null) {
            return null;
        }
        String dtype = q.optString("dtype", "int8");
        if (!"int8".equals(dtype) && !"uint8".equals(dtype)) {
            throw new ManifestException(where + ".quantization.dtype must be int8 or uint8, got '" + dtype + "'");
        }
        float scale = (float) q.getDouble("scale");
        if (!(scale > 0f) || Float.isInfinite(scale)) {
            throw new ManifestException(where + ".quantization.scale must be a positive number, got " + scale);
        }
        return new Quantization(scale, (int) Math.round(q.getDouble("zero_point")), dtype);
    }

    private static LatentSpec parseLatent(JsonObject lat) throws ManifestException {
        int c = lat.getInt("channels");
        int h = lat.getInt("height");
        int w = lat.getInt("width");
        if (c <= 0 || h <= 0 || w <= 0) {
            throw new ManifestException("latent size must be positive, got " + c + "x" + h + "x" + w);
        }
        float[] medians = lat.has("medians") && !lat.isNull("medians")
                ? toFloats(lat.getDoubleArray("medians")) : new float[0];
        return new LatentSpec(c, h, w, medians);
    }

    private static OutputSpec parseOutput(JsonObject out, LatentSpec latent) throws ManifestException {
        String kind = out.getString("kind");
        if (!"symbols".equals(kind) && !"latent".equals(kind)) {
            throw new ManifestException("output.kind must be symbols or latent, got '" + kind + "'");
        }
        String layout = out.optString("layout", "NCHW");
        if (!"NCHW".equals(layout) && !"NHWC".equals(layout)) {
            throw new ManifestException("output.layout must be NCHW or NHWC, got '" + layout + "'");
        }
        int[] shape = out.has("shape") ? out.getIntArray("shape") : new int[0];
        long n = 1;
        for (int d : shape) n *= d;
        if (shape.length > 0 && n != latent.size()) {
            throw new ManifestException("output.shape " + Arrays.toString(shape) + " has " + n
                    + " values but the latent is " + latent.channels + "x" + latent.height + "x" + latent.width);
        }
        if ("latent".equals(kind) && latent.medians.length != latent.channels) {
            throw new ManifestException("a latent output needs " + latent.channels + " latent.medians, manifest has "
                    + latent.medians.length);
        }
        return new OutputSpec(out.optString("name", "symbols"), kind, shape,
                out.optString("dtype", "symbols".equals(kind) ? "int32" : "float32"), layout,
                parseQuantization(out, "output"));
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
