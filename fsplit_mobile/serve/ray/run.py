"""Running the application: connect to (or start) a Ray cluster, start Serve's HTTP proxies, deploy, and
block until SIGINT/SIGTERM; then delete the application (and stop the local cluster if this process
started it)."""

import os
import signal
import threading

from ..limits import ServeLimits
from .options import RayOptions, runtime_env

APP_NAME = "fsplit"


def start(
    artifact_dir,
    limits: ServeLimits,
    opts: RayOptions,
    intra_op_threads: int = 0,
    *,
    ray_init_kwargs: dict | None = None,
):
    """Deploy and return the app's DeploymentHandle once every replica is up (the model loaded)."""
    import ray
    from ray import serve

    from .deployment import application

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(address=opts.address, runtime_env=runtime_env(opts, artifact_dir), **(ray_init_kwargs or {}))
    serve.start(proxy_location=opts.proxy_location, http_options={"host": opts.http_host, "port": opts.http_port})
    return serve.run(application(artifact_dir, limits, opts, intra_op_threads), name=APP_NAME, route_prefix="/")


def serve_forever(artifact_dir, limits: ServeLimits, opts: RayOptions, intra_op_threads: int = 0) -> int:
    import ray
    from ray import serve

    stop = threading.Event()
    try:
        start(artifact_dir, limits, opts, intra_op_threads)
        # after ray.init: its core worker installs its own fatal-signal handlers, which would abort the process
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        print(
            f"fsplit-serve (ray): serving {artifact_dir} on http://{opts.http_host}:{opts.http_port} "
            f"(proxies: {opts.proxy_location})",
            flush=True,
        )
        stop.wait()
    finally:
        if ray.is_initialized():
            try:
                serve.delete(APP_NAME)
            finally:
                ray.shutdown()
    return 0
