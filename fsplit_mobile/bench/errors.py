"""Exception types of the benchmark runner. Every failure a user can cause or meet names its problem."""

from ..runtime.artifact import ArtifactError

__all__ = [
    "BENCH_ERRORS",
    "ArtifactError",
    "BenchError",
    "DeviceDisconnectedError",
    "DeviceDiskFullError",
    "DeviceNotFoundError",
    "DeviceSpecError",
    "InputImageError",
    "NativeRunnerError",
    "ResultFormatError",
    "RunnerFailedError",
    "TransportError",
]


class BenchError(Exception):
    """Base class of all benchmark errors."""


# An artifact folder that is missing, incomplete or not runnable by the chosen runner raises the runtime's
# ArtifactError (its one definition, re-exported here), which is not a BenchError: catch BENCH_ERRORS for both.
BENCH_ERRORS = (BenchError, ArtifactError)


class InputImageError(BenchError):
    """A benchmark input image cannot be read or converted."""


class DeviceSpecError(BenchError):
    """The --device string cannot be parsed."""


class TransportError(BenchError):
    """A transport operation (push, pull, shell) failed."""


class DeviceNotFoundError(TransportError):
    """The device cannot be reached at all (no such adb serial, ssh connection refused, ...)."""


class DeviceDisconnectedError(TransportError):
    """The device was reachable but the link dropped while working with it."""


class DeviceDiskFullError(TransportError):
    """The device ran out of storage space (push or result writing failed with ENOSPC)."""


class RunnerFailedError(BenchError):
    """The device-side runner exited with a non-zero status or died on a signal."""

    def __init__(self, message: str, exit_code: int | None = None, stderr_tail: str = ""):
        super().__init__(message)
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class ResultFormatError(BenchError):
    """A result or event file does not follow its schema."""


class NativeRunnerError(BenchError):
    """The native runner binary or one of its libraries is missing or unusable."""
