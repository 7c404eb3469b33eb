"""Python device-side runner: ``python3 -m fsplit_mobile.bench.device.agent --bundle DIR [--runs N] ...``.

Loads the artifact in ``DIR/artifact`` with its runtime, converts each ``DIR/inputs/*.ppm`` to the model input,
runs encoder + entropy coding (the C coder binding) ``--warmup`` times (excluded) then ``--runs`` times per
image, and prints the event stream of :mod:`.events` (also appended to ``--events-file``). Exit codes:
0 done, 2 error (artifact, input, runtime), 3 device storage full.
Needs numpy, the model runtime and ``fsplit_mobile.codec`` (pushed with the bundle or installed).
"""

import argparse
import errno
import hashlib
import json
import os
import platform
import resource
import sys
import time

from . import events
from .ppm import PpmError, read_ppm

RUNNER = "python-agent"
EXIT_ERROR = 2
EXIT_DISK_FULL = 3


class AgentError(Exception):
    def __init__(self, message, kind="error"):
        super().__init__(message)
        self.kind = kind


class EventSink:
    """Prints events to stdout and appends them to a file, flushing each line."""

    def __init__(self, path=None):
        self._file = open(path, "a", encoding="utf-8") if path else None

    def emit(self, kind, **fields):
        line = events.format_event(kind, **fields)
        print(line, flush=True)
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self):
        if self._file is not None:
            self._file.close()


def _ms(t0, t1):
    return (t1 - t0) / 1e6


def _preimport(target):
    """Import the runtime before timing model load (Python import time is reported on its own); what a target's
    runtime imports is in its description (fsplit_mobile/runtime/targets.py)."""
    import importlib

    from fsplit_mobile.runtime.targets import TARGETS

    described = TARGETS.get(target)
    for name in described.runtime_modules if described is not None else ():
        try:
            importlib.import_module(name)
        except ImportError:
            return  # open_backend reports it with a clear message


def _load_manifest(artifact_dir):
    path = os.path.join(artifact_dir, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise AgentError(f"{path} not found", "artifact") from None
    except json.JSONDecodeError as e:
        raise AgentError(f"{path} is not valid JSON: {e}", "artifact") from None
    for key in ("target", "files", "input", "output", "latent"):
        if key not in manifest:
            raise AgentError(f"{path} lacks '{key}'", "artifact")
    return manifest


def _load_inputs(inputs_dir):
    try:
        with open(os.path.join(inputs_dir, "index.json"), encoding="utf-8") as f:
            index = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError) as e:
        raise AgentError(f"inputs index unreadable: {e}", "input") from None
    if not index:
        raise AgentError("no input images in the bundle", "input")
    images = []
    for item in index:
        try:
            images.append((item["name"], read_ppm(os.path.join(inputs_dir, item["file"]))))
        except (OSError, PpmError) as e:
            raise AgentError(f"input image {item.get('file')}: {e}", "input") from None
    return images


def _run(args, sink):
    artifact_dir = os.path.join(args.bundle, "artifact")
    manifest = _load_manifest(artifact_dir)
    try:
        from fsplit_mobile.runtime.encoders import open_on_accelerator
        from fsplit_mobile.runtime.errors import AcceleratorUnavailableError, EncoderUnavailableError
        from fsplit_mobile.runtime.preprocess import InputConverter, OutputConverter, TensorSpecError
        from fsplit_mobile.runtime.targets import default_accelerator
    except ImportError as e:
        raise AgentError(f"fsplit_mobile.runtime not importable on this device: {e}", "setup") from None
    try:
        from fsplit_mobile.codec.container import LatentWriter
        from fsplit_mobile.codec.tables import CodecTables
    except ImportError as e:
        raise AgentError(f"fsplit_mobile.codec (C coder binding) not importable on this device: {e}", "setup") from None

    try:
        from fsplit_mobile.runtime.artifact import ArtifactError, payload_of

        payload_format, lanes = payload_of(manifest)
    except ArtifactError as e:
        raise AgentError(str(e), "artifact") from None
    try:
        to_input = InputConverter(manifest["input"])
        to_symbols = OutputConverter(manifest["output"], manifest["latent"])
    except (TensorSpecError, KeyError) as e:
        raise AgentError(f"manifest input/output not supported: {e}", "artifact") from None

    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    ti = time.perf_counter_ns()
    _preimport(manifest["target"])
    t0 = time.perf_counter_ns()
    soc = (manifest.get("accelerator") or {}).get("soc")
    try:
        backend = open_on_accelerator(
            manifest["target"],
            os.path.join(artifact_dir, manifest["files"]["encoder"]),
            args.accelerator,
            args.threads,
            args.qnn_libs,
            soc,
        )
    except AcceleratorUnavailableError as e:
        raise AgentError(str(e), "accelerator") from None
    except EncoderUnavailableError as e:
        raise AgentError(str(e), "runtime") from None
    t1 = time.perf_counter_ns()
    tables_file = manifest.get("files", {}).get("tables") or manifest.get("tables", {}).get("file")
    try:
        tables = CodecTables.read(os.path.join(artifact_dir, tables_file))
    except Exception as e:  # the codec raises its own error types; report any as a bad artifact
        raise AgentError(f"tables file {tables_file}: {e}", "artifact") from None
    try:  # coder and container settings checked once, outside the timed loop
        point = manifest.get("rate_point") or {}  # one rate point's view (fsplit-bench run --rate-point)
        write_stream = LatentWriter(
            tables, payload_format=payload_format, lanes=lanes, rate_point=int(point.get("index", 0))
        )
    except Exception as e:
        raise AgentError(f"payload {payload_format} x {lanes} lanes: {e}", "artifact") from None
    t2 = time.perf_counter_ns()
    sink.emit(
        "hello",
        schema=events.SCHEMA,
        runner=RUNNER,
        runtime={"name": backend.name, "version": backend.version},
        threads=backend.threads,
        affinity=affinity,
        pid=os.getpid(),
        python=platform.python_version(),
        machine=platform.machine(),
        accelerator=args.accelerator or default_accelerator(manifest["target"]),
    )
    sink.emit("load", model_load_ms=_ms(t0, t1), tables_load_ms=_ms(t1, t2), runtime_import_ms=_ms(ti, t0))

    images = _load_inputs(os.path.join(args.bundle, "inputs"))
    height, width = to_input.height, to_input.width

    placement_sent: list[bool] = []

    def report_placement():
        """Once, right after the first inference: where the runtime placed each node (accelerated backends)."""
        placement = getattr(backend, "placement", None)
        if placement is not None and not placement_sent:
            placement_sent.append(True)
            sink.emit("placement", fully_offloaded=placement.fully_offloaded, **placement.to_dict())

    def one_pass(rgb):
        a = time.perf_counter_ns()
        x = to_input(rgb)
        b = time.perf_counter_ns()
        y = backend.run(x)
        c = time.perf_counter_ns()
        symbols = to_symbols(y)
        stream = write_stream(symbols)
        d = time.perf_counter_ns()
        report_placement()
        return (a, b, c, d), symbols, stream

    try:
        for _ in range(args.warmup):
            one_pass(images[0][1])
    except TensorSpecError as e:
        raise AgentError(str(e), "input") from None
    sink.emit("warmup", runs=args.warmup)

    samples = 0
    for name, rgb in images:
        first_stream, symbols, deterministic = None, None, True
        for run in range(args.runs):
            (a, b, c, d), symbols, stream = one_pass(rgb)
            if first_stream is None:
                first_stream = stream
            elif stream != first_stream:
                deterministic = False
            sink.emit(
                "sample",
                image=name,
                run=run,
                preprocess_ms=_ms(a, b),
                encoder_ms=_ms(b, c),
                entropy_ms=_ms(c, d),
                total_ms=_ms(a, d),
            )
            samples += 1
        if first_stream is not None and args.streams_dir:
            os.makedirs(args.streams_dir, exist_ok=True)
            with open(os.path.join(args.streams_dir, f"{name}.fscl"), "wb") as f:
                f.write(first_stream)
        if first_stream is not None:
            assert symbols is not None  # set by the same pass as first_stream
            sink.emit(
                "image",
                image=name,
                bytes=len(first_stream),
                bpp=8.0 * len(first_stream) / (height * width),
                symbols_sha256=hashlib.sha256(symbols.astype("<i4").tobytes()).hexdigest(),
                stream_sha256=hashlib.sha256(first_stream).hexdigest(),
                deterministic=deterministic,
            )
    sink.emit("end", peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, samples=samples)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="fsplit-device-agent", description=__doc__.splitlines()[0])
    p.add_argument("--bundle", required=True, help="folder with artifact/ and inputs/")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--accelerator",
        choices=("npu", "gpu", "cpu"),
        default=None,
        help="where the encoder runs (default: the artifact's: npu for qnn, gpu for vulkan, else cpu)",
    )
    p.add_argument("--qnn-libs", default=None, help="folder with the device's QNN libraries (libQnnHtp.so...)")
    p.add_argument("--events-file", default=None, help="also append events to this file")
    p.add_argument("--streams-dir", default=None, help="write each image's coded stream to DIR/<image>.fscl")
    args = p.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        p.error("--runs must be >= 1 and --warmup >= 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sink = None
    try:
        sink = EventSink(args.events_file)
        _run(args, sink)
        return 0
    except AgentError as e:
        _report(sink, str(e), e.kind)
        return EXIT_ERROR
    except OSError as e:
        if e.errno == errno.ENOSPC:
            _report(sink, f"device storage full: {e}", "disk_full")
            return EXIT_DISK_FULL
        _report(sink, f"I/O error: {e}", "io")
        return EXIT_ERROR
    finally:
        if sink is not None:
            try:
                sink.close()
            except OSError:
                pass


def _report(sink, message, kind):
    line = events.format_event("error", message=message, kind=kind)
    print(line, flush=True)
    print(f"fsplit-device-agent: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
