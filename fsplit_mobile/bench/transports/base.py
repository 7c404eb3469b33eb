"""What every transport offers: run a shell command on the device (streaming stdout lines), push, pull."""

import abc
import subprocess
import threading
import time
from dataclasses import dataclass

from ..errors import TransportError

# Messages of tools (tar, adb, cp, the agent) that mean the device ran out of storage.
DISK_FULL_MARKERS = ("no space left on device", "enospc", "disk quota exceeded", "out of disk space")


def mentions_disk_full(text: str) -> bool:
    text = text.lower()
    return any(m in text for m in DISK_FULL_MARKERS)


@dataclass
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str

    def tail(self, n: int = 2000) -> str:
        return self.stderr[-n:].strip()


class Transport(abc.ABC):
    """A device reachable by shell commands. Remote paths are POSIX paths on the device."""

    kind = "abstract"

    @abc.abstractmethod
    def describe(self) -> str:
        """One line naming the device, for logs and results."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise DeviceNotFoundError unless the device answers."""

    def is_alive(self) -> bool:
        try:
            self.check()
            return True
        except TransportError:
            return False

    @abc.abstractmethod
    def default_stage_root(self) -> str:
        """Folder on the device under which a per-run staging folder is created."""

    @abc.abstractmethod
    def run(self, command: str, on_stdout_line=None, timeout: float | None = None) -> CommandResult:
        """Run a POSIX sh command line on the device. Calls on_stdout_line(line) as lines arrive."""

    @abc.abstractmethod
    def push(self, local_path, remote_path: str) -> None:
        """Copy a local file or folder to remote_path (which must not exist yet for folders)."""

    @abc.abstractmethod
    def pull(self, remote_path: str, local_path) -> None:
        """Copy one remote file to local_path."""

    def remove(self, remote_path: str) -> None:
        """Delete a remote path (best effort, used for clean-up)."""
        self.run(f"rm -rf {quote(remote_path)}", timeout=60)

    def close(self) -> None:  # noqa: B027 - optional hook: most transports hold nothing to release
        """Release what the transport holds (connections, forwarded ports); nothing by default."""


def quote(s: str) -> str:
    import shlex

    return shlex.quote(str(s))


def stream_process(argv, on_stdout_line=None, timeout=None, env=None, stdin_data: bytes | None = None):
    """Run argv; feed stdout lines to a callback while they arrive; return CommandResult (exit, out, err).

    A negative exit code means the local process died on a signal. On timeout the process is killed and
    TransportError is raised.
    """
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    in_pipe, out_pipe, err_pipe = proc.stdin, proc.stdout, proc.stderr
    assert out_pipe is not None and err_pipe is not None  # both PIPE
    err_chunks = []
    err_thread = threading.Thread(target=lambda: err_chunks.append(err_pipe.read()), daemon=True)
    err_thread.start()
    if stdin_data is not None:
        assert in_pipe is not None  # PIPE when there is data to feed

        def feed():
            try:
                in_pipe.write(stdin_data)
            except (BrokenPipeError, OSError):
                pass
            finally:
                try:
                    in_pipe.close()
                except OSError:
                    pass

        threading.Thread(target=feed, daemon=True).start()
    timer = None
    timed_out = []
    if timeout is not None:

        def kill():
            timed_out.append(True)
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
    out_lines = []
    try:
        for raw in out_pipe:
            line = raw.decode("utf-8", errors="replace")
            out_lines.append(line)
            if on_stdout_line is not None:
                on_stdout_line(line)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    proc.wait()
    err_thread.join(timeout=5)
    stderr = b"".join(err_chunks).decode("utf-8", errors="replace")
    if timed_out:
        raise TransportError(f"command timed out after {timeout:.0f} s: {' '.join(map(str, argv[:6]))} ...")
    return CommandResult(proc.returncode, "".join(out_lines), stderr)


def retry(fn, attempts=3, delay=0.5, retry_on=(TransportError,)):
    """Call fn(); retry on transient transport errors (flaky links)."""
    for i in range(attempts):
        try:
            return fn()
        except retry_on:
            if i == attempts - 1:
                raise
            time.sleep(delay * (2**i))
