"""Binary wheels for the device's platform, fetched on the host (a board may have no network, and never needs
pip): ``pip download --only-binary=:all: --platform ... --python-version ... --no-deps`` of the exact versions
installed on this host, so the device runs the runtime the host measured against. Wheels are unpacked (a
wheel is a zip; purelib/platlib ``.data`` folders are merged) into a plain ``site`` folder put on PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from ..errors import NativeRunnerError
from .host_cache import host_cache_dir

# What each artifact target needs in the Python agent besides numpy (checked: these import nothing else).
RUNTIME_DISTRIBUTIONS = {"tflite": ("ai-edge-litert",), "onnx": ("onnxruntime",)}
BASE_DISTRIBUTIONS = ("numpy",)
# Platform tags pip may pick for a glibc Linux device of each machine (newest first).
LINUX_PLATFORMS = {
    "aarch64": ("manylinux_2_28_aarch64", "manylinux_2_27_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
    "x86_64": ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
}


def pinned(distribution: str) -> str:
    """``name==version`` of the host's installed copy (the device gets the same version)."""
    try:
        return f"{distribution}=={metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        raise NativeRunnerError(
            f"{distribution} is not installed on this host, so its version for the device is "
            "unknown: install fsplit-mobile with its runtimes (pip install fsplit-mobile)"
        ) from None


def download(requirements: list[str], machine: str, python: str) -> list[Path]:
    """The wheels (one per requirement) for CPython `python` on linux-`machine`, cached on the host."""
    if machine not in LINUX_PLATFORMS:
        raise NativeRunnerError(f"no wheel platform known for linux-{machine} (known: {', '.join(LINUX_PLATFORMS)})")
    dest = host_cache_dir() / "wheels" / f"linux-{machine}-cp{python.replace('.', '')}"
    dest.mkdir(parents=True, exist_ok=True)
    found = [_cached(dest, r) for r in requirements]
    missing = [r for r, w in zip(requirements, found) if w is None]
    if missing:
        argv = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            python,
            "-d",
            str(dest),
        ]
        for tag in LINUX_PLATFORMS[machine]:
            argv += ["--platform", tag]
        proc = subprocess.run(argv + missing, capture_output=True, text=True)
        if proc.returncode != 0:
            raise NativeRunnerError(
                f"could not fetch {', '.join(missing)} wheels for linux-{machine} CPython "
                f"{python} (pip download): {proc.stderr.strip()[-600:]}"
            )
        found = [_cached(dest, r) for r in requirements]
    if None in found:
        raise NativeRunnerError(f"pip download gave no wheel for {requirements[found.index(None)]} in {dest}")
    return [p for p in found if p is not None]  # all of them (checked above)


def _cached(folder: Path, requirement: str) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = name.replace("-", "_").lower()
    for wheel in sorted(folder.glob("*.whl")):
        parts = wheel.name.split("-")
        if parts[0].lower() == stem and parts[1] == version:
            return wheel
    return None


def unpack(wheels: list[Path], site: Path) -> None:
    """Install wheels into `site` the way pip would for a --target install, without pip."""
    site.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)
    for data in site.glob("*.data"):
        for kind in ("purelib", "platlib"):
            if (data / kind).is_dir():
                shutil.copytree(data / kind, site, dirs_exist_ok=True)
        shutil.rmtree(data)
    for path in site.rglob("*.so*"):  # zip keeps no modes; dlopen does not need +x but tools like ldd do
        os.chmod(path, 0o755)
