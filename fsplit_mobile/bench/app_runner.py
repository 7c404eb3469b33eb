"""Runner ``app``: the Android demo app's benchmark mode (android_demo/, BenchmarkActivity) over adb.

Sequence (kept in sync with android_demo/README.md "Benchmark mode"): the bundle is pushed under the app's
external files dir, ``am start -W -n dev.fsplit.demo/.BenchmarkActivity --es bundle DIR --ei runs N --ei warmup M
[--ei threads T]`` starts it, and since ``am start`` returns before the run ends, the host polls for
``DIR/device-events.jsonl.exit`` (the app's exit status), then pulls ``DIR/device-events.jsonl``.
"""

import shlex
import time
from pathlib import Path

from .bundle import EVENTS_FILE
from .errors import DeviceDisconnectedError, ResultFormatError, RunnerFailedError, TransportError
from .result import read_events_file
from .transports.base import CommandResult

APP_PACKAGE = "dev.fsplit.demo"
APP_COMPONENT = f"{APP_PACKAGE}/.BenchmarkActivity"
APP_STAGE_ROOT = f"/sdcard/Android/data/{APP_PACKAGE}/files"
EXIT_SUFFIX = ".exit"
DEFAULT_WAIT_S = 3600.0
POLL_INTERVAL_S = 1.0


class AppNotFinishedError(RunnerFailedError):
    """The app's benchmark mode did not write its exit marker in time (not started, hung or killed)."""

    events: list[dict]  # the events pulled so far, set by run_app before it raises


def am_start_command(stage: str, runs: int, warmup: int, threads: int | None) -> str:
    """The ``adb shell`` command line that starts the app's benchmark mode on the staged bundle."""
    cmd = (
        f"am start -W -n {APP_COMPONENT} --es bundle {shlex.quote(stage)} --ei runs {int(runs)} "
        f"--ei warmup {int(warmup)}"
    )
    if threads:
        cmd += f" --ei threads {int(threads)}"
    return cmd


def run_app(
    transport,
    stage: str,
    runs: int,
    warmup: int,
    threads: int | None,
    out_dir,
    wait_s: float | None = None,
    poll_s: float = POLL_INTERVAL_S,
) -> tuple[CommandResult, list]:
    """Start the app, wait for its exit marker, pull its events. Returns (result with the app's exit status,
    events). Raises AppNotFinishedError (with the events so far in ``.events``) when no marker comes in time."""
    events_remote = f"{stage}/{EVENTS_FILE}"
    q = shlex.quote
    out: list[str] = []
    started = transport.run(am_start_command(stage, runs, warmup, threads), on_stdout_line=out.append, timeout=120)
    text = "".join(out) + started.stderr
    if started.exit_code != 0 or "Error" in text or "Exception" in text:
        raise RunnerFailedError(
            f"am start of {APP_COMPONENT} failed (is the demo app installed? "
            f"adb install -r app-debug.apk): {text.strip()[-600:] or started.exit_code}",
            started.exit_code,
            started.stderr,
        )
    limit = DEFAULT_WAIT_S if wait_s is None else wait_s
    deadline = time.monotonic() + limit
    while True:
        lines: list[str] = []  # the transport's own exit-status marker line is kept out of the callback
        probe = transport.run(
            f"cat {q(events_remote + EXIT_SUFFIX)} 2>/dev/null", on_stdout_line=lines.append, timeout=60
        )
        status = "".join(lines).strip()
        if probe.exit_code == 0 and status:
            break
        if time.monotonic() > deadline:
            events = _pull_events(transport, events_remote, out_dir)
            err = AppNotFinishedError(
                f"the app's benchmark mode wrote no exit marker {events_remote + EXIT_SUFFIX} within {limit:.0f} s "
                f"({sum(e['event'] == 'sample' for e in events)} samples so far; did the app crash or get "
                f"killed? see adb logcat -s fsplit)",
                None,
            )
            err.events = events
            raise err
        time.sleep(poll_s)
    try:
        code = int(status)
    except ValueError:
        raise RunnerFailedError(f"the app's exit marker holds {status!r}, not an exit status", None) from None
    return CommandResult(code, "", ""), _pull_events(transport, events_remote, out_dir)


def _pull_events(transport, events_remote: str, out_dir) -> list:
    local = Path(out_dir) / EVENTS_FILE
    try:
        transport.pull(events_remote, local)
        return read_events_file(local)
    except DeviceDisconnectedError:
        raise
    except (TransportError, ResultFormatError, OSError):
        return []  # no events file (the app failed before writing one): the exit status tells
