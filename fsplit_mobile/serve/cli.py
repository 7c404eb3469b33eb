"""`fsplit-serve`: serve one artifact folder over HTTP (FastAPI + uvicorn's h11 parser with the guarded
connection layer of protocol.py; several workers under supervisor.py)."""

import sys

import click

from .limits import LimitsError, ServeLimits


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--artifact",
    "artifact_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Artifact folder written by fsplit-export (manifest.json, tables.fsct, server.onnx).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (each loads the model; limits apply per worker).",
)
@click.option(
    "--max-payload",
    default=ServeLimits.max_payload,
    show_default=True,
    type=click.IntRange(1),
    help="Largest accepted request body in bytes (larger: 413).",
)
@click.option(
    "--max-concurrency",
    default=ServeLimits.max_concurrency,
    show_default=True,
    type=click.IntRange(1),
    help="Requests decoded at the same time per worker.",
)
@click.option(
    "--max-queue",
    default=ServeLimits.max_queue,
    show_default=True,
    type=click.IntRange(0),
    help="Admitted requests waiting for a slot per worker; beyond it: 503 with Retry-After.",
)
@click.option(
    "--timeout",
    "timeout_s",
    default=ServeLimits.timeout_s,
    show_default=True,
    type=float,
    help="Seconds per request (receiving the body + decoding + server part): 408/504 beyond.",
)
@click.option(
    "--max-receiving",
    default=ServeLimits.max_receiving,
    show_default=True,
    type=click.IntRange(1),
    help="Requests whose body is still arriving per worker (slow senders); beyond it: 503.",
)
@click.option(
    "--max-connections",
    default=ServeLimits.max_connections,
    show_default=True,
    type=click.IntRange(1),
    help="Open connections per worker (lowered to what RLIMIT_NOFILE allows); beyond it: 503 + close.",
)
@click.option(
    "--header-timeout",
    "header_timeout_s",
    default=ServeLimits.header_timeout_s,
    show_default=True,
    type=float,
    help="Seconds from connect (or a keep-alive request's first byte) to a complete head.",
)
@click.option(
    "--keep-alive",
    "keep_alive_s",
    default=ServeLimits.keep_alive_s,
    show_default=True,
    type=float,
    help="Seconds an idle keep-alive connection stays open after a response.",
)
@click.option(
    "--intra-op-threads",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="ONNX Runtime threads per request (0: its default).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option(
    "--engine",
    default="uvicorn",
    show_default=True,
    type=click.Choice(["uvicorn", "ray", "triton"]),
    help="uvicorn: this host (--workers). ray: a Ray Serve application on a Ray cluster (docs/serve.md). "
    "triton: a Triton model repository served by the bundled tritonserver (docs/triton.md).",
)
@click.option("--replicas", default=1, show_default=True, type=click.IntRange(1), help="[ray] Fixed replica count.")
@click.option("--min-replicas", type=click.IntRange(0), help="[ray] Autoscaling lower bound (with --max-replicas).")
@click.option("--max-replicas", type=click.IntRange(1), help="[ray] Autoscaling upper bound.")
@click.option("--cpus-per-replica", default=1.0, show_default=True, type=float, help="[ray] num_cpus per replica.")
@click.option(
    "--ray-address", default=None, help="[ray] Cluster address (auto, ray://HOST:10001); default: a new local cluster."
)
@click.option(
    "--ray-max-queued",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="[ray] Requests Ray's proxy queues for all replicas; beyond it: 503 with Retry-After.",
)
@click.option(
    "--ship",
    default="working-dir",
    show_default=True,
    type=click.Choice(["working-dir", "path"]),
    help="[ray] working-dir: Ray ships the artifact folder to every node; path: same path on each node.",
)
@click.option(
    "--ray-proxy",
    default="EveryNode",
    show_default=True,
    type=click.Choice(["EveryNode", "HeadOnly"]),
    help="[ray] Where Ray runs HTTP proxies on --host:--port.",
)
@click.option(
    "--ray-front",
    default="guarded",
    show_default=True,
    type=click.Choice(["guarded", "none"]),
    help="[ray] guarded: fsplit-serve's connection layer (caps, timeouts, body limits) on --host:--port, "
    "forwarding to Ray's proxy on loopback. none: Ray's proxy itself on --host:--port (every node).",
)
@click.option(
    "--ray-proxy-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="[ray] Loopback port of Ray's proxy behind the guarded front (0: a free one).",
)
@click.option(
    "--triton-repository",
    type=click.Path(file_okay=False),
    help="[triton] Write the model repository here (default: a temporary folder removed at exit).",
)
@click.option("--triton-write-only", is_flag=True, help="[triton] Write the model repository and exit.")
@click.option("--triton-overwrite", is_flag=True, help="[triton] Replace the model's folder if it exists.")
@click.option("--triton-model-name", default="fsplit", show_default=True, help="[triton] Model name in the URL.")
@click.option(
    "--triton-instances", default=1, show_default=True, type=click.IntRange(1), help="[triton] Model instances."
)
@click.option(
    "--triton-max-batch",
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="[triton] Requests the dynamic batcher hands to one execute() call.",
)
@click.option(
    "--triton-queue-delay-us",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="[triton] Microseconds the dynamic batcher waits to fill a batch.",
)
@click.option(
    "--triton-front",
    default="guarded",
    show_default=True,
    type=click.Choice(["guarded", "none"]),
    help="[triton] guarded: fsplit-serve's connection layer and API (/v1/infer, /healthz, /v1/model) on "
    "--host:--port, KServe /v2 forwarded to tritonserver on loopback. none: tritonserver itself on --host:--port.",
)
@click.option(
    "--triton-port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="[triton] Loopback HTTP port of tritonserver behind the guarded front (0: a free one).",
)
def main(
    artifact_dir,
    host,
    port,
    workers,
    max_payload,
    max_concurrency,
    max_queue,
    timeout_s,
    max_receiving,
    max_connections,
    header_timeout_s,
    keep_alive_s,
    intra_op_threads,
    log_level,
    engine,
    replicas,
    min_replicas,
    max_replicas,
    cpus_per_replica,
    ray_address,
    ray_max_queued,
    ship,
    ray_proxy,
    ray_front,
    ray_proxy_port,
    triton_repository,
    triton_write_only,
    triton_overwrite,
    triton_model_name,
    triton_instances,
    triton_max_batch,
    triton_queue_delay_us,
    triton_front,
    triton_port,
):
    """Decode stream containers with the C coder and run the artifact's server part.

    POST /v1/infer (application/octet-stream) -> top-5 JSON; GET /healthz; OpenAPI at /openapi.json.
    """
    from .app import CONFIG_ENV, config_to_env, create_app
    from .errors import ArtifactLoadError

    try:
        limits = ServeLimits(
            max_payload=max_payload,
            timeout_s=timeout_s,
            max_concurrency=max_concurrency,
            max_queue=max_queue,
            max_receiving=max_receiving,
            max_connections=max_connections,
            header_timeout_s=header_timeout_s,
            keep_alive_s=keep_alive_s,
        )
    except LimitsError as exc:
        raise click.BadParameter(str(exc)) from exc
    if engine == "triton":
        from .triton.cli import run_triton

        if workers != 1:
            raise click.BadParameter("--workers is for --engine uvicorn; Triton scales with --triton-instances")
        sys.exit(
            run_triton(
                artifact_dir,
                host=host,
                port=port,
                intra_op_threads=intra_op_threads,
                repository=triton_repository,
                write_only=triton_write_only,
                overwrite=triton_overwrite,
                model_name=triton_model_name,
                instances=triton_instances,
                max_batch=triton_max_batch,
                queue_delay_us=triton_queue_delay_us,
                limits=limits,
                front=triton_front,
                triton_port=triton_port,
            )
        )
    if engine == "ray":
        from .ray.cli import run_ray

        if workers != 1:
            raise click.BadParameter("--workers is for --engine uvicorn; a Ray application scales with --replicas")

        sys.exit(
            run_ray(
                artifact_dir,
                limits,
                intra_op_threads,
                host=host,
                port=port,
                replicas=replicas,
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                cpus_per_replica=cpus_per_replica,
                address=ray_address,
                max_queued=ray_max_queued,
                ship=ship,
                proxy=ray_proxy,
                front=ray_front,
                proxy_port=ray_proxy_port,
            )
        )
    try:
        app = create_app(artifact_dir, limits=limits, intra_op_threads=intra_op_threads)
    except (ArtifactLoadError, OSError, ValueError) as exc:
        click.echo(f"fsplit-serve: {exc}", err=True)
        sys.exit(2)
    if workers == 1:
        from .server import serve_in_process

        serve_in_process(app, host, port, limits, log_level)
    else:
        import logging

        from .supervisor import Supervisor

        del app  # checked above; each worker process builds its own
        logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(message)s")
        try:
            supervisor = Supervisor(
                host, port, workers, {CONFIG_ENV: config_to_env(artifact_dir, limits, intra_op_threads)}, log_level
            )
        except OSError as exc:
            click.echo(f"fsplit-serve: cannot listen on {host}:{port}: {exc}", err=True)
            sys.exit(1)
        sys.exit(supervisor.run())


if __name__ == "__main__":
    main()
