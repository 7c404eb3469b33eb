"""One worker process of `fsplit-serve --workers K` (started by supervisor.py, never by hand): builds the app
from FSPLIT_SERVE_CONFIG and serves on the inherited listening socket until told to stop or its master dies."""

import argparse
import os
import socket
import threading
import time

from .supervisor import FD_ENV, MASTER_ENV

WATCHDOG_PERIOD_S = 0.5


def watch_parent(master_pid: int, period_s: float = WATCHDOG_PERIOD_S) -> threading.Thread:
    """Exit the process as soon as the master is gone (its parent changes): the portable half of dying with
    the master (the Linux half is PR_SET_PDEATHSIG, set by the supervisor)."""

    def loop():
        while os.getppid() == master_pid:
            time.sleep(period_s)
        os._exit(1)

    t = threading.Thread(target=loop, name="fsplit-serve-watchdog", daemon=True)
    t.start()
    return t


def main(argv=None) -> None:
    from .app import app_from_env, limits_from_env
    from .server import serve_on_socket

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    watch_parent(int(os.environ[MASTER_ENV]))
    sock = socket.socket(fileno=int(os.environ[FD_ENV]))
    serve_on_socket(app_from_env(), sock, limits_from_env(), args.log_level)


if __name__ == "__main__":
    main()
