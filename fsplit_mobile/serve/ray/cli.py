"""`fsplit-serve --engine ray`: options checked and the artifact loaded here first (errors before any cluster
is touched), then run.serve_forever."""

import click

from ..front import free_loopback_port
from ..limits import LimitsError, ServeLimits


def run_ray(
    artifact_dir,
    limits: ServeLimits,
    intra_op_threads: int,
    *,
    host: str,
    port: int,
    replicas: int,
    min_replicas: int | None,
    max_replicas: int | None,
    cpus_per_replica: float,
    address: str | None,
    max_queued: int,
    ship: str,
    proxy: str = "EveryNode",
    front: str = "guarded",
    proxy_port: int = 0,
) -> int:
    from ..engine import ServerEngine
    from ..errors import ArtifactLoadError

    try:
        import ray  # noqa: F401
    except ImportError:
        click.echo("fsplit-serve: --engine ray needs Ray Serve: pip install 'fsplit-mobile[ray]'", err=True)
        return 2
    from .options import RayOptions
    from .run import serve_forever

    front_addr = None
    if front == "guarded":  # fsplit-serve's connection layer on host:port, Ray's proxy on loopback behind it
        front_addr = (host, port)
        host, port = "127.0.0.1", proxy_port or free_loopback_port()
    try:
        opts = RayOptions(
            replicas=replicas,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            cpus_per_replica=cpus_per_replica,
            max_queued_requests=max_queued,
            ship=ship,
            address=address,
            http_host=host,
            http_port=port,
            proxy_location=proxy,
        )
    except LimitsError as exc:
        raise click.BadParameter(str(exc)) from exc
    try:
        ServerEngine(artifact_dir)  # the same checks a replica makes, before shipping anything
    except (ArtifactLoadError, OSError, ValueError) as exc:
        click.echo(f"fsplit-serve: {exc}", err=True)
        return 2
    return serve_forever(artifact_dir, limits, opts, intra_op_threads, front=front_addr)
