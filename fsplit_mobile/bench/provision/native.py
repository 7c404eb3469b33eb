"""The native ExecuTorch runner (runtimes/native) for the device's platform, with the runtime libraries it
links: the host build for a Linux device of the host's architecture, the cross build (runtimes/native/build.sh
aarch64, against the executorch manylinux aarch64 wheel) for linux-aarch64. Built on first use from a source
checkout. Android needs an NDK build that cannot be made here: the error says what to pass instead."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from ..bundle import NATIVE_NAME, executorch_lib_dir
from ..errors import NativeRunnerError

NATIVE_DIR = Path(__file__).resolve().parents[3] / "runtimes" / "native"
CROSS_TARGETS = {"aarch64": "aarch64"}  # device machine -> build.sh target
CROSS_MIN_GLIBC = (2, 34)  # the newest symbol version the aarch64 cross build links (GLIBC_2.34)


def _glibc(libc: str | None) -> tuple[int, ...] | None:
    """(2, 36) from python's 'glibc-2.36'; None when unknown or not glibc."""
    if not libc or not libc.startswith("glibc-"):
        return None
    try:
        return tuple(int(x) for x in libc[6:].split(".")[:2])
    except ValueError:
        return None


def _build(target: str, build_dir: Path) -> None:
    script = NATIVE_DIR / "build.sh"
    if not script.is_file():
        raise NativeRunnerError(
            f"no native runner for this device and no source checkout to build one "
            f"({script} missing): pass --native-runner PATH --native-lib-dir DIR"
        )
    proc = subprocess.run([str(script), target, str(build_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise NativeRunnerError(
            f"building the native runner ({script} {target}) failed; pass --native-runner "
            f"PATH --native-lib-dir DIR instead, or fix the build: {proc.stderr[-800:]}"
        )


def native_runner(profile) -> tuple[Path, tuple[Path, ...]]:
    """(binary, runtime library dirs) of a native runner that runs on the device described by `profile`."""
    if profile.os == "android":
        raise NativeRunnerError(
            f"no ExecuTorch runner for {profile.platform} can be built on this host: it needs the Android NDK "
            "and an ExecuTorch build for arm64-v8a (runtimes/native/build.sh android, docs/bench.md). Build it "
            "where those exist and pass --native-runner PATH --native-lib-dir DIR (or --runner app with the demo "
            "app installed); LiteRT and ONNX artifacts need a Python on the device, which Android lacks"
        )
    if profile.os != "linux":
        raise NativeRunnerError(
            f"no native runner build for {profile.platform} (Linux aarch64/x86_64 only): "
            "pass --native-runner PATH --native-lib-dir DIR"
        )
    if profile.machine == platform.machine():
        binary = NATIVE_DIR / "build" / NATIVE_NAME
        if not binary.is_file():
            _build("host", binary.parent)
        lib = executorch_lib_dir()
        if lib is None:
            raise NativeRunnerError(
                "the executorch package is not installed on this host, so the native runner's "
                "runtime libraries are missing: pip install fsplit-mobile (full install)"
            )
        return binary, (lib,)
    target = CROSS_TARGETS.get(profile.machine)
    if target is None:
        raise NativeRunnerError(
            f"no cross build of the native runner for {profile.platform} (known: linux-"
            f"{', linux-'.join(CROSS_TARGETS)}): pass --native-runner PATH --native-lib-dir DIR"
        )
    glibc = _glibc(profile.libc)
    if glibc and glibc < CROSS_MIN_GLIBC:
        raise NativeRunnerError(
            f"the {target} native runner is built against glibc "
            f"{'.'.join(map(str, CROSS_MIN_GLIBC))} (Debian bookworm's cross toolchain); the "
            f"device has {profile.libc}: build runtimes/native for it and pass --native-runner "
            "PATH --native-lib-dir DIR"
        )
    build_dir = NATIVE_DIR / f"build-{target}"
    binary = build_dir / NATIVE_NAME
    if not binary.is_file():
        _build(target, build_dir)
    libs = sorted((NATIVE_DIR.parents[1] / ".cache" / f"wheels-{target}").glob("unpacked-*/executorch/lib"))
    if not binary.is_file() or not libs:
        raise NativeRunnerError(f"the {target} native runner build left no {binary} or executorch libraries")
    return binary, (libs[-1],)
