"""Orchestration of one benchmark: prepare inputs and bundle, push, run, stream events, pull, clean up, report.

Results are saved as they arrive (see :mod:`.result`); on any failure the partial result is written with the
error, the device staging folder is removed when the link still allows it, and the error is re-raised.
"""

import datetime
import platform
import sys
import tempfile
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..runtime import rate_points
from . import device_info
from .app_runner import APP_STAGE_ROOT, AppNotFinishedError, run_app
from .artifact import ACCELERATOR_TARGETS, RUNNABLE_TARGETS, load_artifact, summary
from .bundle import EVENTS_FILE, STREAMS_DIR, RunnerSpec, build_bundle, runner_command
from .device.events import EventFormatError, parse_event_line
from .errors import (
    ArtifactError,
    BenchError,
    DeviceDisconnectedError,
    DeviceDiskFullError,
    ResultFormatError,
    RunnerFailedError,
    TransportError,
)
from .inputs import prepare_inputs
from .result import ResultRecorder, read_events_file
from .transports.base import mentions_disk_full, retry

EXIT_DISK_FULL = 3


@dataclass
class BenchConfig:
    runs: int = 20
    warmup: int = 5
    threads: int | None = None
    images_dir: str | None = None
    image_limit: int | None = None
    cpus: str | None = None
    timeout_s: float | None = None
    keep_stage: bool = False
    save_streams: bool = False
    runner: RunnerSpec = field(default_factory=RunnerSpec)
    accelerator: str | None = None  # npu | gpu | cpu (None: the artifact's own; runtime/accelerated.py)
    qnn_libs: str | None = None  # folder of QNN libraries on the device (None: look in the usual places)
    rate_point: str | int | None = None  # run this rate point (index or name; None: the artifact's top level, 0)


def default_out_dir(artifact, device_label: str) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in device_label)
    point = artifact.manifest.get("rate_point")
    at = f"-{point['name']}" if point else ""
    return Path("bench-results") / f"{artifact.model_id}{at}-{artifact.target}-{artifact.quantization}-{safe}-{stamp}"


def _progress(total: int, enabled: bool, label: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="run", file=sys.stderr, leave=True)


def run_benchmark(
    artifact_dir,
    transport,
    config: BenchConfig,
    out_dir=None,
    progress: bool = True,
    on_event=None,
    write_report: bool = True,
) -> dict:
    """Benchmark one artifact on one device. Returns the result dict (also saved under out_dir)."""
    if config.runs < 1 or config.warmup < 0:
        raise BenchError("runs must be >= 1 and warmup >= 0")
    art = load_artifact(artifact_dir)
    if config.rate_point is not None:
        art = rate_points.view(art, rate_points.resolve(art, config.rate_point))
    if config.runner.kind == "python" and art.target not in RUNNABLE_TARGETS:
        raise ArtifactError(
            f"target {art.target!r} cannot run in the device agent (runs: "
            f"{', '.join(RUNNABLE_TARGETS)}; Core ML needs an Apple device)"
        )
    if config.runner.kind == "native" and art.target != "executorch":
        raise ArtifactError(
            f"the native runner runs ExecuTorch artifacts only, not {art.target!r}"
            + (
                " (accelerator artifacts run in the Python agent: --runner python)"
                if art.target in ACCELERATOR_TARGETS
                else ""
            )
        )
    if config.runner.kind != "python" and config.accelerator not in (None, "cpu"):
        raise BenchError(
            f"--accelerator {config.accelerator} needs the Python device agent (--runner python); "
            f"the {config.runner.kind} runner runs ExecuTorch on the CPU"
        )
    if config.runner.kind == "app":
        if transport.kind != "adb":
            raise BenchError("--runner app drives the Android demo app: it needs --device adb[:SERIAL]")
        if art.target != "executorch":
            raise ArtifactError(f"the Android demo app runs ExecuTorch artifacts only, not {art.target!r}")
        if config.save_streams or config.cpus:
            raise BenchError("--runner app supports neither --save-streams nor --cpus")
    out_dir = Path(out_dir) if out_dir else default_out_dir(art, transport.describe())
    if config.runner.kind == "python" and config.runner.python is None and transport.kind == "local":
        config = replace(config, runner=replace(config.runner, python=sys.executable))

    with tempfile.TemporaryDirectory(prefix="fsplit-bench-") as tmp:
        index = prepare_inputs(art.manifest["input"], Path(tmp) / "inputs", config.images_dir, config.image_limit)
        bundle = build_bundle(Path(tmp) / "bundle", art, Path(tmp) / "inputs", config.runner)
        retry(transport.check, attempts=2)
        device = device_info.collect(transport)
        meta = {
            "artifact": summary(art),
            "device": device,
            "config": {
                "runs": config.runs,
                "warmup": config.warmup,
                "threads": config.threads,
                "cpus": config.cpus,
                "runner": config.runner.kind,
                "accelerator": config.accelerator,
                "qnn_libs": config.qnn_libs,
                "images": [i["name"] for i in index],
                "preprocessing": "host: decode + resize to model size (PIL); device: scale/normalize/layout",
            },
            "host": {
                "python": platform.python_version(),
                "node": platform.node(),
                "machine": platform.machine(),
                "fsplit_mobile": _package_version(),
            },
        }
        recorder = ResultRecorder(out_dir, meta)
        stage_root = transport.default_stage_root()
        if config.runner.kind == "app":  # the app can only write its own folder (android_demo/README.md)
            stage_root = transport.explicit_stage_root or APP_STAGE_ROOT
        stage = f"{stage_root.rstrip('/')}/fsplit-bench-{uuid.uuid4().hex[:10]}"
        label = f"{art.target}-{art.quantization} on {transport.describe()}"
        bar = _progress(config.runs * len(index), progress, label)
        pushed = False
        try:
            transport.push(bundle, stage)
            pushed = True
            noise = []

            def accept(event):
                recorder.add(event)
                if bar is not None and event["event"] == "sample":
                    bar.update(1)
                if on_event is not None:
                    on_event(event)

            def on_line(line):
                try:
                    event = parse_event_line(line)
                except EventFormatError as e:
                    noise.append(f"(bad event) {e}")
                    return
                if event is None:
                    noise.append(line.rstrip())
                    return
                accept(event)

            if config.runner.kind == "app":
                try:
                    res, pulled = run_app(
                        transport, stage, config.runs, config.warmup, config.threads, out_dir, wait_s=config.timeout_s
                    )
                except AppNotFinishedError as e:
                    for event in e.events:
                        accept(event)
                    raise
                for event in pulled:
                    accept(event)
            else:
                command = runner_command(
                    stage,
                    config.runner,
                    config.runs,
                    config.warmup,
                    config.threads,
                    config.cpus,
                    config.save_streams,
                    config.accelerator,
                    config.qnn_libs,
                )
                res = transport.run(command, on_stdout_line=on_line, timeout=config.timeout_s)
                _adopt_device_events(transport, stage, recorder, out_dir, required=res.exit_code == 0)
            if res.exit_code != 0:
                raise _runner_failure(res, recorder.events)
            if not any(e["event"] == "end" for e in recorder.events):
                if not transport.is_alive():
                    raise DeviceDisconnectedError(f"{transport.describe()} lost during the run")
                raise RunnerFailedError(
                    "runner exited 0 without finishing (no 'end' event); output: " + " | ".join(noise[-5:]), 0
                )
            if config.save_streams:
                _pull_streams(transport, stage, [e["image"] for e in recorder.events if e["event"] == "image"], out_dir)
        except BaseException as e:
            recorder.save("partial", e)
            if write_report:
                _write_reports(out_dir, recorder.build("partial", e))
            recorder.close()
            if pushed and not config.keep_stage:
                left = _cleanup(transport, stage)
                if left:  # the link did not allow it: say where it was left, and why
                    recorder.meta["stage_left_on_device"] = {"path": stage, "reason": left}
                    e.add_note(f"staging folder {stage} left on the device: {left}")
                    recorder.save("partial", e)
            if bar is not None:
                bar.close()
            raise
        if bar is not None:
            bar.close()
        result = recorder.save("complete")
        recorder.close()
        if not config.keep_stage:
            _cleanup(transport, stage)
        if write_report:
            _write_reports(out_dir, result)
        return result


def _adopt_device_events(transport, stage, recorder, out_dir, required: bool = True):
    """Pull the device-side events file (every runner writes it); use it when it holds more than the stream
    delivered. When the runner exited 0 the file is `required`: a run without it is never complete, and the
    error names the missing file. After a runner failure the streamed events are kept either way."""
    local = Path(out_dir) / EVENTS_FILE
    remote = f"{stage}/{EVENTS_FILE}"
    try:
        retry(lambda: transport.pull(remote, local), attempts=2)
        recorder.merge_pulled(read_events_file(local))
    except (TransportError, ResultFormatError, OSError) as e:
        if not required:
            return
        why = f"device-side events file {remote} could not be pulled, so the run is not complete: {e}"
        if isinstance(e, DeviceDisconnectedError):
            raise DeviceDisconnectedError(why) from e
        raise ResultFormatError(why) from e


def _pull_streams(transport, stage, names, out_dir):
    """Copy each image's coded stream (DIR/streams/<image>.fscl) next to the results."""
    (Path(out_dir) / STREAMS_DIR).mkdir(parents=True, exist_ok=True)
    for name in names:
        remote, local = f"{stage}/{STREAMS_DIR}/{name}.fscl", Path(out_dir) / STREAMS_DIR / f"{name}.fscl"
        retry(lambda remote=remote, local=local: transport.pull(remote, local), attempts=2)


def _runner_failure(res, events) -> BenchError:
    error_event = next((e for e in events if e["event"] == "error"), None)
    detail = error_event["message"] if error_event else (res.tail(600) or "no error output")
    code = res.exit_code
    if (
        (error_event and error_event.get("kind") == "disk_full")
        or code == EXIT_DISK_FULL
        or mentions_disk_full(res.stderr)
    ):
        return DeviceDiskFullError(f"device storage full during the run: {detail}")
    if code < 0 or 128 < code < 160:
        sig = -code if code < 0 else code - 128
        samples = sum(e["event"] == "sample" for e in events)
        return RunnerFailedError(
            f"device runner crashed (signal {sig}) after {samples} samples: {res.tail(600) or 'no output'}",
            code,
            res.tail(),
        )
    return RunnerFailedError(f"device runner failed with exit code {code}: {detail}", code, res.tail())


def _cleanup(transport, stage) -> str | None:
    """Remove the staging folder; None when done, else why it stays on the device."""
    try:
        transport.remove(stage)
    except (TransportError, OSError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def _write_reports(out_dir, result):
    from .report import write_markdown

    write_markdown([result], Path(out_dir) / "report.md")
    try:
        from .plots import plot_results

        plot_results([result], Path(out_dir))
    except ImportError:
        pass


def _package_version():
    try:
        from .._version import __version__

        return __version__
    except ImportError:
        return None
