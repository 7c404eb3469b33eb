"""An Android device (or anything speaking the adb daemon protocol) through the real ``adb`` client.

``adb -s SERIAL push/shell/pull``; staging under /data/local/tmp. Shell protocol v2 (Android >= 7) keeps
stderr apart. The exit status is read from a marker echoed after the command in a subshell: adb 1.0.41 exits
0 when the link drops before the device sent its exit packet, so a missing marker means the command never
finished (and devices without shell v2 report no exit status at all).
"""

import os
import re
import subprocess

from ..errors import DeviceDisconnectedError, DeviceDiskFullError, DeviceNotFoundError, DeviceSpecError, TransportError
from .base import CommandResult, Transport, mentions_disk_full, quote, stream_process

EXIT_MARKER = "@fsplit-exit:"
LINK_LOST_MARKERS = (
    "error: closed",
    "device offline",
    "not found",
    "protocol fault",
    "connection reset",
    "no devices/emulators",
    "device unauthorized",
    "failed to connect",
)


class AdbTransport(Transport):
    kind = "adb"

    def __init__(
        self,
        serial: str | None = None,
        adb_binary: str | None = None,
        server_port: int | None = None,
        stage_root: str | None = None,
    ):
        self.serial = serial
        self.adb_binary = adb_binary or os.environ.get("ADB", "adb")
        self.server_port = server_port
        self._stage_root = stage_root
        self._shell_v2: bool | None = None

    def describe(self) -> str:
        return f"adb:{self.serial or '?'}"

    def _base(self):
        argv = [self.adb_binary]
        if self.server_port:
            argv += ["-P", str(self.server_port)]
        return argv

    def _adb(self, *args, timeout=60):
        argv = self._base() + (["-s", self.serial] if self.serial else []) + list(args)
        try:
            proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout)
        except FileNotFoundError:
            raise TransportError(f"adb client {self.adb_binary!r} not found on this host") from None
        except subprocess.TimeoutExpired:
            raise TransportError(f"adb {' '.join(args[:2])} timed out after {timeout} s") from None
        return CommandResult(
            proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        )

    def _devices(self):
        res = subprocess.run(self._base() + ["devices"], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        found = {}
        for line in res.stdout.decode("utf-8", "replace").splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2:
                found[parts[0]] = parts[1]
        return found

    def check(self) -> None:
        if self.serial is None:
            ready = [s for s, state in self._devices().items() if state == "device"]
            if not ready:
                raise DeviceNotFoundError("no adb device connected (adb devices lists none in state 'device')")
            if len(ready) > 1:
                raise DeviceSpecError(f"several adb devices connected ({', '.join(ready)}): use adb:SERIAL")
            self.serial = ready[0]
        res = self._adb("get-state", timeout=30)
        if res.exit_code != 0 and re.fullmatch(r"[\w.\-]+:\d+", self.serial):
            self._adb("connect", self.serial, timeout=30)  # a TCP device not connected yet
            res = self._adb("get-state", timeout=30)
        state = res.stdout.strip()
        if res.exit_code != 0 or state != "device":
            raise DeviceNotFoundError(
                f"adb device {self.serial!r} not available: {res.tail(300) or state or f'adb exit {res.exit_code}'}"
            )

    def default_stage_root(self) -> str:
        return self._stage_root or "/data/local/tmp"

    @property
    def explicit_stage_root(self) -> str | None:
        """The staging root the user chose (--remote-dir), or None."""
        return self._stage_root

    def facts(self) -> dict:
        """Transport facts for the device description."""
        return {"adb_serial": self.serial, "adb_shell_v2": self._supports_shell_v2()}

    def _supports_shell_v2(self) -> bool:
        if self._shell_v2 is None:
            res = self._adb("features", timeout=30)
            self._shell_v2 = res.exit_code == 0 and "shell_v2" in res.stdout
        return self._shell_v2

    def _lost(self, res: CommandResult) -> bool:
        low = res.stderr.lower()
        return any(m in low for m in LINK_LOST_MARKERS) or not self.is_alive()

    def run(self, command, on_stdout_line=None, timeout=None):
        remote = f"( {command} ); echo {EXIT_MARKER}$?"
        argv = self._base() + ["-s", self.serial, "shell", remote]
        marker = []

        def on_line(line):
            if line.startswith(EXIT_MARKER):
                marker.append(int(line[len(EXIT_MARKER) :].strip() or 1))
            elif on_stdout_line is not None:
                on_stdout_line(line)

        res = stream_process(argv, on_line, timeout)
        if marker:
            res.exit_code = marker[-1]
            return res
        if self._lost(res):
            raise DeviceDisconnectedError(f"adb device {self.serial} lost: {res.tail(300) or 'no answer'}")
        raise TransportError(
            f"adb shell on {self.serial} ended without an exit status (adb exit {res.exit_code}): "
            f"{res.tail(300) or 'no error output'}"
        )

    def push(self, local_path, remote_path):
        res = self._adb("push", str(local_path), remote_path, timeout=1800)
        if res.exit_code == 0:
            return
        text = res.stderr + res.stdout
        if mentions_disk_full(text):
            raise DeviceDiskFullError(f"device storage full while pushing to {remote_path}: {text.strip()[-300:]}")
        if self._lost(res):
            raise DeviceDisconnectedError(f"adb device {self.serial} lost during push: {text.strip()[-300:]}")
        raise TransportError(f"adb push to {remote_path} failed (exit {res.exit_code}): {text.strip()[-300:]}")

    def pull(self, remote_path, local_path):
        res = self._adb("pull", remote_path, str(local_path), timeout=600)
        if res.exit_code != 0:
            text = (res.stderr + res.stdout).strip()[-300:]
            if self._lost(res):
                raise DeviceDisconnectedError(f"adb device {self.serial} lost during pull: {text}")
            raise TransportError(f"adb pull of {remote_path} failed (exit {res.exit_code}): {text}")

    def remove(self, remote_path):
        self.run(f"rm -rf {quote(remote_path)}", timeout=60)
