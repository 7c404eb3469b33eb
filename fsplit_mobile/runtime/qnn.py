"""Finding and registering the Qualcomm QNN libraries for ONNX Runtime's QNN execution provider.

The QNN EP is an ONNX Runtime *plugin* (``libonnxruntime_providers_qnn.so``, PyPI ``onnxruntime-qnn``) that
drives a QNN backend library (``libQnnHtp.so`` for the Hexagon NPU, ``libQnnGpu.so`` for Adreno). On a phone or
a Snapdragon board those libraries come with the vendor image or the QAIRT SDK; ``--qnn-libs DIR`` names them.
On x86_64 the wheel's ``libQnnHtp.so`` is the HTP *simulator*: it runs a compiled model on this CPU for
numerics (and cycle counts), which is what the tests here use. Stdlib only until a session is made (ships to
devices with the runtime package).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

EP_NAME = "QNNExecutionProvider"
EP_LIBRARY = "libonnxruntime_providers_qnn.so"
BACKEND_LIBRARIES = {"htp": "libQnnHtp.so", "gpu": "libQnnGpu.so"}
SYSTEM_LIBRARY = "libQnnSystem.so"
ENV_VAR = "FSPLIT_QNN_LIBS"
# Where vendor images and the QAIRT SDK put the libraries on Android phones and Snapdragon Linux boards.
DEVICE_LIB_DIRS = (
    "/vendor/lib64",
    "/system/lib64",
    "/data/local/tmp/qnn",
    "/usr/lib",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/local/lib",
)
# Snapdragon SoC -> (marketing name, Hexagon HTP architecture). The architecture names the DSP-side
# libraries an ARM device needs next to libQnnHtp.so (libQnnHtpV75Stub.so, libQnnHtpV75Skel.so, ...).
SOCS = {
    "SM8550": ("Snapdragon 8 Gen 2", "v73"),
    "SM8650": ("Snapdragon 8 Gen 3", "v75"),
    "SM8750": ("Snapdragon 8 Elite", "v79"),
    "SM8850": ("Snapdragon 8 Elite Gen 5", "v81"),
}


class QnnUnavailableError(RuntimeError):
    """The QNN EP or its libraries are missing here. The message names what is missing and where it looked."""


@dataclass(frozen=True)
class QnnLibs:
    ep_library: str  # libonnxruntime_providers_qnn.so
    backend_path: str  # libQnnHtp.so | libQnnGpu.so
    origin: str  # "--qnn-libs DIR", "$FSPLIT_QNN_LIBS", "onnxruntime_qnn wheel", "device: /vendor/lib64"
    simulator: bool  # True: x86_64 libraries, i.e. the HTP simulator, not a device

    def describe(self) -> str:
        kind = "x86_64 HTP simulator (not a device)" if self.simulator else "device libraries"
        return f"QNN {Path(self.backend_path).name} from {self.origin} ({kind})"


def _wheel_dir() -> Path | None:
    try:
        import onnxruntime_qnn
    except ImportError:
        return None
    return Path(onnxruntime_qnn.get_library_path()).parent


def _is_simulator() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def locate(qnn_libs: str | os.PathLike | None = None, backend: str = "htp", soc: str | None = None) -> QnnLibs:
    """The QNN EP plugin and backend library to use, from `qnn_libs`, $FSPLIT_QNN_LIBS, the onnxruntime_qnn
    wheel, or the usual device folders (in that order). Raises QnnUnavailableError naming what is missing.

    `soc` (e.g. "SM8650") lets an ARM device be checked for the DSP-side stub of that SoC's HTP version."""
    if backend not in BACKEND_LIBRARIES:
        raise QnnUnavailableError(f"unknown QNN backend {backend!r} (known: {', '.join(BACKEND_LIBRARIES)})")
    lib = BACKEND_LIBRARIES[backend]
    wheel = _wheel_dir()
    if qnn_libs is not None or os.environ.get(ENV_VAR):
        given = Path(qnn_libs if qnn_libs is not None else os.environ[ENV_VAR])
        origin = f"--qnn-libs {given}" if qnn_libs is not None else f"${ENV_VAR}={given}"
        if not given.is_dir():
            raise QnnUnavailableError(f"QNN library folder {given} ({origin}) does not exist")
        candidates = [(given, origin)]
    else:
        candidates = ([(wheel, "onnxruntime_qnn wheel")] if wheel else []) + [
            (Path(d), f"device: {d}") for d in DEVICE_LIB_DIRS
        ]
    for folder, origin in candidates:
        backend_path = folder / lib
        if not backend_path.is_file():
            continue
        missing = [] if (folder / SYSTEM_LIBRARY).is_file() else [SYSTEM_LIBRARY]
        ep_lib = folder / EP_LIBRARY
        if not ep_lib.is_file() and wheel is not None and (wheel / EP_LIBRARY).is_file():
            ep_lib = wheel / EP_LIBRARY
        if not ep_lib.is_file():
            missing.append(
                f"{EP_LIBRARY} (ONNX Runtime's QNN EP plugin: pip install onnxruntime-qnn, or put it "
                "in the same folder)"
            )
        simulator = _is_simulator()
        if backend == "htp" and soc and not simulator:
            arch = SOCS.get(soc.upper(), ("", ""))[1]
            stub = f"libQnnHtp{arch.upper()}Stub.so"
            if arch and not (folder / stub).is_file():
                missing.append(f"{stub} (HTP {arch} stub for {soc}; its Skel must be on the DSP library path)")
        if missing:
            raise QnnUnavailableError(
                f"QNN libraries in {folder} ({origin}) are incomplete: missing " + "; ".join(missing)
            )
        return QnnLibs(str(ep_lib), str(backend_path), origin, simulator)
    where = ", ".join(str(f) for f, _ in candidates) or "(nowhere)"
    raise QnnUnavailableError(
        f"QNN backend library {lib} not found (looked in: {where}); pass --qnn-libs DIR "
        "with the device's QNN libraries (QAIRT SDK or vendor image)"
    )


def register(ort, libs: QnnLibs) -> list:
    """Register the QNN EP plugin with onnxruntime (once per process); return its OrtEpDevice list."""
    if not hasattr(ort, "register_execution_provider_library"):
        raise QnnUnavailableError(
            f"onnxruntime {ort.__version__} here has no plugin-EP API (needs >= 1.23) to load the QNN EP"
        )
    devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
    if not devices:
        try:
            ort.register_execution_provider_library(EP_NAME, libs.ep_library)
        except Exception as e:  # onnxruntime raises a plain RuntimeError/Fail on a bad library
            raise QnnUnavailableError(
                f"onnxruntime could not load the QNN EP plugin {libs.ep_library}: {str(e).strip().splitlines()[0]}"
            ) from None
        devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
    if not devices:
        raise QnnUnavailableError(f"the QNN EP plugin {libs.ep_library} loaded but offers no device")
    return devices


def provider_options(
    libs: QnnLibs, soc: str | None = None, fp16: bool = False, profile_csv: str | os.PathLike | None = None
) -> dict[str, str]:
    """QNN EP options. The graph I/O (de)quantization stays on the HTP (offload_graph_io_quantization=0):
    otherwise ONNX Runtime keeps the input Q / output DQ on the CPU and the graph is not fully offloaded."""
    opts = {"backend_path": libs.backend_path, "offload_graph_io_quantization": "0", "htp_performance_mode": "burst"}
    if soc:
        opts["soc_model"] = str(soc).upper()
    if fp16:
        opts["enable_htp_fp16_precision"] = "1"
    if profile_csv is not None:
        opts["profiling_level"] = "detailed"
        opts["profiling_file_path"] = str(profile_csv)
    return opts


def ep_version() -> str:
    """Version of the onnxruntime-qnn wheel here (or 'not installed')."""
    try:
        import onnxruntime_qnn
    except ImportError:
        return "not installed"
    return getattr(onnxruntime_qnn, "__version__", "unknown")


def qnn_sdk_version() -> str:
    """QNN SDK version the onnxruntime-qnn wheel was built with (or 'unknown')."""
    try:
        from onnxruntime_qnn import build_and_package_info
    except ImportError:
        return "unknown"
    return getattr(build_and_package_info, "qnn_version", "unknown")
