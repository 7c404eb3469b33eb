"""A Linux board over SSH, driven by the OpenSSH client binary (so ~/.ssh/config, agents and keys just work).

Push streams a tar archive into ``tar -x`` on the board (one connection); pull is ``cat``. ssh exits 255 on
its own failures; those are told apart from the remote command's status by ssh's messages and a probe.

A link that hangs (no packet gets through, the TCP connection stays up) is noticed by ssh's own keep-alives:
after ``alive_count`` unanswered probes ``alive_interval`` s apart ssh ends with "Timeout, server ... not
responding", which becomes a DeviceDisconnectedError naming that timeout. ssh's log level stays at its
default so that message (and every other reason ssh gives) reaches the error.
"""

import io
import subprocess
import tarfile
from pathlib import Path

from ..errors import DeviceDisconnectedError, DeviceDiskFullError, DeviceNotFoundError, TransportError
from .base import Transport, mentions_disk_full, quote, stream_process

SSH_FAILURE = 255
LINK_LOST_MARKERS = (
    "connection closed",
    "connection reset",
    "broken pipe",
    "timeout, server",
    "client_loop:",
    "closed by remote host",
    "connection timed out",
    "no route to host",
    "network is unreachable",
    "connection refused",
    "kex_exchange_identification",
)


class SshTransport(Transport):
    kind = "ssh"

    def __init__(
        self,
        host: str,
        user: str | None = None,
        port: int | None = None,
        identity: str | None = None,
        known_hosts: str | None = None,
        options=(),
        ssh_binary: str = "ssh",
        connect_timeout: int = 10,
        stage_root: str | None = None,
        alive_interval: int = 5,
        alive_count: int = 3,
    ):
        self.host, self.user, self.port = host, user, port
        self.identity, self.known_hosts = identity, known_hosts
        self.options = list(options)
        self.ssh_binary = ssh_binary
        self.connect_timeout = connect_timeout
        self._stage_root = stage_root
        if alive_interval < 1 or alive_count < 1:
            raise ValueError(f"alive_interval and alive_count must be >= 1, got {alive_interval}, {alive_count}")
        self.alive_interval, self.alive_count = int(alive_interval), int(alive_count)

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def describe(self) -> str:
        return f"ssh://{self.destination}" + (f":{self.port}" if self.port else "")

    def _argv(self, command: str):
        argv = [
            self.ssh_binary,
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={self.connect_timeout}",
            "-o",
            f"ServerAliveInterval={self.alive_interval}",
            "-o",
            f"ServerAliveCountMax={self.alive_count}",
        ]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.identity:
            argv += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        if self.known_hosts:
            argv += ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=accept-new"]
        for opt in self.options:
            argv += ["-o", opt]
        return argv + [self.destination, "exec /bin/sh -c " + quote(command)]

    @staticmethod
    def _link_lost(stderr: str) -> bool:
        low = stderr.lower()
        return any(m in low for m in LINK_LOST_MARKERS)

    def _lost(self, stderr: str, during: str = "") -> DeviceDisconnectedError:
        """The error for a lost link; a hung one (ssh's keep-alive timeout) says which timeout ended it."""
        tail = stderr.strip()[-300:] or "ssh exit 255"
        if "timeout, server" in stderr.lower():
            return DeviceDisconnectedError(
                f"link to {self.describe()} hung{during}: {self.alive_count} keep-alives {self.alive_interval} s "
                f"apart went unanswered ({self.alive_count * self.alive_interval} s, ssh ServerAliveInterval/"
                f"ServerAliveCountMax): {tail}"
            )
        return DeviceDisconnectedError(f"connection to {self.describe()} lost{during}: {tail}")

    def check(self) -> None:
        try:
            res = stream_process(self._argv("true"), timeout=self.connect_timeout + 20)
        except TransportError as e:
            raise DeviceNotFoundError(f"{self.describe()} does not answer: {e}") from None
        except FileNotFoundError:
            raise TransportError(f"ssh client {self.ssh_binary!r} not found on this host") from None
        if res.exit_code != 0:
            raise DeviceNotFoundError(f"cannot reach {self.describe()}: {res.tail() or f'ssh exit {res.exit_code}'}")

    def default_stage_root(self) -> str:
        return self._stage_root or "/tmp"

    def run(self, command, on_stdout_line=None, timeout=None):
        res = stream_process(self._argv(command), on_stdout_line, timeout)
        if res.exit_code == SSH_FAILURE and (self._link_lost(res.stderr) or not self.is_alive()):
            raise self._lost(res.stderr)
        return res

    def remove(self, remote_path: str) -> None:
        """Delete a remote path; raises when it could not be done (the runner then reports it as left)."""
        res = self.run(f"rm -rf {quote(remote_path)}", timeout=60)
        if res.exit_code != 0:
            raise TransportError(
                f"could not remove {remote_path} on {self.describe()} (exit {res.exit_code}): {res.tail(300)}"
            )

    def push(self, local_path, remote_path):
        src = Path(local_path)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            if src.is_dir():
                for child in sorted(src.iterdir()):
                    tar.add(child, arcname=child.name)
                command = f"mkdir -p {quote(remote_path)} && tar -xf - -C {quote(remote_path)}"
            else:
                tar.add(src, arcname=Path(remote_path).name)
                parent = str(Path(remote_path).parent)
                command = f"mkdir -p {quote(parent)} && tar -xf - -C {quote(parent)}"
        res = stream_process(self._argv(command), stdin_data=buf.getvalue())
        if res.exit_code == 0:
            return
        if mentions_disk_full(res.stderr):
            raise DeviceDiskFullError(f"device storage full while pushing to {remote_path}: {res.tail(300)}")
        if res.exit_code == SSH_FAILURE and (self._link_lost(res.stderr) or not self.is_alive()):
            raise self._lost(res.stderr, " during push")
        raise TransportError(f"push to {self.describe()}:{remote_path} failed (exit {res.exit_code}): {res.tail(300)}")

    def pull(self, remote_path, local_path):
        argv = self._argv(f"cat {quote(remote_path)}")
        proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL)
        stderr = proc.stderr.decode("utf-8", errors="replace")
        if proc.returncode == SSH_FAILURE and self._link_lost(stderr):
            raise self._lost(stderr, " during pull")
        if proc.returncode != 0:
            raise TransportError(f"pull of {remote_path} failed (exit {proc.returncode}): {stderr.strip()}")
        Path(local_path).write_bytes(proc.stdout)
