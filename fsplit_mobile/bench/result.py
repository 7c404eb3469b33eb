"""The benchmark result (schema ``fsplit-bench-result/1``): built from device events, saved incrementally.

``events.jsonl`` in the output folder receives every device event as it arrives (flushed per line), and
``result.json`` is rewritten atomically after every image and at the end, so an interrupted run keeps what it
measured (``status: partial`` plus the error).
"""

import datetime
import json
import os
from pathlib import Path

from .device import events as ev
from .errors import ResultFormatError
from .stats import summarize

SCHEMA = "fsplit-bench-result/1"
STAGES = ev.STAGES


class ResultRecorder:
    """Collects events of one run and persists them in `out_dir` as they come."""

    def __init__(self, out_dir, meta: dict):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.meta = dict(meta)
        self.events: list[dict] = []
        self._events_file = open(self.out_dir / "events.jsonl", "w", encoding="utf-8")

    def add(self, event: dict) -> None:
        self.events.append(event)
        self._events_file.write(json.dumps(event, sort_keys=True) + "\n")
        self._events_file.flush()
        if event["event"] in ("image", "end"):
            self.save("running")

    def merge_pulled(self, pulled_events) -> None:
        """Adopt the device-side events file when it holds more than the stream delivered."""
        if len(pulled_events) > len(self.events):
            self.events = list(pulled_events)

    def build(self, status: str, error: BaseException | None = None) -> dict:
        return build_result(self.events, self.meta, status, error)

    def save(self, status: str, error: BaseException | None = None) -> dict:
        result = self.build(status, error)
        write_json_atomic(self.out_dir / "result.json", result)
        return result

    def close(self):
        self._events_file.close()


def build_result(events, meta: dict, status: str, error: BaseException | None = None) -> dict:
    hello: dict = next((e for e in events if e["event"] == "hello"), {})
    load: dict = next((e for e in events if e["event"] == "load"), {})
    end = next((e for e in events if e["event"] == "end"), None)
    device_error = next((e for e in events if e["event"] == "error"), None)
    placement = next(({k: v for k, v in e.items() if k != "event"} for e in events if e["event"] == "placement"), None)
    samples = [{k: e[k] for k in ("image", "run") + STAGES} for e in events if e["event"] == "sample"]
    images = [
        {k: e.get(k) for k in ("image", "bytes", "bpp", "symbols_sha256", "stream_sha256", "deterministic")}
        for e in events
        if e["event"] == "image"
    ]
    if status == "complete" and end is None:
        status = "partial"
    err = None
    if error is not None:
        err = {"type": type(error).__name__, "message": str(error)}
    elif device_error is not None:
        err = {"type": "DeviceRunnerError", "message": device_error["message"]}
    return {
        "schema": SCHEMA,
        "status": status,
        "error": err,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **meta,
        "runner": {
            k: hello.get(k)
            for k in ("runner", "runtime", "threads", "affinity", "pid", "python", "machine", "accelerator")
            if k in hello
        },
        "placement": placement,  # accelerated runs: nodes on the accelerator vs CPU fallback (runtime.placement)
        "load": {k: load[k] for k in ("model_load_ms", "tables_load_ms", "runtime_import_ms") if k in load},
        "stages": {stage: summarize([s[stage] for s in samples]) for stage in STAGES},
        "images": images,
        "bytes": summarize([i["bytes"] for i in images]),
        "bpp": summarize([i["bpp"] for i in images]),
        "peak_rss_kb": end["peak_rss_kb"] if end else None,
        "samples": samples,
    }


def write_json_atomic(path, obj) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def read_events_file(path):
    """Read an events file written by a device runner (prefixed lines) or by the recorder (plain JSON)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                event = ev.parse_event_line(line) if line.startswith(ev.PREFIX) else json.loads(line)
            except (ev.EventFormatError, json.JSONDecodeError) as e:
                raise ResultFormatError(f"{path}:{n}: {e}") from None
            if not isinstance(event, dict) or event.get("event") not in ev.KINDS:
                raise ResultFormatError(f"{path}:{n}: not an event")
            out.append(event)
    return out


def load_result(path) -> dict:
    """Load a result.json (or a folder holding one) and check its schema."""
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    try:
        with open(path, encoding="utf-8") as f:
            result = json.load(f)
    except FileNotFoundError:
        raise ResultFormatError(f"{path} not found") from None
    except json.JSONDecodeError as e:
        raise ResultFormatError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(result, dict) or result.get("schema") != SCHEMA:
        raise ResultFormatError(
            f"{path}: schema is {result.get('schema') if isinstance(result, dict) else None!r}, expected {SCHEMA!r}"
        )
    for key in ("status", "artifact", "device", "stages", "images"):
        if key not in result:
            raise ResultFormatError(f"{path}: missing '{key}'")
    return result
