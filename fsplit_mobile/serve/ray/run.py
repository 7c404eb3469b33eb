"""Running the application: connect to (or start) a Ray cluster, start Serve's HTTP proxies, deploy, and
block until SIGINT/SIGTERM; then delete the application (and stop the local cluster if this process
started it).

Signals. `ray.init` installs, in this (driver) process, Abseil's failure-signal handler for SIGTERM (among
others): it prints a stack trace, chains to the Python handler and arms a 3 s alarm that aborts the process
(SIGABRT) if it is still alive then. Deleting the app takes longer than that as soon as a replica is busy, so
a SIGTERM that reached that handler ended in an abort (exit -6) instead of a clean stop. Hence our handlers are
put back right after `ray.init`, before anything slow (proxies, deployment), a signal during start-up aborts
the start-up (the app is deleted all the same), and the clean-up cancels any alarm such a handler armed (a
signal inside `ray.init` itself, before ours are back)."""

import os
import signal
import sys
import threading

from ..limits import ServeLimits
from .options import RayOptions, runtime_env

APP_NAME = "fsplit"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(BaseException):
    """SIGINT/SIGTERM arrived while the application was still starting."""


class _Stopper:
    """Our SIGINT/SIGTERM handler: during start-up it raises StopRequested in the main thread (where Python
    runs signal handlers); once serving it only sets the event serve_forever waits on."""

    def __init__(self):
        self.stop = threading.Event()
        self.starting = True

    def __call__(self, signum, frame):
        self.stop.set()
        if self.starting:
            self.starting = False  # raise once: a second signal must not interrupt the clean-up
            raise StopRequested(signal.Signals(signum).name)

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self)


def start(
    artifact_dir,
    limits: ServeLimits,
    opts: RayOptions,
    intra_op_threads: int = 0,
    *,
    ray_init_kwargs: dict | None = None,
    on_connected=None,
):
    """Deploy and return the app's DeploymentHandle once every replica is up (the model loaded).

    `on_connected()` runs right after `ray.init`, before the proxies start and the app deploys."""
    import ray
    from ray import serve

    from .deployment import application

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(address=opts.address, runtime_env=runtime_env(opts, artifact_dir), **(ray_init_kwargs or {}))
    if on_connected is not None:
        on_connected()
    serve.start(proxy_location=opts.proxy_location, http_options={"host": opts.http_host, "port": opts.http_port})
    return serve.run(application(artifact_dir, limits, opts, intra_op_threads), name=APP_NAME, route_prefix="/")


def serve_forever(
    artifact_dir,
    limits: ServeLimits,
    opts: RayOptions,
    intra_op_threads: int = 0,
    front: tuple[str, int] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; 0 once the app is deleted, whether the signal came while serving or while
    starting. `front=(host, port)`: fsplit-serve's guarded connection layer listens there (front.py) and
    forwards to Ray's proxy at opts.http_host:opts.http_port (loopback)."""
    import ray
    from ray import serve

    guard = None
    stopper = _Stopper()
    stopper.install()  # before ray.init (which puts its own in place; `connected` puts ours back)

    def connected():
        stopper.install()
        print(f"fsplit-serve (ray): connected to the cluster; deploying {artifact_dir}", flush=True)

    try:
        start(artifact_dir, limits, opts, intra_op_threads, on_connected=connected)
        stopper.install()  # again: nothing Ray did while deploying may leave its handler in place
        where = proxy_url(opts)
        if front is not None and not stopper.stop.is_set():
            from .front import Front

            guard = Front(front[0], front[1], where, limits)
            guard.start()
            where = f"http://{front[0]}:{front[1]} (guarded front; Ray's proxy on {where})"
        stopper.starting = False
        if not stopper.stop.is_set():
            print(f"fsplit-serve (ray): serving {artifact_dir} on {where} (proxies: {opts.proxy_location})", flush=True)
        stopper.stop.wait()
    except StopRequested as why:
        print(f"fsplit-serve (ray): {why} while starting; deleting the app", flush=True)
        during_start_up = True
    else:
        during_start_up = False
    finally:
        stopper.starting = False
        if guard is not None:
            guard.stop()  # new connections are refused from here on; Ray's in-flight answers are not awaited
        signal.alarm(0)  # an abort alarm armed by Ray's failure-signal handler (see the module docstring)
        deleted = _delete_and_disconnect(ray, serve)
    # stopped while starting, Serve may not have had the app (or even its controller) yet: nothing to delete
    return 0 if deleted or during_start_up else 1


def proxy_url(opts: RayOptions) -> str:
    """Where Serve's HTTP proxies really listen: on a cluster where Serve already runs (an earlier
    `fsplit-serve --engine ray --ray-address ...`), `serve.start` keeps the HTTP options it started with and
    ignores ours, so the front must forward to those."""
    try:
        from ray.serve.context import _get_global_client

        client = _get_global_client()
        if client is None:  # Serve is not running here
            return f"http://{opts.http_host}:{opts.http_port}"
        cfg = client.http_config
        host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::", "") else cfg.host
        return f"http://{host}:{cfg.port}"
    except Exception:  # noqa: BLE001 - an internal API: fall back to what we asked for
        return f"http://{opts.http_host}:{opts.http_port}"


def _delete_and_disconnect(ray, serve) -> bool:
    """Delete the app and leave the cluster; False (after saying why) if the app could not be deleted."""
    if not ray.is_initialized():
        return True
    try:
        serve.delete(APP_NAME)
        return True
    except Exception as exc:  # noqa: BLE001 - reported, and the exit status says so
        print(f"fsplit-serve (ray): could not delete the app: {exc}", file=sys.stderr, flush=True)
        return False
    finally:
        ray.shutdown()
