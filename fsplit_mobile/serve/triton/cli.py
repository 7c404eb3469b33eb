"""`fsplit-serve --engine triton`: write a Triton model repository for the artifact (repository.py), then run
the bundled tritonserver on it in the foreground until SIGINT/SIGTERM (server.py). `--triton-write-only` only
writes the repository (for a Triton of your own, e.g. NVIDIA's container, whose Python has fsplit-mobile)."""

import signal
import tempfile
import threading
from pathlib import Path

import click


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
    ready_timeout_s: float = 300,
) -> int:
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
        try:
            triton = TritonProcess(repo, Path(tmp) / "server", model=opts.name, host=host, port=port)
        except TritonUnavailable as exc:
            click.echo(f"fsplit-serve: {exc}", err=True)
            return 2
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        triton.start()
        try:
            try:
                waited = triton.wait_ready(ready_timeout_s)
            except TritonUnavailable as exc:
                if stop.is_set():
                    return 0
                click.echo(f"fsplit-serve: {exc}", err=True)
                return 1
            click.echo(
                f"fsplit-serve: Triton serving {opts.name} on {triton.url}{'/v2/models/' + opts.name}/infer "
                f"(ready after {waited:.1f} s)",
                err=True,
            )
            while not stop.wait(0.5):
                if not triton.alive():
                    click.echo(f"fsplit-serve: tritonserver exited (rc {triton.proc.returncode})", err=True)
                    return 1
            return 0
        finally:
            rc = triton.stop()
            if rc not in (0, None) and not stop.is_set():
                click.echo(f"fsplit-serve: tritonserver ended with rc {rc}", err=True)
