package dev.fsplit.demo.core.serve;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/** fsplit-serve's answer to POST /v1/infer, plus the client-side request time. */
public final class InferResult {
    /** One of the top-5 classes. */
    public static final class Prediction {
        public final int index;
        public final String label;
        public final double score;

        public Prediction(int index, String label, double score) {
            this.index = index;
            this.label = label;
            this.score = score;
        }

        @Override
        public String toString() {
            return index + " " + label + " (" + String.format(java.util.Locale.ROOT, "%.3f", score) + ")";
        }
    }

    public final String modelId;
    public final String tableHash;
    public final List<Prediction> top5;
    public final int payloadBytes;
    public final int[] latentShape;
    /** Server stages in milliseconds as the server reports them (queue_wait, parse, decode, dequant_tail, total). */
    public final Map<String, Double> serverTimingsMs;
    /** From sending the request until the whole answer was read, on the client. */
    public final double requestMs;

    public InferResult(String modelId, String tableHash, List<Prediction> top5, int payloadBytes, int[] latentShape,
                       Map<String, Double> serverTimingsMs, double requestMs) {
        this.modelId = modelId;
        this.tableHash = tableHash;
        this.top5 = Collections.unmodifiableList(top5);
        this.payloadBytes = payloadBytes;
        this.latentShape = latentShape;
        this.serverTimingsMs = Collections.unmodifiableMap(serverTimingsMs);
        this.requestMs = requestMs;
    }

    /** The server's own total processing time (ms). */
    public double serverTotalMs() {
        Double total = serverTimingsMs.get("total");
        return total == null ? 0.0 : total;
    }

    /** Request time not spent in the server: transfer, HTTP, queueing in the network stack. */
    public double networkMs() {
        return Math.max(0.0, requestMs - serverTotalMs());
    }
}
