"""The C coder as a plain shared library (``libfsplit_rans.so``) for the device's architecture, loaded there by
:mod:`fsplit_mobile.codec._rans_ctypes`. A plain library needs no Python headers for the target, so one C
compiler for that architecture (Debian's ``gcc-aarch64-linux-gnu`` for boards) is enough. Built once per
(machine, source hash) into the host cache."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from pathlib import Path

from ..errors import NativeRunnerError
from .host_cache import host_cache_dir

# What the CPython extension compiles too (setup.py): the single-stream and the interleaved payloads.
SOURCES = ("fsplit_rans.c", "fsplit_interleaved.c", "fsplit_interleaved_avx2.c", "fsplit_interleaved_neon.c")
HEADERS = ("fsplit_rans.h", "fsplit_interleaved.h", "fsplit_ilv_internal.h", "fsplit_ilv_tables.h")
COMPILERS = {"aarch64": ("aarch64-linux-gnu-gcc",), "x86_64": ("x86_64-linux-gnu-gcc",)}
LIBRARY_NAME = "libfsplit_rans.so"
# Debian package that provides the cross compiler named first in COMPILERS.
COMPILER_PACKAGES = {"aarch64": "gcc-aarch64-linux-gnu", "x86_64": "gcc-x86-64-linux-gnu"}


def source_dir() -> Path:
    """runtimes/c of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[3] / "runtimes" / "c"


def find_compiler(machine: str) -> str | None:
    env = os.environ.get(f"FSPLIT_CC_{machine.upper()}")
    candidates = ([env] if env else []) + list(COMPILERS.get(machine, ()))
    if machine == platform.machine():
        candidates += ["cc", "gcc"]
    return next((c for c in candidates if shutil.which(c)), None)


def coder_library(machine: str) -> Path:
    """Path of libfsplit_rans.so built for `machine` (built now if this source has not been built yet)."""
    src = source_dir()
    if not all((src / f).is_file() for f in SOURCES + HEADERS):
        raise NativeRunnerError(
            f"C coder sources not found in {src}: provisioning a {machine} device needs a "
            "source checkout of fsplit-mobile (runtimes/c)"
        )
    digest = hashlib.sha256()
    for f in SOURCES + HEADERS:
        digest.update(f.encode() + b"\0" + (src / f).read_bytes())
    out = host_cache_dir() / "coder" / f"{machine}-{digest.hexdigest()[:16]}" / LIBRARY_NAME
    if out.is_file():
        return out
    cc = find_compiler(machine)
    if cc is None:
        package = COMPILER_PACKAGES.get(machine, f"a C compiler for {machine}")
        raise NativeRunnerError(
            f"no C compiler for {machine} on this host to build the coder library: install "
            f"{package} (scripts/install_system_deps.sh) or set FSPLIT_CC_{machine.upper()}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    argv = [
        cc,
        "-std=c99",
        "-O2",
        "-fPIC",
        "-shared",
        "-Wall",
        "-Wextra",
        "-Werror",
        *(str(src / f) for f in SOURCES),
        "-o",
        str(tmp),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise NativeRunnerError(f"building the coder library for {machine} failed: {proc.stderr[-800:]}")
    os.replace(tmp, out)
    return out
