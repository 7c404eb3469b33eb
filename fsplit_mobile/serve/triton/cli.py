"""`fsplit-serve --engine triton`: write a Triton model repository for the artifact (repository.py), then run
the bundled tritonserver on it in the foreground until SIGINT/SIGTERM (server.py), by default on loopback behind
the guarded front (front.py: fsplit-serve's connection layer and API on --host:--port). `--triton-write-only`
only writes the repository (for a Triton of your own, e.g. NVIDIA's container, whose Python has fsplit-mobile)."""

import signal
import tempfile
import threading
from pathlib import Path

import click

from ..limits import ServeLimits
from .model import ARTIFACT_DIR


def run_triton(
    artifact_dir,
    *,
    host: str,
    port: int,
    intra_op_threads: int,
    repository: str | None,
    write_only: bool,
    overwrite: bool,
    model_name: str,
    instances: int,
    max_batch: int,
    queue_delay_us: int,
    limits: ServeLimits | None = None,
    front: str = "guarded",
    triton_port: int = 0,
    ready_timeout_s: float = 300,
) -> int:
    """`front="guarded"`: the front on host:port, Triton's HTTP on 127.0.0.1:`triton_port` (0: a free port);
    `"none"`: Triton itself on host:port."""
    from ..front import free_loopback_port
    from .repository import RepositoryError, TritonModelOptions, write_model_repository
    from .server import TritonProcess, TritonUnavailable

    try:
        opts = TritonModelOptions(
            name=model_name,
            max_batch_size=max_batch,
            max_queue_delay_us=queue_delay_us,
            instances=instances,
            intra_op_threads=intra_op_threads,
        )
    except RepositoryError as exc:
        raise click.BadParameter(str(exc)) from exc
    if write_only and repository is None:
        raise click.BadParameter("--triton-write-only needs --triton-repository DIR")
    with tempfile.TemporaryDirectory(prefix="fsplit-triton-") as tmp:
        repo = Path(repository) if repository else Path(tmp) / "models"
        try:
            model_dir = write_model_repository(artifact_dir, repo, opts, overwrite=overwrite)
        except RepositoryError as exc:
            click.echo(f"fsplit-serve: {exc}", err=True)
            return 2
        if write_only:
            click.echo(f"wrote Triton model repository {repo} (model {model_dir.name})")
            return 0
        guarded = front == "guarded"
        triton_host, triton_port = ("127.0.0.1", triton_port or free_loopback_port()) if guarded else (host, port)
        try:
            triton = TritonProcess(repo, Path(tmp) / "server", model=opts.name, host=triton_host, port=triton_port)
        except TritonUnavailable as exc:
            click.echo(f"fsplit-serve: {exc}", err=True)
            return 2
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        guard = None
        triton.start()
        try:
            try:
                waited = triton.wait_ready(ready_timeout_s)
            except TritonUnavailable as exc:
                if stop.is_set():
                    return 0
                click.echo(f"fsplit-serve: {exc}", err=True)
                return 1
            where = f"{triton.url}/v2/models/{opts.name}/infer"
            if guarded:
                from .front import Front

                guard = Front(
                    host, port, triton.url, model_dir / "1" / ARTIFACT_DIR, limits or ServeLimits(), opts.name
                )
                try:
                    guard.start()
                except OSError as exc:
                    click.echo(f"fsplit-serve: cannot listen on {host}:{port}: {exc}", err=True)
                    return 1
                url = f"http://{host}:{port}"
                where = f"{url}/v1/infer and {url}/v2/models/{opts.name}/infer (guarded front; Triton on {triton.url})"
            click.echo(f"fsplit-serve: Triton serving {opts.name} on {where} (ready after {waited:.1f} s)", err=True)
            while not stop.wait(0.5):
                if not triton.alive():
                    rc = None if triton.proc is None else triton.proc.returncode
                    click.echo(f"fsplit-serve: tritonserver exited (rc {rc})", err=True)
                    return 1
            return 0
        finally:
            if guard is not None:
                guard.stop()
            rc = triton.stop()
            if rc not in (0, None) and not stop.is_set():
                click.echo(f"fsplit-serve: tritonserver ended with rc {rc}", err=True)
