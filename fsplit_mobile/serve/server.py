"""Running the HTTP layer: a uvicorn server with the guarded protocol (protocol.py), in this process or as
one of the supervisor's workers (supervisor.py). Everything a hostile client can exhaust is bounded here:
file descriptors (RLIMIT_NOFILE raised where allowed, connection cap below it), log volume (logfilter.py)."""

import socket

from .limits import ServeLimits
from .logfilter import install_rate_limit
from .protocol import ACCEPT_BACKLOG, FD_RESERVE, protocol_class, raise_nofile_limit


def prepare_process(limits: ServeLimits) -> None:
    """Once per serving process: file limit for the connection cap, rate-limited error logging."""
    raise_nofile_limit(limits.max_connections + FD_RESERVE)
    install_rate_limit()


def uvicorn_config(app, limits: ServeLimits, log_level: str = "info", **kwargs):
    """A uvicorn.Config for `app` (an ASGI app or an import string) using the guarded h11 protocol."""
    import uvicorn

    # asyncio accepts up to `backlog` connections per wake-up before any protocol can refuse one: a small
    # backlog keeps that overshoot below the descriptors held in reserve (protocol.effective_max_connections)
    return uvicorn.Config(
        app,
        http=protocol_class(limits),
        # uvicorn annotates it int but only hands it to loop.call_later, which takes seconds as float
        timeout_keep_alive=limits.keep_alive_s,  # type: ignore[arg-type]
        log_level=log_level,
        backlog=ACCEPT_BACKLOG,
        **kwargs,
    )


def serve_in_process(app, host: str, port: int, limits: ServeLimits, log_level: str = "info") -> None:
    """Serve until SIGINT/SIGTERM (one process: nothing to orphan)."""
    import uvicorn

    prepare_process(limits)
    uvicorn.Server(uvicorn_config(app, limits, log_level, host=host, port=port)).run()


def serve_on_socket(app, sock: socket.socket, limits: ServeLimits, log_level: str = "info") -> None:
    """Serve on an already bound and listening socket (a supervisor's worker)."""
    import uvicorn

    prepare_process(limits)
    uvicorn.Server(uvicorn_config(app, limits, log_level)).run(sockets=[sock])
