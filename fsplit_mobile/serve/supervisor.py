"""Several worker processes on one port, none of which outlives the master.

The master binds the listening socket and starts K worker processes with `subprocess` (no multiprocessing:
no resource-tracker process to leak), each inheriting the socket. Each worker dies with the master:
on Linux the kernel sends it SIGKILL when the master dies (PR_SET_PDEATHSIG, set between fork and exec, with
the race closed by checking the parent afterwards); everywhere, a watchdog thread in the worker exits when
its parent changes (worker.py). So after `kill -9` of the master the port is free at once and a restart binds.

The master forwards SIGTERM/SIGINT to the workers and waits for them (bounded); a worker that dies on its own
is restarted, at most `MAX_RESTARTS` times per `RESTART_WINDOW_S`, after which the master gives up and exits.
"""

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time

log = logging.getLogger("fsplit_mobile.serve")

MASTER_ENV = "FSPLIT_SERVE_MASTER_PID"
FD_ENV = "FSPLIT_SERVE_FD"
PR_SET_PDEATHSIG = 1
MAX_RESTARTS, RESTART_WINDOW_S = 5, 60.0
STOP_GRACE_S = 20.0


def die_with_parent(parent_pid: int) -> None:
    """In a freshly forked child: ask the kernel for SIGKILL when the parent dies (Linux), and exit now if it
    already has. Runs between fork and exec (subprocess preexec_fn): async-signal-safe calls only."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def bind_listener(host: str, port: int, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a previous run does not block
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Master of `workers` processes running `python -m fsplit_mobile.serve.worker` on one listening socket."""

    def __init__(self, host: str, port: int, workers: int, env: dict, log_level: str = "info"):
        self.sock = bind_listener(host, port)
        self.workers = workers
        self.env = {**os.environ, **env, MASTER_ENV: str(os.getpid()), FD_ENV: str(self.sock.fileno())}
        self.log_level = log_level
        self.procs: list[subprocess.Popen] = []
        self.restarts: list[float] = []
        self.stopping = False

    def _spawn(self) -> subprocess.Popen:
        me = os.getpid()
        return subprocess.Popen(
            [sys.executable, "-m", "fsplit_mobile.serve.worker", "--log-level", self.log_level],
            env=self.env,
            pass_fds=(self.sock.fileno(),),
            preexec_fn=lambda: die_with_parent(me),
        )

    def _stop(self, signum, _frame):
        self.stopping = True
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.procs = [self._spawn() for _ in range(self.workers)]
        try:
            while not self.stopping:
                for i, p in enumerate(self.procs):
                    if p.poll() is None or self.stopping:
                        continue
                    now = time.monotonic()
                    self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_S] + [now]
                    if len(self.restarts) > MAX_RESTARTS:
                        log.error(
                            "worker %d exited with %s; %d restarts in %.0f s: giving up",
                            p.pid,
                            p.returncode,
                            MAX_RESTARTS,
                            RESTART_WINDOW_S,
                        )
                        self._stop(None, None)
                        break
                    log.warning("worker %d exited with %s: restarting it", p.pid, p.returncode)
                    self.procs[i] = self._spawn()
                time.sleep(0.2)
        finally:
            self._stop(None, None)
            deadline = time.monotonic() + STOP_GRACE_S
            for p in self.procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            self.sock.close()
        return 0 if len(self.restarts) <= MAX_RESTARTS else 1
