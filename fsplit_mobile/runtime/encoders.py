"""Run an artifact's encoder file in the runtime its target names.

Backends: executorch (executorch.runtime, .pte), tflite (ai_edge_litert Interpreter, .tflite), onnx
(onnxruntime CPU, .onnx), qnn (onnxruntime + QNN EP, an EP-context .onnx; accelerated.py), vulkan (an
ExecuTorch .pte with the Vulkan delegate: needs a runtime built with it). `open_backend` opens a file in its
target's own runtime; `open_on_accelerator` (the device agent's entry) picks the opener for a (target, accelerator)
pair from the one table `OPENERS`. Core ML files run only on Apple platforms: opening one here raises
EncoderUnavailableError("cannot execute Core ML on this platform ..."). Each runtime is imported only when
used, so a board needs just the runtime of the artifact it runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .accelerated import OrtAcceleratedBackend
from .errors import AcceleratorUnavailableError, EncoderUnavailableError
from .preprocess import InputConverter, OutputConverter
from .targets import ACCELERATORS, TARGETS, default_accelerator

__all__ = [
    "ACCELERATORS",
    "BACKENDS",
    "ENGINES",
    "OPENERS",
    "RUNTIME_NAMES",
    "AcceleratorUnavailableError",
    "Encoder",
    "EncoderUnavailableError",
    "open_backend",
    "open_encoder",
    "open_on_accelerator",
]


class ExecuTorchBackend:
    name = "executorch"

    def __init__(self, path: str, threads: int | None):
        try:
            import torch
            from executorch import version as et_version
            from executorch.runtime import Runtime
        except ImportError as e:
            raise EncoderUnavailableError(f"executorch runtime not importable here: {e}") from None
        self._torch = torch
        self.version = getattr(et_version, "__version__", "unknown")
        if threads:
            try:
                from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

                _unsafe_reset_threadpool(int(threads))
            except ImportError:
                pass
        try:
            program = Runtime.get().load_program(Path(path))
            self._method = program.load_method("forward")
        except Exception as e:  # the runtime raises plain RuntimeError/ValueError on bad programs
            raise EncoderUnavailableError(f"ExecuTorch cannot load {os.path.basename(path)}: {e}") from None
        if self._method is None:
            raise EncoderUnavailableError(f"{os.path.basename(path)} has no 'forward' method")
        self.threads = self._thread_count(threads)

    @staticmethod
    def _thread_count(requested):
        try:
            from executorch.extension.pybindings.portable_lib import _threadpool_get_thread_count

            return int(_threadpool_get_thread_count())
        except ImportError:
            return requested

    def run(self, x: np.ndarray) -> np.ndarray:
        out = self._method.execute([self._torch.from_numpy(np.ascontiguousarray(x))])
        return out[0].numpy()


class LiteRtBackend:
    name = "litert"

    def __init__(self, path: str, threads: int | None):
        try:
            import ai_edge_litert
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as e:
            raise EncoderUnavailableError(f"ai_edge_litert not importable here: {e}") from None
        self.version = getattr(ai_edge_litert, "__version__", "unknown")
        try:
            self._interp = Interpreter(model_path=str(path), num_threads=threads or None)
            self._interp.allocate_tensors()
        except Exception as e:
            raise EncoderUnavailableError(f"LiteRT cannot load {os.path.basename(path)}: {e}") from None
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]
        self.threads = threads

    def run(self, x: np.ndarray) -> np.ndarray:
        self._interp.set_tensor(self._in, np.ascontiguousarray(x))
        self._interp.invoke()
        return self._interp.get_tensor(self._out).copy()


class OnnxRuntimeBackend:
    name = "onnxruntime"

    def __init__(self, path: str, threads: int | None):
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise EncoderUnavailableError(f"onnxruntime not importable here: {e}") from None
        self.version = ort.__version__
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise EncoderUnavailableError(f"ONNX Runtime cannot load {os.path.basename(path)}: {e}") from None
        self._input = self._session.get_inputs()[0].name
        self.threads = threads

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.ascontiguousarray(x)})[0]


def QnnBackend(path: str, threads: int | None):  # noqa: N802  (a constructor like the classes above)
    """A QNN EP-context .onnx on the Hexagon NPU (QNN libraries found as runtime/qnn.py says)."""
    return OrtAcceleratedBackend(path, "npu", threads)


# engine name (a target's `runtime` in targets.py) -> the class that opens its encoder file
ENGINES = {
    "executorch": ExecuTorchBackend,
    "litert": LiteRtBackend,
    "onnxruntime": OnnxRuntimeBackend,
    "onnxruntime-qnn": QnnBackend,
}
# target -> its engine, and target -> how reports name its runtime (both read from targets.py)
BACKENDS = {name: ENGINES[t.runtime] for name, t in TARGETS.items() if t.runtime is not None}
RUNTIME_NAMES = {name: t.runtime_label for name, t in TARGETS.items()}


def open_backend(target: str, path, threads: int | None = None):
    """Load the model file `path` with the runtime for `target` (executorch | tflite | onnx)."""
    if target == "coreml":
        raise EncoderUnavailableError(
            "cannot execute Core ML on this platform: Core ML models run only on Apple platforms (macOS/iOS)"
        )
    if target not in BACKENDS:
        raise EncoderUnavailableError(f"no runtime for target {target!r} (known: {', '.join(BACKENDS)})")
    if not os.path.exists(path):
        raise EncoderUnavailableError(f"model file {path} does not exist")
    return BACKENDS[target](str(path), threads)


def _own_runtime(target: str):
    return lambda path, threads, qnn_libs, soc: open_backend(target, path, threads)


def _vulkan_on_gpu(path, threads, qnn_libs, soc):
    try:
        return open_backend("vulkan", path, threads)
    except EncoderUnavailableError as e:
        raise AcceleratorUnavailableError(
            f"--accelerator gpu: the ExecuTorch runtime here cannot run the "
            f"Vulkan delegate (it needs a build with the Vulkan backend and a "
            f"Vulkan driver): {e}"
        ) from None


# (target, accelerator) -> opener(path, threads, qnn_libs, soc): every pair an artifact can run on. The target's own
# accelerator (its `accelerator` in targets.py) is what --accelerator defaults to.
OPENERS = {
    ("executorch", "cpu"): _own_runtime("executorch"),
    ("tflite", "cpu"): _own_runtime("tflite"),
    ("onnx", "cpu"): _own_runtime("onnx"),
    ("onnx", "gpu"): lambda path, threads, qnn_libs, soc: OrtAcceleratedBackend(path, "gpu", threads),
    ("qnn", "npu"): lambda path, threads, qnn_libs, soc: OrtAcceleratedBackend(path, "npu", threads, qnn_libs, soc),
    ("vulkan", "gpu"): _vulkan_on_gpu,
}


def open_on_accelerator(
    target: str,
    path: str,
    accelerator: str | None,
    threads: int | None = None,
    qnn_libs: str | None = None,
    soc: str | None = None,
):
    """The encoder backend for an artifact of `target` on `accelerator` (npu | gpu | cpu; None: the target's
    own: npu for qnn, gpu for vulkan, cpu otherwise). Raises AcceleratorUnavailableError naming what is
    missing or which artifact the accelerator needs."""
    default = default_accelerator(target)
    accelerator = accelerator or default
    if accelerator not in ACCELERATORS:
        raise AcceleratorUnavailableError(f"unknown accelerator {accelerator!r} (choose {', '.join(ACCELERATORS)})")
    if target == "qnn" and accelerator != "npu":
        raise AcceleratorUnavailableError(
            f"a qnn artifact (HTP EP-context{' for ' + soc if soc else ''}) runs "
            f"only with --accelerator npu, not {accelerator}"
        )
    opener = OPENERS.get((target, accelerator))
    if opener is not None:
        return opener(path, threads, qnn_libs, soc)
    if accelerator == default:  # a target without a runtime here (coreml, unknown): open_backend says why
        return open_backend(target, path, threads)
    needs = {
        "npu": "a qnn artifact (fsplit-export --target qnn --soc ...)",
        "gpu": "an onnx artifact (CUDA/TensorRT EPs, e.g. Jetson) or a vulkan artifact",
        "cpu": "a CPU artifact (executorch, tflite or onnx)",
    }[accelerator]
    raise AcceleratorUnavailableError(
        f"--accelerator {accelerator} needs {needs}; this artifact's target is {target!r}"
    )


class Encoder:
    """An encoder file plus its I/O spec: image -> model input -> model output -> symbols."""

    def __init__(
        self,
        target: str,
        model_path,
        input_spec: dict,
        output_spec: dict,
        latent_spec: dict,
        threads: int | None = None,
    ):
        self.target = target
        self.input_converter = InputConverter(input_spec)
        self.output_converter = OutputConverter(output_spec, latent_spec)
        self.backend = open_backend(target, model_path, threads)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.input_converter.height, self.input_converter.width

    def run(self, x: np.ndarray) -> np.ndarray:
        """Model-file input -> model-file output (no conversion)."""
        return self.backend.run(x)

    def run_canonical(self, canonical: np.ndarray) -> np.ndarray:
        """Canonical NCHW float32 input -> canonical NCHW output (int32 symbols or float32 latent)."""
        return self.output_converter.canonical(self.run(self.input_converter.to_model(canonical)))

    def symbols(self, rgb: np.ndarray) -> np.ndarray:
        """Resized HxWx3 uint8 RGB -> int32 symbols (C, H, W)."""
        return self.output_converter(self.run(self.input_converter(rgb)))


def open_encoder(artifact, threads: int | None = None) -> Encoder:
    """Encoder of an artifact (an Artifact or a folder path)."""
    from .artifact import Artifact

    if not isinstance(artifact, Artifact):
        artifact = Artifact.open(artifact)
    return Encoder(
        artifact.target, artifact.encoder_file, artifact.input_spec, artifact.output_spec, artifact.latent, threads
    )
