"""fsplit-bench building blocks: statistics, event lines, --device parsing, device facts, PPM, ELF deps,
result files, Markdown and plots. Fast; no device."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fsplit_mobile
from fsplit_mobile.bench import bundle, device_info
from fsplit_mobile.bench.device import events
from fsplit_mobile.bench.device.ppm import PpmError, read_ppm, write_ppm
from fsplit_mobile.bench.elf_deps import bundled_dependencies, needed_libraries
from fsplit_mobile.bench.errors import DeviceSpecError, ResultFormatError
from fsplit_mobile.bench.result import SCHEMA, build_result, load_result, read_events_file, write_json_atomic
from fsplit_mobile.bench.stats import percentile, summarize
from fsplit_mobile.bench.transports import parse_device


# ---- stats ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_summary_matches_numpy(n):
    rng = np.random.default_rng(n)
    x = rng.gamma(2.0, 3.0, size=n)
    s = summarize(x)
    assert s["n"] == n
    for q in (50, 90, 99):
        assert s[f"p{q}"] == pytest.approx(np.percentile(x, q), rel=1e-12)
    assert s["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert s["stddev"] == pytest.approx(x.std(ddof=1) if n > 1 else 0.0, rel=1e-12, abs=1e-15)
    assert (s["min"], s["max"]) == (x.min(), x.max())


def test_summary_of_nothing_and_bad_percentile():
    assert summarize([]) == {"n": 0}
    with pytest.raises(ValueError, match="0..100"):
        percentile([1.0], 101)


# ---- events --------------------------------------------------------------------------------------------------
def test_event_line_round_trip_and_noise():
    line = events.format_event(
        "sample", image="a", run=0, preprocess_ms=1.0, encoder_ms=2.0, entropy_ms=0.5, total_ms=3.5
    )
    assert line.startswith("@fsplit ")
    assert events.parse_event_line(line + "\n")["encoder_ms"] == 2.0
    assert events.parse_event_line("XNNPACK: some runtime chatter") is None
    error = events.format_event("error", message="boom", kind="disk_full")  # a field named 'kind' is allowed
    assert events.parse_event_line(error)["kind"] == "disk_full"


@pytest.mark.parametrize(
    "line, match",
    [
        ("@fsplit {not json", "malformed"),
        ('@fsplit {"event": "teleport"}', "known 'event'"),
        ('@fsplit {"event": "sample", "image": "a"}', "lacks run"),
    ],
)
def test_bad_event_lines_are_named(line, match):
    with pytest.raises(events.EventFormatError, match=match):
        events.parse_event_line(line)


# ---- device strings ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, expected",
    [
        ("local", {"kind": "local"}),
        ("adb", {"kind": "adb", "serial": None}),
        ("adb:R58M123", {"kind": "adb", "serial": "R58M123"}),
        ("adb:127.0.0.1:5555", {"kind": "adb", "serial": "127.0.0.1:5555"}),
        ("ssh://pi@raspberrypi.local", {"kind": "ssh", "user": "pi", "host": "raspberrypi.local", "port": None}),
        ("ssh://nvidia@10.0.0.7:2222", {"kind": "ssh", "user": "nvidia", "host": "10.0.0.7", "port": 2222}),
        ("ssh://board", {"kind": "ssh", "user": None, "host": "board", "port": None}),
    ],
)
def test_parse_device(spec, expected):
    assert parse_device(spec) == expected


@pytest.mark.parametrize("spec", ["", "phone", "adb:", "ssh://", "ssh://u@h:notaport", "ssh://u@h/path", "tcp://host"])
def test_parse_device_rejects(spec):
    with pytest.raises(DeviceSpecError):
        parse_device(spec)


# ---- device facts --------------------------------------------------------------------------------------------
RPI_PROBE = """@@fsplit-section uname
Linux 6.1.0-rpi7-rpi-v8 aarch64
@@fsplit-section nproc
4
@@fsplit-section cpuinfo
processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm crc32 cpuid asimddp
CPU part	: 0xd0b
Hardware	: BCM2835
@@fsplit-section meminfo
MemTotal:        8245632 kB
@@fsplit-section governor
/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor ondemand
/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor ondemand
@@fsplit-section maxfreq
/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq 2400000
@@fsplit-section thermal
cpu-thermal	51540
@@fsplit-section board
Raspberry Pi 5 Model B Rev 1.0
@@fsplit-section tegra
@@fsplit-section os
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
@@fsplit-section getprop
@@fsplit-section end
"""

ANDROID_PROBE = """@@fsplit-section uname
Linux 5.15.123-android13 aarch64
@@fsplit-section nproc
8
@@fsplit-section cpuinfo
processor	: 0
CPU part	: 0xd46
processor	: 7
CPU part	: 0xd4d
@@fsplit-section getprop
[ro.product.manufacturer]: [Google]
[ro.product.model]: [Pixel 8]
[ro.soc.model]: [Tensor G3]
[ro.build.version.release]: [14]
@@fsplit-section end
"""


def test_probe_parse_raspberry_pi():
    info = device_info.parse_probe(RPI_PROBE)
    assert info["board_model"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert info["cpu_model"] == "BCM2835" and info["cores"] == 4 and info["arch"] == "aarch64"
    assert info["governor"] == {"ondemand": [0, 1]}
    assert info["max_freq_mhz"] == [2400]
    assert info["thermal"] == [{"zone": "cpu-thermal", "temp_c": pytest.approx(51.54)}]
    assert "asimddp" in info["simd"] and info["mem_total_kb"] == 8245632


def test_probe_parse_android_getprop():
    info = device_info.parse_probe(ANDROID_PROBE)
    assert info["board_model"] == "Google Pixel 8"
    assert info["soc"] == "Tensor G3"
    assert info["android"]["ro.build.version.release"] == "14"
    assert info["cpu_model"] == "ARM CPU parts 0xd46,0xd4d"


def test_probe_script_runs_on_this_host():
    out = subprocess.run(["/bin/sh", "-c", device_info.PROBE_SCRIPT], capture_output=True, text=True, timeout=60)
    info = device_info.parse_probe(out.stdout)
    assert info["cores"] >= 1 and info["os"] == "Linux" and info["mem_total_kb"] > 0


# ---- PPM -----------------------------------------------------------------------------------------------------
def test_ppm_round_trip_and_comments(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    write_ppm(tmp_path / "a.ppm", rgb)
    assert np.array_equal(read_ppm(tmp_path / "a.ppm"), rgb)
    (tmp_path / "c.ppm").write_bytes(b"P6\n# a comment\n7 5\n255\n" + rgb.tobytes())
    assert np.array_equal(read_ppm(tmp_path / "c.ppm"), rgb)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"P3\n1 1\n255\n0 0 0", "not a binary PPM"),
        (b"P6\n2 2\n65535\n" + bytes(24), "unsupported PPM"),
        (b"P6\n4 4\n255\n" + bytes(10), "truncated"),
        (b"P6\n4", "truncated PPM header"),
    ],
)
def test_ppm_errors(tmp_path, data, match):
    (tmp_path / "bad.ppm").write_bytes(data)
    with pytest.raises(PpmError, match=match):
        read_ppm(tmp_path / "bad.ppm")


# ---- what the Python runner ships -----------------------------------------------------------------------------
def test_agent_bundle_is_the_device_subpackage_and_runs_from_it(tmp_path):
    """Every module of bench/device ships (no hand-kept list), no host-side bench module does, and the agent
    imports from the bundle alone (a new device module that is not shipped would fail here)."""
    bundle._copy_agent(tmp_path)
    root = tmp_path / "py" / "fsplit_mobile"
    package = Path(fsplit_mobile.__file__).parent
    device_modules = sorted(p.name for p in (package / "bench" / "device").glob("*.py"))
    assert sorted(p.name for p in (root / "bench" / "device").glob("*.py")) == device_modules
    assert {"agent.py", "events.py", "ppm.py"} <= set(device_modules)
    assert sorted(p.name for p in (root / "bench").iterdir()) == ["__init__.py", "device"]
    probe = (
        "import json, sys, fsplit_mobile.bench.device.agent as a, fsplit_mobile.codec.container as c; "
        "print(a.__file__); print(c.__file__); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('fsplit_mobile.bench'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "py")},
    ).stdout.splitlines()
    assert all(Path(f).is_relative_to(tmp_path) for f in out[:2]), out
    assert json.loads(out[2]) == [
        "fsplit_mobile.bench",
        "fsplit_mobile.bench.device",
        "fsplit_mobile.bench.device.agent",
        "fsplit_mobile.bench.device.events",
        "fsplit_mobile.bench.device.ppm",
    ]


# ---- ELF dependencies ----------------------------------------------------------------------------------------
def test_needed_libraries_agree_with_readelf(tmp_path):
    binary = shutil.which("ssh")
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    expected = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    assert needed_libraries(binary) == expected and expected
    script = tmp_path / "runner.sh"
    script.write_text("#!/bin/sh\n")
    assert needed_libraries(script) == []


def test_bundled_dependencies_follow_local_libraries(tmp_path):
    from fsplit_mobile.bench.bundle import executorch_lib_dir

    lib_dir = executorch_lib_dir()
    xnn = lib_dir / "libexecutorch_backend_xnnpack.so"
    names = {p.name for p in bundled_dependencies(xnn, [lib_dir])}
    assert names == {"libexecutorch.so", "libexecutorch_threadpool.so"}  # libc & co. stay system libraries


# ---- results -------------------------------------------------------------------------------------------------
def _events(n_samples=3, end=True):
    evs = [
        {
            "event": "hello",
            "schema": events.SCHEMA,
            "runner": "python-agent",
            "runtime": {"name": "onnxruntime", "version": "x"},
            "threads": 2,
            "affinity": [0, 1],
        },
        {"event": "load", "model_load_ms": 12.0, "tables_load_ms": 0.1},
    ]
    evs += [
        {
            "event": "sample",
            "image": "a",
            "run": i,
            "preprocess_ms": 1.0,
            "encoder_ms": 2.0 + i,
            "entropy_ms": 0.25,
            "total_ms": 3.25 + i,
        }
        for i in range(n_samples)
    ]
    evs.append(
        {
            "event": "image",
            "image": "a",
            "bytes": 100,
            "bpp": 0.5,
            "symbols_sha256": "ab",
            "stream_sha256": "cd",
            "deterministic": True,
        }
    )
    if end:
        evs.append({"event": "end", "peak_rss_kb": 1000, "samples": n_samples})
    return evs


META = {
    "artifact": {"target": "onnx", "quantization": "int8"},
    "device": {"cpu_model": "Test CPU"},
    "config": {"runs": 3, "warmup": 1, "runner": "python", "images": ["a"]},
}


def test_build_result_statistics_and_status():
    r = build_result(_events(), META, "complete")
    assert r["schema"] == SCHEMA and r["status"] == "complete" and r["error"] is None
    assert r["stages"]["encoder_ms"]["p50"] == 3.0 and r["stages"]["encoder_ms"]["n"] == 3
    assert r["bytes"]["mean"] == 100 and r["peak_rss_kb"] == 1000
    partial = build_result(_events(end=False), META, "complete")
    assert partial["status"] == "partial"  # no 'end' event: never reported as complete
    failed = build_result(_events(end=False), META, "partial", RuntimeError("link down"))
    assert failed["error"] == {"type": "RuntimeError", "message": "link down"}


def test_load_result_checks_schema(tmp_path):
    write_json_atomic(tmp_path / "result.json", build_result(_events(), META, "complete"))
    assert load_result(tmp_path)["status"] == "complete"
    (tmp_path / "other.json").write_text(json.dumps({"schema": "something-else/1"}))
    with pytest.raises(ResultFormatError, match="expected 'fsplit-bench-result/1'"):
        load_result(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ResultFormatError, match="not valid JSON"):
        load_result(tmp_path / "broken.json")


def test_read_events_file_accepts_both_forms(tmp_path):
    evs = _events()
    f = tmp_path / "device-events.jsonl"
    f.write_text(
        "\n".join(events.format_event(e["event"], **{k: v for k, v in e.items() if k != "event"}) for e in evs) + "\n"
    )
    assert read_events_file(f) == evs
    g = tmp_path / "events.jsonl"
    g.write_text("\n".join(json.dumps(e) for e in evs) + "\n{oops\n")
    with pytest.raises(ResultFormatError, match=f":{len(evs) + 1}:"):
        read_events_file(g)


def test_markdown_and_plots_and_compare_cli(tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main
    from fsplit_mobile.bench.report import render_markdown

    a, b = tmp_path / "a", tmp_path / "b"
    for folder, scale in ((a, 1.0), (b, 2.0)):
        folder.mkdir()
        evs = _events()
        for e in evs:
            if e["event"] == "sample":
                e["encoder_ms"] *= scale
        write_json_atomic(folder / "result.json", build_result(evs, META, "complete"))
    md = render_markdown([load_result(a)])
    assert "| encoder | 3 | 2.000 | 3.000 |" in md and "onnx-int8 [python] @ Test CPU" in md
    res = CliRunner().invoke(main, ["compare", str(a), str(b / "result.json")])
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if line.startswith("| onnx-int8")]
    assert [row.split("|")[3].strip() for row in rows] == ["3.00", "6.00"]
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    for name in ("report.md", "stages.png", "latency.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0
    assert (tmp_path / "cmp" / "stages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "cmp" / "report.md")])
    assert res.exit_code != 0 and "not valid JSON" in res.output


def test_cli_rejects_bad_device_string(tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    res = CliRunner().invoke(main, ["--artifact", str(tmp_path), "--device", "phone"])
    assert res.exit_code == 2 and "unknown device 'phone'" in res.output
