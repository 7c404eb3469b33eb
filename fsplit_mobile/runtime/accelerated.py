"""ONNX Runtime on an accelerator: the QNN EP (Snapdragon HTP) or the CUDA/TensorRT EPs (Jetson), with the
placement measured at run time.

The placement comes from ONNX Runtime's own per-node profile of the first inference (each node event names
the execution provider that ran it), so it reports what actually ran where on *this* device, not what export
expected. Profiling is switched off after that first run, so timed runs are not slowed by it. Which backend opens
an artifact on which accelerator is decided in one place: ``encoders.OPENERS`` (``encoders.open_on_accelerator``).
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from . import qnn
from .errors import AcceleratorUnavailableError
from .placement import ON_ACCELERATOR, ON_CPU, NodePlacement, Placement
from .targets import ACCELERATORS

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
CPU_PROVIDER = "CPUExecutionProvider"


def placement_from_profile(events: list, accelerator: str, accelerator_providers) -> Placement:
    """Placement from an ONNX Runtime profile (list of trace events): one entry per node that ran."""
    seen: dict[str, NodePlacement] = {}
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        args = e.get("args", {})
        name = e["name"][: -len("_kernel_time")]
        provider = args.get("provider", "")
        device = ON_ACCELERATOR if provider in accelerator_providers else ON_CPU
        seen.setdefault(name, NodePlacement(name, args.get("op_name", "?"), device, provider))
    nodes = list(seen.values())
    partitions = sum(1 for n in nodes if n.device == ON_ACCELERATOR)
    return Placement(accelerator, nodes, partitions, "onnxruntime per-node profile of the first run on this device")


class OrtAcceleratedBackend:
    """Encoder backend: an .onnx file (plain or QNN EP-context) in ONNX Runtime on `accelerator`."""

    def __init__(
        self,
        path: str,
        accelerator: str,
        threads: int | None = None,
        qnn_libs: str | None = None,
        soc: str | None = None,
        fp16: bool = False,
        allow_fallback: bool = True,
        qnn_profile_csv: str | None = None,
    ):
        if accelerator not in ACCELERATORS:
            raise AcceleratorUnavailableError(f"unknown accelerator {accelerator!r} (choose {', '.join(ACCELERATORS)})")
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise AcceleratorUnavailableError(f"onnxruntime not importable on this device: {e}") from None
        self.version = ort.__version__
        self.accelerator = accelerator
        self.threads = threads
        self.libs: qnn.QnnLibs | None = None
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep node names for placement
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        if not allow_fallback:
            opts.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        self._profile_dir = tempfile.mkdtemp(prefix="fsplit-ortprof-")
        opts.enable_profiling = True
        opts.profile_file_prefix = os.path.join(self._profile_dir, "ort")
        providers = None
        if accelerator == "npu":
            try:
                self.libs = qnn.locate(qnn_libs, "htp", soc)
                devices = qnn.register(ort, self.libs)
            except qnn.QnnUnavailableError as e:
                raise AcceleratorUnavailableError(f"--accelerator npu: {e}") from None
            opts.add_provider_for_devices(devices, qnn.provider_options(self.libs, None, fp16, qnn_profile_csv))
            self.name = "onnxruntime-qnn"
            self._accel_providers: tuple[str, ...] = (qnn.EP_NAME,)
            label = "QNN HTP" + (f" ({soc})" if soc else "")
            self.version = f"{ort.__version__}+qnn-ep-{qnn.ep_version()}"
        elif accelerator == "gpu":
            available = ort.get_available_providers()
            providers = [p for p in GPU_PROVIDERS if p in available]
            if not providers:
                raise AcceleratorUnavailableError(
                    f"--accelerator gpu is not available: onnxruntime {ort.__version__} on this device has neither "
                    f"CUDAExecutionProvider nor TensorrtExecutionProvider (available: {', '.join(available)}); "
                    "on a Jetson install NVIDIA's onnxruntime-gpu wheel for its JetPack"
                )
            providers = providers + [CPU_PROVIDER]
            self.name = "onnxruntime-" + providers[0].replace("ExecutionProvider", "").lower()
            self._accel_providers = tuple(GPU_PROVIDERS)
            label = providers[0].replace("ExecutionProvider", "") + " GPU"
        else:
            providers = [CPU_PROVIDER]
            self.name = "onnxruntime"
            self._accel_providers = (CPU_PROVIDER,)
            label = "CPU"
        try:
            self._session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if "EPContext" in msg and accelerator != "npu":
                msg += " (a QNN EP-context model runs only with --accelerator npu)"
            raise AcceleratorUnavailableError(
                f"ONNX Runtime cannot load {os.path.basename(path)} on {label}: {msg}"
            ) from None
        self._label = label
        self._input = self._session.get_inputs()[0].name
        self.placement: Placement | None = None
        if self.libs is not None and self.libs.simulator:
            self._label += " simulator (x86_64, not a device)"

    def run(self, x: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {self._input: np.ascontiguousarray(x)})[0]
        if self.placement is None:
            self.placement = self._read_placement()
        return out

    def _read_placement(self) -> Placement:
        path = self._session.end_profiling()
        try:
            events = json.loads(Path(path).read_text(encoding="utf-8")) if path else []
        except (OSError, json.JSONDecodeError):
            events = []
        for f in glob.glob(os.path.join(self._profile_dir, "*")):
            os.remove(f)
        os.rmdir(self._profile_dir)
        return placement_from_profile(events, self._label, self._accel_providers)
