"""The one description of every export target: what export writes, what runs it, where it runs.

A leaf module (it imports nothing of fsplit_mobile), at the bottom of the layering with the rest of
`runtime`, so export, runtime, bench and the device agent all read the same facts:

- export (`export/backends/__init__.py`) takes the target names, their order (the order of ``--target all``),
  which targets ``all`` leaves out (the accelerator ones), and each target's backend class from it; every
  backend's ``encoder_file`` and ``quantizations`` are filled in from it (`export/backends/base.py`);
- runtime (`artifact.py`, `encoders.py`) takes the targets and quantizations a manifest may name, the runtime
  that opens each encoder file, its name in reports, and the accelerator ``--accelerator`` defaults to;
- bench and the device agent take which targets the Python device agent runs and what it pre-imports.

Adding a CPU target is one entry here, one backend module and one flow in the contract tests
(docs/export.md "Adding a CPU target").
"""

from __future__ import annotations

from dataclasses import dataclass

# every value of --quantize / manifest "quantization"; a target supports a subset (Target.quantizations)
QUANTIZATIONS = ("none", "int8", "int8-dynamic", "int8-weights", "fp16")
# where an encoder runs: the CPU, a GPU (CUDA/TensorRT or Vulkan) or an NPU (Hexagon HTP)
ACCELERATORS = ("npu", "gpu", "cpu")


@dataclass(frozen=True)
class Target:
    """One export target.

    name: ``--target``, ``[targets.<name>]`` in recipes, manifest ``target``.
    backend: its export backend, ``"module:Class"`` inside ``fsplit_mobile.export.backends``.
    quantizations: the values of ``--quantize`` it supports (a subset of QUANTIZATIONS).
    encoder_file: the file export writes (manifest ``files.encoder``).
    runtime: the engine of ``runtime/encoders.py`` that opens that file (``ENGINES``); None: none here
        (Core ML runs only on Apple platforms).
    runtime_label: how reports name that runtime (verify's ``runtime``, ``RUNTIME_NAMES``).
    runtime_modules: what the device agent imports before it times the model load.
    device_agent: whether the Python device agent (fsplit-bench) runs it.
    accelerator: where it runs by default (``--accelerator``'s default): "cpu" for the portable targets;
        the others are compiled for a chip or GPU API, and ``--target all`` leaves them out.
    """

    name: str
    backend: str
    quantizations: tuple[str, ...]
    encoder_file: str
    runtime: str | None
    runtime_label: str
    runtime_modules: tuple[str, ...]
    device_agent: bool
    accelerator: str = "cpu"

    def __post_init__(self):
        unknown = set(self.quantizations) - set(QUANTIZATIONS)
        if not self.quantizations or unknown:
            raise ValueError(f"target {self.name}: quantizations {self.quantizations} (known: {QUANTIZATIONS})")
        if self.accelerator not in ACCELERATORS:
            raise ValueError(f"target {self.name}: accelerator {self.accelerator!r} (known: {ACCELERATORS})")

    @property
    def named_only(self) -> bool:
        """Exported only when named: an accelerator target fails on ops its chip lacks (docs/accelerators.md)."""
        return self.accelerator != "cpu"


_TARGETS = (
    Target(
        name="executorch",
        backend="executorch:ExecuTorchBackend",
        quantizations=("none", "int8"),
        encoder_file="encoder.pte",
        runtime="executorch",
        runtime_label="executorch.runtime",
        runtime_modules=("torch", "executorch.runtime"),
        device_agent=True,
    ),
    Target(
        name="coreml",
        backend="coreml:CoreMLBackend",
        quantizations=("none", "int8", "int8-weights"),
        encoder_file="encoder.mlpackage",
        runtime=None,
        runtime_label="coremltools",
        runtime_modules=(),
        device_agent=False,
    ),
    Target(
        name="tflite",
        backend="tflite:LiteRTBackend",
        quantizations=("none", "int8", "int8-dynamic"),
        encoder_file="encoder.tflite",
        runtime="litert",
        runtime_label="ai_edge_litert Interpreter",
        runtime_modules=("ai_edge_litert.interpreter",),
        device_agent=True,
    ),
    Target(
        name="onnx",
        backend="onnx:OnnxBackend",
        quantizations=("none", "int8"),
        encoder_file="encoder.onnx",
        runtime="onnxruntime",
        runtime_label="onnxruntime CPUExecutionProvider",
        runtime_modules=("onnxruntime",),
        device_agent=True,
    ),
    Target(
        name="qnn",
        backend="qnn:QnnBackend",
        quantizations=("int8", "fp16"),
        encoder_file="encoder.onnx",
        runtime="onnxruntime-qnn",
        runtime_label="onnxruntime + QNN EP (HTP)",
        runtime_modules=("onnxruntime", "onnxruntime_qnn"),
        device_agent=True,
        accelerator="npu",
    ),
    Target(
        name="vulkan",
        backend="vulkan:VulkanBackend",
        quantizations=("none", "fp16"),
        encoder_file="encoder.pte",
        runtime="executorch",
        runtime_label="executorch.runtime (Vulkan delegate)",
        runtime_modules=("torch", "executorch.runtime"),
        device_agent=True,
        accelerator="gpu",
    ),
)

# name -> Target, in the order of --target all
TARGETS: dict[str, Target] = {t.name: t for t in _TARGETS}


def target_names() -> tuple[str, ...]:
    return tuple(TARGETS)


def device_agent_targets() -> tuple[str, ...]:
    """The targets the Python device agent runs (Core ML needs an Apple device)."""
    return tuple(name for name, t in TARGETS.items() if t.device_agent)


def accelerator_targets() -> tuple[str, ...]:
    """The targets compiled for an accelerator (exported only when named; they run in the Python agent only)."""
    return tuple(name for name, t in TARGETS.items() if t.named_only)


def default_accelerator(target: str) -> str:
    """Where an artifact of `target` runs unless told otherwise (cpu for a name not described here)."""
    t = TARGETS.get(target)
    return t.accelerator if t is not None else "cpu"
