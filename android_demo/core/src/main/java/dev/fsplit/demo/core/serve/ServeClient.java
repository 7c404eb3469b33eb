package dev.fsplit.demo.core.serve;

import dev.fsplit.demo.core.json.JsonException;
import dev.fsplit.demo.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * HTTP client of fsplit-serve (docs/serve.md): POST /v1/infer with the raw stream container as
 * application/octet-stream, GET /healthz. Uses HttpURLConnection, available on Android and every JVM
 * (java.net.http is not on Android). Blocking: call it off the UI thread.
 */
public final class ServeClient {
    public static final String CONTENT_TYPE = "application/octet-stream";
    private static final int MAX_ANSWER_BYTES = 1 << 20;

    private final String baseUrl;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;

    public ServeClient(String baseUrl, int connectTimeoutMs, int readTimeoutMs) {
        if (baseUrl == null || !(baseUrl.startsWith("http://") || baseUrl.startsWith("https://"))) {
            throw new IllegalArgumentException("server URL must start with http:// or https://, got " + baseUrl);
        }
        try {
            new URL(baseUrl);
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("malformed server URL " + baseUrl + ": " + e.getMessage());
        }
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.connectTimeoutMs = connectTimeoutMs;
        this.readTimeoutMs = readTimeoutMs;
    }

    public ServeClient(String baseUrl) {
        this(baseUrl, 5000, 30000);
    }

    public String baseUrl() {
        return baseUrl;
    }

    /** Send one stream container; returns the prediction and timings. */
    public InferResult infer(byte[] container) throws ServeException {
        long t0 = System.nanoTime();
        HttpURLConnection conn = open("/v1/infer", "POST");
        try {
            conn.setDoOutput(true);
            conn.setRequestProperty("Content-Type", CONTENT_TYPE);
            conn.setRequestProperty("Accept", "application/json");
            conn.setFixedLengthStreamingMode(container.length);
            try (OutputStream out = conn.getOutputStream()) {
                out.write(container);
            }
            int status = conn.getResponseCode();
            String body = readBody(conn, status);
            double requestMs = (System.nanoTime() - t0) / 1e6;
            if (status != 200) {
                throw rejected(conn, status, body);
            }
            return parseInfer(body, requestMs);
        } catch (IOException e) {
            throw new ServerUnreachableException(baseUrl + "/v1/infer: " + e, e);
        } finally {
            conn.disconnect();
        }
    }

    /** GET /healthz; returns its JSON fields (status, model_id, table_hash, ...). */
    public Map<String, Object> health() throws ServeException {
        HttpURLConnection conn = open("/healthz", "GET");
        try {
            int status = conn.getResponseCode();
            String body = readBody(conn, status);
            if (status != 200) {
                throw rejected(conn, status, body);
            }
            return JsonObject.parse(body).raw();
        } catch (IOException e) {
            throw new ServerUnreachableException(baseUrl + "/healthz: " + e, e);
        } catch (JsonException e) {
            throw new ServeException(baseUrl + "/healthz answered with invalid JSON: " + e.getMessage(), e);
        } finally {
            conn.disconnect();
        }
    }

    private HttpURLConnection open(String path, String method) throws ServeException {
        try {
            HttpURLConnection conn = (HttpURLConnection) new URL(baseUrl + path).openConnection();
            conn.setRequestMethod(method);
            conn.setConnectTimeout(connectTimeoutMs);
            conn.setReadTimeout(readTimeoutMs);
            conn.setUseCaches(false);
            return conn;
        } catch (IOException e) {
            throw new ServerUnreachableException(baseUrl + path + ": " + e, e);
        }
    }

    private static String readBody(HttpURLConnection conn, int status) throws IOException {
        InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
        if (in == null) {
            return "";
        }
        try (InputStream stream = in) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int n;
            while ((n = stream.read(chunk)) > 0) {
                if (buf.size() + n > MAX_ANSWER_BYTES) {
                    throw new IOException("answer larger than " + MAX_ANSWER_BYTES + " bytes");
                }
                buf.write(chunk, 0, n);
            }
            return new String(buf.toByteArray(), StandardCharsets.UTF_8);
        }
    }

    private static ServerRejectedException rejected(HttpURLConnection conn, int status, String body) {
        String code = "error";
        String detail = body;
        try {
            JsonObject err = JsonObject.parse(body);
            code = err.optString("error", code);
            detail = err.optString("detail", body);
        } catch (JsonException notJson) {
            // keep the raw body as the detail
        }
        return new ServerRejectedException(status, code, detail, conn.getHeaderField("Retry-After"));
    }

    static InferResult parseInfer(String body, double requestMs) throws ServeException {
        try {
            JsonObject root = JsonObject.parse(body);
            List<InferResult.Prediction> top5 = new ArrayList<>();
            List<Object> items = root.getList("top5");
            for (int i = 0; i < items.size(); i++) {
                if (!(items.get(i) instanceof Map)) {
                    throw new JsonException("field 'top5[" + i + "]' must be an object");
                }
                @SuppressWarnings("unchecked")
                JsonObject item = new JsonObject((Map<String, Object>) items.get(i), "top5[" + i + "]");
                top5.add(new InferResult.Prediction(item.getInt("index"), item.optString("label", ""),
                        item.getDouble("score")));
            }
            JsonObject timings = root.getObject("timings_ms");
            Map<String, Double> serverMs = new LinkedHashMap<>();
            for (String key : timings.raw().keySet()) {
                serverMs.put(key, timings.getDouble(key));
            }
            return new InferResult(root.optString("model_id", ""), root.optString("table_hash", ""), top5,
                    root.getInt("payload_bytes"), root.getIntArray("latent_shape"), serverMs, requestMs);
        } catch (JsonException e) {
            throw new ServeException("fsplit-serve answered with unexpected JSON: " + e.getMessage(), e);
        }
    }
}
