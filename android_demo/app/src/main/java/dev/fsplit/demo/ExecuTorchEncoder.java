package dev.fsplit.demo;

import dev.fsplit.demo.core.Encoder;
import dev.fsplit.demo.core.EncoderException;
import dev.fsplit.demo.core.EncoderOutput;
import dev.fsplit.demo.core.InputTensor;
import dev.fsplit.demo.core.Manifest;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.pytorch.executorch.DType;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/** The artifact's encoder.pte run by ExecuTorch's Android Module API (XNNPACK delegate inside the AAR). */
final class ExecuTorchEncoder implements Encoder {
    private final Module module;
    private final int threads;
    /** Input tensor over a direct buffer, made once and refilled per run (no per-run allocation). */
    private Tensor input;
    private FloatBuffer floatInput;
    private ByteBuffer byteInput;
    private long[] inputShape;

    private ExecuTorchEncoder(Module module, int threads) {
        this.module = module;
        this.threads = threads;
    }

    /** Loads the program (mmap) and its forward method now, so the first run is not slower than the others. */
    static ExecuTorchEncoder load(Manifest manifest, File pte, int threads) throws EncoderException {
        if (!"executorch".equals(manifest.target)) {
            throw new EncoderException("this app runs ExecuTorch artifacts; the manifest's target is '"
                    + manifest.target + "' (export with --target executorch)");
        }
        if (!pte.isFile()) {
            throw new EncoderException("encoder file " + pte + " does not exist");
        }
        try {
            Module module = Module.load(pte.getAbsolutePath(), Module.LOAD_MODE_MMAP, threads);
            module.loadMethod("forward");
            return new ExecuTorchEncoder(module, threads);
        } catch (RuntimeException e) {
            throw new EncoderException("ExecuTorch cannot load " + pte.getName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return "executorch-android " + BuildConfig.EXECUTORCH_VERSION;
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public EncoderOutput run(InputTensor x) throws EncoderException {
        Tensor in = inputTensor(x);
        EValue[] outputs;
        try {
            outputs = module.forward(EValue.from(in));
        } catch (RuntimeException e) {
            throw new EncoderException("ExecuTorch forward failed: " + e.getMessage(), e);
        }
        if (outputs.length == 0) {
            throw new EncoderException("the encoder returned no output");
        }
        Tensor y = outputs[0].toTensor();
        long[] shape = y.shape();
        DType dtype = y.dtype();
        if (dtype == DType.INT32) {
            return EncoderOutput.ofInts(shape, y.getDataAsIntArray());
        } else if (dtype == DType.INT64) {
            long[] wide = y.getDataAsLongArray();
            int[] narrow = new int[wide.length];
            for (int i = 0; i < wide.length; i++) {
                if (wide[i] < Integer.MIN_VALUE || wide[i] > Integer.MAX_VALUE) {
                    throw new EncoderException("int64 symbol " + wide[i] + " does not fit int32");
                }
                narrow[i] = (int) wide[i];
            }
            return EncoderOutput.ofInts(shape, narrow);
        } else if (dtype == DType.FLOAT) {
            return EncoderOutput.ofFloats(shape, y.getDataAsFloatArray());
        } else if (dtype == DType.INT8) {
            return EncoderOutput.ofBytes(shape, "int8", y.getDataAsByteArray());
        } else if (dtype == DType.UINT8) {
            return EncoderOutput.ofBytes(shape, "uint8", y.getDataAsUnsignedByteArray());
        }
        throw new EncoderException("unsupported encoder output dtype " + dtype);
    }

    private Tensor inputTensor(InputTensor x) {
        boolean sameShape = input != null && Arrays.equals(inputShape, x.shape);
        if (x.floats != null) {
            if (!sameShape || floatInput == null) {
                floatInput = Tensor.allocateFloatBuffer(x.floats.length);
                byteInput = null;
                input = Tensor.fromBlob(floatInput, x.shape);
                inputShape = x.shape.clone();
            }
            rewind(floatInput);
            floatInput.put(x.floats);
        } else {
            if (!sameShape || byteInput == null) {
                byteInput = Tensor.allocateByteBuffer(x.bytes.length);
                floatInput = null;
                input = "uint8".equals(x.dtype) ? Tensor.fromBlobUnsigned(byteInput, x.shape)
                        : Tensor.fromBlob(byteInput, x.shape);
                inputShape = x.shape.clone();
            }
            rewind(byteInput);
            byteInput.put(x.bytes);
        }
        return input;
    }

    /**
     * Through java.nio.Buffer: the covariant FloatBuffer/ByteBuffer.rewind() of newer JDKs and SDKs does not exist on
     * older Android versions (NoSuchMethodError at run time).
     */
    private static void rewind(java.nio.Buffer buffer) {
        buffer.rewind();
    }

    @Override
    public void close() {
        module.destroy();
    }
}
