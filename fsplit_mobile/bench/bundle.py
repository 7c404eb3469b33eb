"""The folder pushed to the device: artifact/ (manifest, encoder, tables), inputs/ (PPM), and the runner.

Runner ``python``: ``py/fsplit_mobile/`` holds the packages the device agent needs, each copied whole: the
``bench.device`` subpackage (agent, PPM, events), ``runtime`` and ``codec`` (its compiled C extension only loads on
a device of the host's architecture; otherwise install fsplit-mobile on the board and use ``installed_agent``).
What ships is the package structure: a new device-side module goes into ``bench/device/`` and ships with it.
Runner ``native``: ``bin/fsplit-bench-native`` plus the libraries it needs in ``lib/``.
"""

import json
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..runtime import rate_points
from .artifact import device_files
from .elf_deps import bundled_dependencies, is_elf
from .errors import NativeRunnerError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The parents' __init__.py files make the subpackages importable; each of them imports nothing (see its docstring)
# but the package root's version (_version.py, a leaf).
AGENT_PARENTS = ("__init__.py", "_version.py", "bench/__init__.py")
AGENT_PACKAGES = ("bench/device", "runtime", "codec")
AGENT_MODULE = "fsplit_mobile.bench.device.agent"
NATIVE_NAME = "fsplit-bench-native"
EVENTS_FILE = "device-events.jsonl"
STREAMS_DIR = "streams"


def executorch_lib_dir() -> Path | None:
    try:
        import executorch
    except ImportError:
        return None
    d = Path(list(executorch.__path__)[0]).resolve() / "lib"  # a namespace package: no __file__
    return d if d.is_dir() else None


def default_native_runner() -> Path:
    """The host build of runtimes/native (see docs/bench.md), when it exists."""
    return PACKAGE_DIR.parent / "runtimes" / "native" / "build" / NATIVE_NAME


@dataclass
class RunnerSpec:
    kind: str = "python"  # python | native | app (Android demo app, adb only)
    python: str | None = None  # interpreter on the device (default: this one for local, else python3)
    installed_agent: bool = False  # python runner: use fsplit_mobile installed on the device
    native_binary: str | None = None  # native runner binary built for the device
    native_lib_dirs: tuple = ()  # where its shared libraries are (default: the executorch wheel's lib/)
    prefix: str = ""  # command put before the runner on the device (emulator, perf, nice...)
    device_dir: str | None = None  # a runner provisioned on the device (bench/provision): bin/, lib/, site/


def _copy_agent(dest: Path) -> None:
    root = dest / "py" / "fsplit_mobile"
    for rel in AGENT_PARENTS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PACKAGE_DIR / rel, root / rel)
    for pkg in AGENT_PACKAGES:
        src = PACKAGE_DIR / pkg
        if not (src / "__init__.py").is_file():
            name = "fsplit_mobile." + pkg.replace("/", ".")
            raise NativeRunnerError(f"package {name} is missing from {PACKAGE_DIR}: the device agent needs it")
        shutil.copytree(src, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _copy_native(dest: Path, spec: RunnerSpec) -> None:
    binary = Path(spec.native_binary) if spec.native_binary else default_native_runner()
    if not binary.is_file():
        raise NativeRunnerError(
            f"native runner {binary} not found: build it (docs/bench.md, runtimes/native) or pass --native-runner"
        )
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(binary, dest / "bin" / NATIVE_NAME)
    os.chmod(dest / "bin" / NATIVE_NAME, 0o755)
    if not is_elf(binary):
        return
    lib_dirs = list(spec.native_lib_dirs) or [d for d in [executorch_lib_dir()] if d]
    libs = bundled_dependencies(binary, lib_dirs)
    (dest / "lib").mkdir()
    for lib in libs:
        shutil.copy2(lib, dest / "lib" / lib.name)


def build_bundle(dest, artifact, inputs_dir, spec: RunnerSpec) -> Path:
    """Assemble the push folder in `dest` (created)."""
    dest = Path(dest)
    (dest / "artifact").mkdir(parents=True)
    for f in device_files(artifact):
        if f.name == "manifest.json" and "rate_point" in artifact.manifest:  # one rate point's view (--rate-point)
            text = json.dumps(rate_points.device_manifest(artifact), indent=1) + "\n"
            (dest / "artifact" / f.name).write_text(text, encoding="utf-8")
            continue
        shutil.copy2(f, dest / "artifact" / f.name) if f.is_file() else shutil.copytree(f, dest / "artifact" / f.name)
    shutil.copytree(inputs_dir, dest / "inputs")
    if spec.kind == "python":
        if not spec.installed_agent and not spec.device_dir:
            _copy_agent(dest)
    elif spec.kind == "native":
        if not spec.device_dir:
            _copy_native(dest, spec)
    elif spec.kind != "app":  # app: the installed Android demo app runs the bundle (app_runner.py)
        raise NativeRunnerError(f"unknown runner kind {spec.kind!r} (python, native or app)")
    return dest


def runner_command(
    stage: str,
    spec: RunnerSpec,
    runs: int,
    warmup: int,
    threads: int | None,
    cpus: str | None = None,
    save_streams: bool = False,
    accelerator: str | None = None,
    qnn_libs: str | None = None,
) -> str:
    """The sh command line that runs the device-side runner inside the staged bundle."""
    q = shlex.quote
    args = f"--bundle {q(stage)} --runs {int(runs)} --warmup {int(warmup)} --events-file {q(stage + '/' + EVENTS_FILE)}"
    if threads:
        args += f" --threads {int(threads)}"
    if accelerator:
        args += f" --accelerator {q(accelerator)}"
    if qnn_libs:
        args += f" --qnn-libs {q(qnn_libs)}"
    if save_streams:
        args += f" --streams-dir {q(stage + '/' + STREAMS_DIR)}"
    pin = f"taskset -c {q(cpus)} " if cpus else ""
    if spec.prefix:
        pin += spec.prefix.strip() + " "
    if spec.kind == "python":
        site = spec.device_dir + "/site" if spec.device_dir else stage + "/py"
        env = "" if spec.installed_agent else f"PYTHONPATH={q(site)} "
        run = f"{env}{pin}{spec.python or 'python3'} -m {AGENT_MODULE} {args}"
    else:
        home = spec.device_dir or stage
        run = f"LD_LIBRARY_PATH={q(home + '/lib')} {pin}{q(home + '/bin/' + NATIVE_NAME)} {args}"
    # "; exit $?" keeps sh from exec-ing the runner, so a signal death reads as 128+N on every transport.
    return f"cd {q(stage)} && {run}; exit $?"
