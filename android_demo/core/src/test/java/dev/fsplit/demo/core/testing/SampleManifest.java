package dev.fsplit.demo.core.testing;

/** A manifest.json text following docs/artifact.md, small enough to vary in tests. */
public final class SampleManifest {
    private SampleManifest() {
    }

    public static String json() {
        return "{\n"
                + " \"schema\": \"fsplit-artifact/1\",\n"
                + " \"model_id\": \"unit-test\",\n"
                + " \"target\": \"executorch\",\n"
                + " \"quantization\": \"int8\",\n"
                + " \"files\": {\"encoder\": \"encoder.pte\", \"tables\": \"tables.fsct\", \"server\": \"server.onnx\","
                + " \"labels\": \"labels.txt\"},\n"
                + " \"input\": {\"name\": \"image\", \"shape\": [1, 3, 4, 6], \"dtype\": \"float32\","
                + " \"layout\": \"NCHW\", \"color\": \"RGB\", \"resize\": {\"size\": [4, 6], \"method\": \"bilinear\"},"
                + " \"value_range\": [0.0, 1.0], \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225],"
                + " \"normalization_in_graph\": false, \"quantization\": null},\n"
                + " \"output\": {\"name\": \"symbols\", \"kind\": \"symbols\", \"shape\": [1, 2, 2, 3],"
                + " \"dtype\": \"int32\", \"layout\": \"NCHW\", \"quantization\": null},\n"
                + " \"latent\": {\"channels\": 2, \"height\": 2, \"width\": 3, \"medians\": [0.25, -1.5]},\n"
                + " \"tables\": {\"file\": \"tables.fsct\", \"content_hash\": \"ab12\", \"precision\": 16},\n"
                + " \"server\": {\"file\": \"server.onnx\", \"input\": \"symbols\", \"output\": \"logits\","
                + " \"num_classes\": 1000},\n"
                + " \"tool_versions\": {\"fsplit_mobile\": \"0.1.0\"},\n"
                + " \"sha256\": {\"encoder.pte\": \"00\"}\n"
                + "}\n";
    }

    /** The sample with another latent geometry and tables hash (output shape follows). */
    public static String withLatent(int channels, int height, int width, String tablesHash) {
        StringBuilder medians = new StringBuilder();
        for (int c = 0; c < channels; c++) medians.append(c == 0 ? "" : ", ").append("0.0");
        return json()
                .replace("\"shape\": [1, 2, 2, 3]", "\"shape\": [1, " + channels + ", " + height + ", " + width + "]")
                .replace("\"channels\": 2, \"height\": 2, \"width\": 3, \"medians\": [0.25, -1.5]",
                        "\"channels\": " + channels + ", \"height\": " + height + ", \"width\": " + width
                                + ", \"medians\": [" + medians + "]")
                .replace("\"content_hash\": \"ab12\"", "\"content_hash\": \"" + tablesHash + "\"");
    }
}
