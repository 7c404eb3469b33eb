"""The emulated arm64 board for tests: the Debian bookworm arm64 root file system that
benchmarks/boards/build_arm64_board.sh builds and caches (OS + python3 + openssh-server, nothing else), run
through qemu-user binfmt in a chroot, with its own sshd (the board's arm64 OpenSSH) on a loopback port.

Not a double: every command the bench sends runs as an aarch64 process in that Debian. What is not real is the
speed (user-mode emulation, 30-80x slower than a board) and the kernel (the host's). Needs root.

The client side is set up as a user would: a key and a ``Host`` entry in an ssh config, reached through an
``ssh`` on PATH that reads it (OpenSSH takes ~/.ssh from the passwd entry, not $HOME), so the bench needs no
ssh flag at all.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from repo_paths import REPO

BUILD_SCRIPT = REPO / "benchmarks" / "boards" / "build_arm64_board.sh"
# The CPU qemu emulates for every process of a session (sshd's SetEnv reaches each exec through binfmt):
# a Raspberry Pi 4's core. Under qemu 7.2's default "max" model (dotprod, i8mm, SVE) the XNNPACK int8 kernels
# of both LiteRT and ExecuTorch give other symbols than on x86_64 (about 26 % of them for the default model);
# as a Cortex-A72 or A53 the streams are byte-identical to x86_64 (benchmarks/results/emulated_aarch64_board.md).
CPU_MODEL = "cortex-a72"


class BoardError(RuntimeError):
    """The board could not be built or started (the message says why)."""


def build_board() -> Path:
    """Build the rootfs (or reuse the cached one); returns its path."""
    if os.geteuid() != 0:
        raise BoardError("the emulated board needs root (debootstrap, chroot, mount)")
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BoardError(f"{BUILD_SCRIPT} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmulatedBoard:
    """``with EmulatedBoard(rootfs, workdir) as b: b.device, b.env`` (env: PATH with the configured ssh)."""

    def __init__(self, rootfs: Path, workdir: Path):
        self.rootfs, self.dir = Path(rootfs), Path(workdir)
        self.port = _free_port()
        self.proc = None

    @property
    def device(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    @property
    def env(self) -> dict:
        return {**os.environ, "PATH": f"{self.dir / 'bin'}:{os.environ.get('PATH', '')}"}

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", "-p", str(self.port), "root@127.0.0.1", command],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )

    def _client(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        key = self.dir / "id_ed25519"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        ssh_dir = self.rootfs / "root" / ".ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text((self.dir / "id_ed25519.pub").read_text())
        host_key = (self.rootfs / "etc" / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
        (self.dir / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        (self.dir / "ssh_config").write_text(
            f"Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {self.dir / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
        )
        (self.dir / "bin").mkdir(exist_ok=True)
        wrapper = self.dir / "bin" / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {self.dir / "ssh_config"} "$@"\n')
        wrapper.chmod(0o755)

    def start(self) -> EmulatedBoard:
        if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
            raise BoardError("qemu-aarch64 binfmt handler not registered (build_arm64_board.sh registers it)")
        self._client()
        # /proc is the host's (a board has one; python and the runtimes read it). /sys is a small synthesized
        # CPU tree: XNNPACK's cpuinfo needs one (without it ExecuTorch cannot load its delegate), and the host's
        # describes x86 CPUs, on which LiteRT's cpuinfo crashes. /dev comes from debootstrap's static nodes.
        if not os.path.ismount(self.rootfs / "proc"):
            subprocess.run(["mount", "-t", "proc", "proc", str(self.rootfs / "proc")], check=True)
        if not os.path.ismount(self.rootfs / "sys"):
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "board-sys", str(self.rootfs / "sys")], check=True)
        cpu = self.rootfs / "sys" / "devices" / "system" / "cpu"
        cores = os.cpu_count() or 1
        for n in range(cores):
            (cpu / f"cpu{n}").mkdir(parents=True, exist_ok=True)
        for name in ("possible", "present", "online"):
            (cpu / name).write_text(f"0-{cores - 1}\n" if cores > 1 else "0\n")
        (self.rootfs / "run" / "sshd").mkdir(parents=True, exist_ok=True)
        config = self.rootfs / "etc" / "ssh" / "sshd_config.fsplit"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    "HostKey /etc/ssh/ssh_host_ed25519_key",
                    "AuthorizedKeysFile .ssh/authorized_keys",
                    "UsePAM no",
                    "StrictModes no",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "PidFile none",
                    f"SetEnv QEMU_CPU={CPU_MODEL}",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        self._log = open(self.dir / "sshd.log", "ab")
        self.proc = subprocess.Popen(
            ["chroot", str(self.rootfs), "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_config.fsplit"],
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.time() + 120  # sshd starts in a few seconds under emulation
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise BoardError(
                    f"board sshd exited ({self.proc.returncode}): {(self.dir / 'sshd.log').read_text()[-800:]}"
                )
            try:
                res = self.ssh("uname -m", timeout=60)
                if res.returncode == 0 and res.stdout.strip() == "aarch64":
                    return self
            except subprocess.TimeoutExpired:
                pass
            time.sleep(1)
        self.stop()
        raise BoardError("board sshd did not answer within 120 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
        for name in ("sys", "proc"):
            if os.path.ismount(self.rootfs / name):
                subprocess.run(["umount", "-l", str(self.rootfs / name)], check=False)

    def __enter__(self) -> EmulatedBoard:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
