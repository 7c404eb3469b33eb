"""Assemble, on the host, the runner tree a device needs for one artifact target, keyed by its content:

- ``native`` (ExecuTorch): ``bin/fsplit-bench-native`` + ``lib/`` (the ExecuTorch libraries it links);
- ``python`` (LiteRT, ONNX Runtime): ``site/`` = the device agent packages (bench/device, runtime, codec) with
  the C coder as ``codec/libfsplit_rans.so`` for the device's machine + numpy + that one runtime, unpacked
  from the device platform's wheels. No torch, no pip on the device: this is the slim device-side install.

The key hashes every input (file names and bytes), so a changed agent, runtime version or runner build gives a
new key and the device cache (:mod:`.device_cache`) installs it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..bundle import NATIVE_NAME, _copy_agent
from ..elf_deps import bundled_dependencies
from ..errors import NativeRunnerError
from . import wheels
from .coder_lib import LIBRARY_NAME, coder_library
from .host_cache import host_cache_dir
from .native import native_runner

READY = ".fsplit-ready"
PYTHON_TARGETS = tuple(wheels.RUNTIME_DISTRIBUTIONS)


@dataclass(frozen=True)
class Runner:
    kind: str  # native | python
    name: str  # e.g. python-tflite-linux-aarch64 (cache entries of one name replace each other)
    key: str  # content hash (hex, 16)
    tree: Path  # the assembled folder on the host
    size_bytes: int


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != READY):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _finish(staging: Path, name: str, kind: str, key: str, meta: dict) -> Runner:
    """Move a staged tree to runners/<name>-<key> in the host cache (atomically; another run may race us)."""
    final = host_cache_dir() / "runners" / f"{name}-{key}"
    if not (final / READY).is_file():
        (staging / "RUNNER.json").write_text(json.dumps({"name": name, "kind": kind, "key": key, **meta}, indent=1))
        (staging / READY).write_text(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        for old in final.parent.glob(f"{name}-*"):  # one host copy per runner name, as on the device
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
    else:
        shutil.rmtree(staging, ignore_errors=True)
    return Runner(kind, name, key, final, tree_size(final))


def _staging() -> Path:
    root = host_cache_dir() / "runners"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=root))


def native(profile) -> Runner:
    binary, lib_dirs = native_runner(profile)
    staging = _staging()
    (staging / "bin").mkdir()
    shutil.copy2(binary, staging / "bin" / NATIVE_NAME)
    os.chmod(staging / "bin" / NATIVE_NAME, 0o755)
    (staging / "lib").mkdir()
    for lib in bundled_dependencies(binary, lib_dirs):
        shutil.copy2(lib, staging / "lib" / lib.name)
    name = f"native-executorch-{profile.platform}"
    return _finish(staging, name, "native", tree_hash(staging), {"binary": str(binary)})


def python_agent(profile, target: str) -> Runner:
    if target not in PYTHON_TARGETS:
        raise NativeRunnerError(f"the slim Python agent runs {', '.join(PYTHON_TARGETS)} artifacts, not {target!r}")
    if profile.os != "linux" or not profile.python:
        what = "no python3" if not profile.python else f"OS {profile.os}"
        raise NativeRunnerError(
            f"{profile.platform} has {what}: the {target} runtime runs in the Python agent, "
            "which needs python3 on a Linux device (install python3 there, or benchmark an "
            "ExecuTorch artifact, which runs in the native runner)"
        )
    if profile.python_impl != "cpython":
        raise NativeRunnerError(f"python3 on the device is {profile.python_impl}, wheels exist for CPython only")
    requirements = [wheels.pinned(d) for d in wheels.BASE_DISTRIBUTIONS + wheels.RUNTIME_DISTRIBUTIONS[target]]
    found = wheels.download(requirements, profile.machine, profile.python)
    staging = _staging()
    _copy_agent(staging)  # writes staging/py/fsplit_mobile, the package structure the agent ships with
    site = staging / "site"
    os.replace(staging / "py", site)
    codec = site / "fsplit_mobile" / "codec"
    for ext in codec.glob("*.so"):
        ext.unlink()  # the host's CPython extension: the device loads the ctypes library instead
    shutil.copy2(coder_library(profile.machine), codec / LIBRARY_NAME)
    agent_key = tree_hash(staging)
    key = hashlib.sha256((agent_key + "|" + "|".join(w.name for w in found)).encode()).hexdigest()[:16]
    name = f"python-{target}-{profile.platform}-cp{profile.python.replace('.', '')}"
    if (host_cache_dir() / "runners" / f"{name}-{key}" / READY).is_file():
        shutil.rmtree(staging)
        final = host_cache_dir() / "runners" / f"{name}-{key}"
        return Runner("python", name, key, final, tree_size(final))
    wheels.unpack(found, site)
    return _finish(staging, name, "python", key, {"wheels": [w.name for w in found]})


def for_target(profile, target: str) -> Runner:
    """The runner an artifact of `target` needs on this device."""
    if target == "executorch":
        return native(profile)
    if target in PYTHON_TARGETS:
        return python_agent(profile, target)
    raise NativeRunnerError(f"no device runner for {target!r} artifacts (coreml needs an Apple device)")
