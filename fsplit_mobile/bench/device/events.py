"""The event stream a device-side runner prints (schema ``fsplit-bench-events/1``).

Both the Python device agent and the native runner print one JSON object per line, each line prefixed with
``@fsplit `` so that anything else a runtime prints on stdout is ignored. Event kinds, in order:

``hello``  runner facts: runner, runtime, threads, affinity, pid
``load``   model_load_ms, tables_load_ms
``placement`` accelerator, nodes_total, nodes_on_accelerator, partitions, fallback, fully_offloaded
           (accelerated backends, once, after the first inference; fsplit_mobile.runtime.placement)
``warmup`` runs (warm-up iterations done, excluded from statistics)
``sample`` image, run, preprocess_ms, encoder_ms, entropy_ms, total_ms
``image``  image, bytes, bpp, symbols_sha256, stream_sha256, deterministic
``end``    peak_rss_kb, samples
``error``  message, kind (then the runner exits non-zero)

Stdlib only: this module runs on the device.
"""

import json

SCHEMA = "fsplit-bench-events/1"
PREFIX = "@fsplit "
KINDS = ("hello", "load", "placement", "warmup", "sample", "image", "end", "error")
STAGES = ("preprocess_ms", "encoder_ms", "entropy_ms", "total_ms")

REQUIRED = {
    "hello": ("schema", "runner", "runtime"),
    "load": ("model_load_ms",),
    "placement": ("accelerator", "nodes_total", "fallback"),
    "warmup": ("runs",),
    "sample": ("image", "run") + STAGES,
    "image": ("image", "bytes", "bpp", "symbols_sha256", "stream_sha256"),
    "end": ("peak_rss_kb", "samples"),
    "error": ("message",),
}


class EventFormatError(ValueError):
    """A line carries the event prefix but is not a valid event."""


def format_event(kind: str, /, **fields) -> str:
    """Return one event line (without newline)."""
    if kind not in KINDS:
        raise EventFormatError(f"unknown event kind {kind!r}")
    return PREFIX + json.dumps({"event": kind, **fields}, separators=(",", ":"), sort_keys=True)


def parse_event_line(line: str):
    """Return the event dict of a line, or None when the line is not an event line (runtime noise)."""
    line = line.rstrip("\r\n")
    if not line.startswith(PREFIX):
        return None
    try:
        event = json.loads(line[len(PREFIX) :])
    except json.JSONDecodeError as e:
        raise EventFormatError(f"malformed event line ({e.msg}): {line[:120]!r}") from None
    if not isinstance(event, dict) or event.get("event") not in KINDS:
        raise EventFormatError(f"event line without a known 'event' kind: {line[:120]!r}")
    missing = [k for k in REQUIRED[event["event"]] if k not in event]
    if missing:
        raise EventFormatError(f"{event['event']} event lacks {', '.join(missing)}: {line[:120]!r}")
    return event
