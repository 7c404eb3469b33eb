"""The host itself as the device: commands run through /bin/sh, files are copied."""

import errno
import os
import platform
import shutil
import tempfile
from pathlib import Path

from ..errors import DeviceDiskFullError, TransportError
from .base import Transport, stream_process


class LocalTransport(Transport):
    kind = "local"

    def __init__(self, stage_root: str | None = None):
        self._stage_root = stage_root

    def describe(self) -> str:
        return f"local ({platform.node()})"

    def check(self) -> None:
        return None

    def default_stage_root(self) -> str:
        return self._stage_root or tempfile.gettempdir()

    def run(self, command, on_stdout_line=None, timeout=None):
        return stream_process(["/bin/sh", "-c", command], on_stdout_line, timeout)

    def push(self, local_path, remote_path):
        src, dst = Path(local_path), Path(remote_path)
        try:
            if src.is_dir():
                if dst.exists():
                    raise TransportError(f"push target {dst} already exists")
                shutil.copytree(src, dst, symlinks=False)
            else:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        except shutil.Error as e:
            if any(errno.ENOSPC == getattr(x, "errno", None) or "No space left" in str(x) for x in e.args[0]):
                raise DeviceDiskFullError(f"device storage full while copying to {dst}") from None
            raise TransportError(f"copy to {dst} failed: {e}") from None
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise DeviceDiskFullError(f"device storage full while copying to {dst}: {e}") from None
            raise TransportError(f"copy to {dst} failed: {e}") from None

    def pull(self, remote_path, local_path):
        try:
            shutil.copyfile(remote_path, local_path)
        except OSError as e:
            raise TransportError(f"pull of {remote_path} failed: {e}") from None

    def remove(self, remote_path):
        if os.path.isdir(remote_path):
            shutil.rmtree(remote_path, ignore_errors=True)
        elif os.path.exists(remote_path):
            os.unlink(remote_path)
