"""Run the `tritonserver` binary that the `nvidia-pytriton` wheel ships (Triton 2.51 with the python backend only)
on a model repository, on this machine.

The wheel keeps one python-backend stub per Python version; like pytriton itself, we copy the backend and the
stub for this interpreter's version into a backend folder of our own. The stub links `libpython3.X.so`: the one of
this interpreter (`<base prefix>/lib`) goes first on LD_LIBRARY_PATH, or the stub would pick the system's (another
patch release). The stub's interpreter is isolated (PYTHONPATH ignored), so $FSPLIT_TRITON_PATH names this
interpreter's site-packages and the folder holding fsplit_mobile, which the repository's model.py puts first on
sys.path: the model imports the same code and libraries as fsplit-serve.
"""

import importlib.util
import os
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

DIST_ENV = "FSPLIT_TRITONSERVER_DIR"  # a folder laid out like pytriton/tritonserver (bin/, backends/, stubs)
PATH_ENV = "FSPLIT_TRITON_PATH"  # folders the model's Python puts first on sys.path (the stub ignores PYTHONPATH)


class TritonUnavailable(RuntimeError):
    """No usable tritonserver distribution here (nvidia-pytriton not installed, no stub for this Python)."""


def distribution() -> Path:
    """The tritonserver folder: $FSPLIT_TRITONSERVER_DIR, else the installed nvidia-pytriton wheel's."""
    env = os.environ.get(DIST_ENV)
    if env:
        root = Path(env)
    else:
        spec = importlib.util.find_spec("pytriton")  # locates the package without importing it (numpy<2 pin)
        if spec is None or not spec.submodule_search_locations:
            raise TritonUnavailable(
                "tritonserver not found: pip install --no-deps nvidia-pytriton==0.7.0 (docs/triton.md) "
                f"or set {DIST_ENV}"
            )
        root = Path(list(spec.submodule_search_locations)[0]) / "tritonserver"
    if not (root / "bin" / "tritonserver").is_file():
        raise TritonUnavailable(f"{root} holds no bin/tritonserver")
    return root


def prepare_backends(work, dist: Path | None = None) -> Path:
    """A backend folder (`<work>/backends/python/`: libtriton_python.so, its utils, this Python's stub)."""
    dist = dist or distribution()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise TritonUnavailable(f"{dist} has no python backend stub for Python {version}")
    backends = Path(work) / "backends"
    python = backends / "python"
    shutil.rmtree(python, ignore_errors=True)
    shutil.copytree(dist / "backends" / "python", python, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(stub, python / "triton_python_backend_stub")
    return backends


def environment(dist: Path | None = None, base: dict | None = None) -> dict:
    """tritonserver's environment: this interpreter's libpython first, then the wheel's bundled libraries (the
    copied stub's relative RPATH no longer reaches them), this interpreter's packages and fsplit_mobile."""
    dist = dist or distribution()
    env = dict(os.environ if base is None else base)
    libdirs = [
        sysconfig.get_config_var("LIBDIR"),
        os.path.join(sys.base_prefix, "lib"),
        dist.parent.parent / "nvidia_pytriton.libs",
    ]
    libdirs = [str(d) for d in dict.fromkeys(libdirs) if d and Path(d).is_dir()]
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*libdirs, *filter(None, [env.get("LD_LIBRARY_PATH")])])
    package_root = str(Path(__file__).resolve().parents[3])  # the folder holding fsplit_mobile/
    paths = [package_root, *site.getsitepackages()]
    env[PATH_ENV] = os.pathsep.join(dict.fromkeys(paths))  # read by the repository's model.py
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def command(
    repository,
    backends,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    http_threads: int = 8,
    log_verbose: int = 0,
    dist: Path | None = None,
) -> list[str]:
    """tritonserver's command line: HTTP only (GRPC and metrics off), a failing model never ends the server."""
    dist = dist or distribution()
    return [
        str(dist / "bin" / "tritonserver"),
        f"--model-repository={Path(repository).resolve()}",
        f"--backend-directory={Path(backends).resolve()}",
        f"--http-address={host}",
        f"--http-port={port}",
        f"--http-thread-count={http_threads}",
        "--allow-grpc=false",
        "--allow-metrics=false",
        "--allow-gpu-metrics=false",
        "--exit-on-error=false",
        "--strict-readiness=true",
        "--disable-auto-complete-config",
        f"--log-verbose={log_verbose}",
    ]


class TritonProcess:
    """tritonserver in its own process group (its python stubs are its children): start, wait until the model is
    ready, stop (SIGTERM, then SIGKILL of the group after `grace_s`)."""

    def __init__(self, repository, work, *, model: str = "fsplit", host="127.0.0.1", port=8000, log=None, **kw):
        self.model, self.host, self.port = model, host, port
        self.url = f"http://{host}:{port}"
        self.dist = dist = distribution()
        backends = prepare_backends(work, dist)
        self.cmd = command(repository, backends, host=host, port=port, dist=dist, **kw)
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> "TritonProcess":
        out = open(self.log, "ab") if self.log else None  # no log file: tritonserver writes to our stdout/stderr
        try:
            self.proc = subprocess.Popen(
                self.cmd, env=environment(self.dist), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if out is not None:
                out.close()
        return self

    def ready(self) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.url}/v2/models/{self.model}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def load_failure(self) -> str | None:
        """Triton's reason when the model failed to load (repository index state UNAVAILABLE), else None."""
        import httpx

        try:
            index = httpx.post(f"{self.url}/v2/repository/index", json={}, timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return None
        for entry in index if isinstance(index, list) else []:
            if entry.get("name") == self.model and entry.get("state") == "UNAVAILABLE":
                return entry.get("reason") or "unavailable"
        return None

    def wait_ready(self, timeout_s: float = 120) -> float:
        """Seconds until the model answers ready; TritonUnavailable if the server exits, the model fails to load
        or the time runs out."""
        t0 = time.monotonic()
        while not self.ready():
            if self.proc is None or self.proc.poll() is not None:
                rc = None if self.proc is None else self.proc.returncode
                raise TritonUnavailable(f"tritonserver exited (rc {rc}) before model {self.model} was ready")
            failure = self.load_failure()
            if failure:
                raise TritonUnavailable(f"model {self.model} failed to load: {failure}")
            if time.monotonic() - t0 > timeout_s:
                raise TritonUnavailable(f"model {self.model} not ready after {timeout_s:g} s")
            time.sleep(0.2)
        return time.monotonic() - t0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace_s: float = 15) -> int | None:
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)  # Triton unloads its models and ends the stubs
            deadline = time.monotonic() + grace_s
            # wait without reaping: while tritonserver is an unreaped zombie its group id cannot be reused, so
            # the SIGKILL below reaches only what is left of our own group (stubs)
            while time.monotonic() < deadline:
                if os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
                time.sleep(0.05)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return self.proc.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
