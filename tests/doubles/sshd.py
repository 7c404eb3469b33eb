"""A throw-away OpenSSH server on 127.0.0.1 (Debian openssh-server) with its own host key and one authorized
client key, for tests and demos of the SSH transport. Not a board: commands run on this host.
"""

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


class SshdError(RuntimeError):
    """sshd or ssh-keygen is missing or the server did not come up."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempSshd:
    """``with TempSshd(dir) as s: s.device`` -> "ssh://user@127.0.0.1:PORT"; s.identity, s.known_hosts."""

    def __init__(self, workdir, port: int | None = None):
        self.dir = Path(workdir)
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.proc = None

    @property
    def device(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    @property
    def identity(self) -> str:
        return str(self.dir / "client_key")

    @property
    def known_hosts(self) -> str:
        return str(self.dir / "known_hosts")

    def start(self):
        if not os.path.exists(SSHD) or not shutil.which("ssh-keygen"):
            raise SshdError("openssh-server / ssh-keygen not installed (scripts/install_system_deps.sh)")
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in ("host_key", "client_key"):
            if not (self.dir / name).exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.dir / name)], check=True)
        shutil.copy(self.dir / "client_key.pub", self.dir / "authorized_keys")
        host_pub = (self.dir / "host_key.pub").read_text().split()
        Path(self.known_hosts).write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        config = self.dir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.dir / 'host_key'}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    "UsePAM no",
                    "StrictModes no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        os.makedirs("/run/sshd", exist_ok=True)
        self._log = open(self.dir / "sshd.log", "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=self._log, stderr=self._log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SshdError(f"sshd exited ({self.proc.returncode}): {(self.dir / 'sshd.log').read_text()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SshdError("sshd did not start listening within 15 s")

    def session_pids(self) -> list[int]:
        """Pids of the per-connection sshd processes (children of the listener)."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    def drop_sessions(self):
        """Kill every open connection (the link drops); the listener keeps running."""
        import signal

        for pid in self.session_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
