package dev.fsplit.demo.core.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP protocol details against a scripted JDK HttpServer (error bodies, headers, bad answers). The real
 * fsplit-serve is exercised by LoopbackServeTest, run through tests/bench/test_android_core.py.
 */
class ServeClientTest {
    private HttpServer server;
    private final AtomicReference<byte[]> received = new AtomicReference<>();
    private final AtomicReference<String> contentType = new AtomicReference<>();
    private volatile int status = 200;
    private volatile String answer = "";
    private volatile String retryAfter;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            try (InputStream in = ex.getRequestBody()) {
                received.set(in.readAllBytes());
            }
            contentType.set(ex.getRequestHeaders().getFirst("Content-Type"));
            if (retryAfter != null) ex.getResponseHeaders().add("Retry-After", retryAfter);
            byte[] body = answer.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Test
    void postsTheContainerAndParsesTheAnswer() throws Exception {
        answer = "{\"model_id\":\"m\",\"table_hash\":\"ff\",\"top5\":[{\"index\":285,\"label\":\"Egyptian cat\","
                + "\"score\":0.77},{\"index\":281,\"label\":\"tabby\",\"score\":0.1}],\"payload_bytes\":5,"
                + "\"latent_shape\":[48,28,28],\"timings_ms\":{\"queue_wait\":0.1,\"parse\":0.2,\"decode\":1.5,"
                + "\"dequant_tail\":20.0,\"total\":22.0}}";
        byte[] payload = {1, 2, 3, 4, 5};
        InferResult r = new ServeClient(url() + "/").infer(payload);
        assertArrayEquals(payload, received.get());
        assertEquals("application/octet-stream", contentType.get());
        assertEquals(285, r.top5.get(0).index);
        assertEquals("Egyptian cat", r.top5.get(0).label);
        assertEquals(0.77, r.top5.get(0).score);
        assertArrayEquals(new int[] {48, 28, 28}, r.latentShape);
        assertEquals(22.0, r.serverTotalMs());
        assertTrue(r.requestMs > 0);
        assertEquals(Math.max(0, r.requestMs - 22.0), r.networkMs(), 1e-9);
    }

    @Test
    void errorStatusCarriesTheServersReason() {
        status = 409;
        answer = "{\"error\":\"table_mismatch\",\"detail\":\"stream was coded with tables 0011...\"}";
        ServerRejectedException e = assertThrows(ServerRejectedException.class,
                () -> new ServeClient(url()).infer(new byte[] {1}));
        assertEquals(409, e.status);
        assertEquals("table_mismatch", e.code);
        assertTrue(e.getMessage().contains("0011"));

        status = 503;
        retryAfter = "2";
        answer = "saturated";
        ServerRejectedException busy = assertThrows(ServerRejectedException.class,
                () -> new ServeClient(url()).infer(new byte[] {1}));
        assertEquals("2", busy.retryAfter);
        assertEquals("saturated", busy.detail);
    }

    @Test
    void malformedAnswerIsAServeException() {
        answer = "{\"top5\": 3}";
        ServeException e = assertThrows(ServeException.class, () -> new ServeClient(url()).infer(new byte[] {1}));
        assertTrue(e.getMessage().contains("top5"), e.getMessage());
    }

    @Test
    void unreachableServerIsNamed() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ServerUnreachableException e = assertThrows(ServerUnreachableException.class,
                () -> new ServeClient("http://127.0.0.1:" + port, 2000, 2000).infer(new byte[] {1}));
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ServeClient("ftp://x"));
    }

    @Test
    void healthReturnsTheFields() throws Exception {
        answer = "{\"status\":\"ok\",\"model_id\":\"m\"}";
        assertEquals("ok", new ServeClient(url()).health().get("status"));
    }
}
