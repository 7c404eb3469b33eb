package dev.fsplit.demo.core.testing;

import dev.fsplit.demo.core.Encoder;
import dev.fsplit.demo.core.EncoderException;
import dev.fsplit.demo.core.EncoderOutput;
import dev.fsplit.demo.core.InputTensor;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Test stand-in for the app's ExecuTorch encoder: sends the tensor the Java preprocessing made to a Python
 * process (core/src/test/python/encoder_helper.py) that runs the artifact's real encoder file with ExecuTorch's
 * Python runtime, and returns its raw output. Only the Android Module API call is replaced.
 */
public final class PythonProcessEncoder implements Encoder {
    private final Process process;
    private final OutputStream toPython;
    private final DataInputStream fromPython;
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();

    public PythonProcessEncoder(String python, File helper, File artifactDir) throws EncoderException {
        try {
            ProcessBuilder pb = new ProcessBuilder(python, helper.getAbsolutePath(), artifactDir.getAbsolutePath());
            process = pb.start();
        } catch (IOException e) {
            throw new EncoderException("cannot start " + python + " " + helper + ": " + e, e);
        }
        toPython = process.getOutputStream();
        fromPython = new DataInputStream(process.getInputStream());
        Thread drain = new Thread(() -> {
            try (InputStream err = process.getErrorStream()) {
                byte[] buf = new byte[4096];
                int n;
                while ((n = err.read(buf)) > 0) {
                    synchronized (stderr) {
                        stderr.write(buf, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
        }, "python-encoder-stderr");
        drain.setDaemon(true);
        drain.start();
    }

    @Override
    public String describe() {
        return "python-executorch-standin test";
    }

    @Override
    public int threads() {
        return 0;
    }

    @Override
    public EncoderOutput run(InputTensor x) throws EncoderException {
        try {
            int n = x.size();
            ByteBuffer req = ByteBuffer.allocate(5 + n * (x.floats != null ? 4 : 1)).order(ByteOrder.LITTLE_ENDIAN);
            req.put((byte) (x.floats != null ? 0 : "int8".equals(x.dtype) ? 1 : 2)).putInt(n);
            if (x.floats != null) {
                req.asFloatBuffer().put(x.floats);
            } else {
                req.put(x.bytes);
            }
            toPython.write(req.array());
            toPython.flush();
            int status = fromPython.readUnsignedByte();
            if (status != 0) {
                byte[] msg = new byte[readU32()];
                fromPython.readFully(msg);
                throw new EncoderException("python encoder: " + new String(msg, StandardCharsets.UTF_8));
            }
            int code = fromPython.readUnsignedByte();
            int count = readU32();
            int width = code == 1 || code == 2 ? 1 : 4;
            byte[] raw = new byte[count * width];
            fromPython.readFully(raw);
            ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            long[] shape = {count};
            if (code == 0) {
                float[] f = new float[count];
                buf.asFloatBuffer().get(f);
                return EncoderOutput.ofFloats(shape, f);
            } else if (code == 3) {
                int[] v = new int[count];
                buf.asIntBuffer().get(v);
                return EncoderOutput.ofInts(shape, v);
            }
            return EncoderOutput.ofBytes(shape, code == 1 ? "int8" : "uint8", raw);
        } catch (IOException e) {
            throw new EncoderException("python encoder process failed: " + e + "; stderr: " + stderrText(), e);
        }
    }

    private int readU32() throws IOException {
        byte[] b = new byte[4];
        fromPython.readFully(b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private String stderrText() {
        synchronized (stderr) {
            return new String(stderr.toByteArray(), StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() {
        try {
            toPython.write(new byte[5]);
            toPython.flush();
            toPython.close();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroy();
    }
}
