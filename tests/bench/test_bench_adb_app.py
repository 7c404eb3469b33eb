"""``fsplit-bench --device adb --runner app`` (drives the Android demo app's benchmark mode) end to end, as far as
this machine allows: NOT a phone, NOT Android, NOT the APK.

Chain exercised: the real ``fsplit-bench`` CLI -> the real Debian adb client/server -> the adb daemon stand-in
(tests/doubles/adb_standin.py, runs shell commands on this host) -> the ``am start -W -n
dev.fsplit.demo/.BenchmarkActivity --es bundle DIR --ei runs N --ei warmup M`` command line -> an ``am`` shim on
the stand-in's PATH (a STAND-IN for Android's activity manager, written below) that parses those extras and
launches the app's plain-Java benchmark mode (android_demo/core BenchmarkMode.main, compiled with javac, the
.pte run by ExecuTorch's Python runtime in place of the Android Module, as in tests/bench/test_android_core.py) ->
events file + .exit marker -> poll -> adb pull -> fsplit-bench's result builder.
Not exercised: the APK, Android's activity manager, BenchmarkActivity's android.* glue, the ExecuTorch Module.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench_support import corrupt_encoder_artifact, tiny_artifacts
from doubles.adb_standin import AdbStandin
from fsplit_mobile.bench.app_runner import APP_COMPONENT, AppNotFinishedError, am_start_command
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.errors import DeviceDisconnectedError, RunnerFailedError
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import AdbTransport
from repo_paths import REPO
from test_android_core import CODEC, CORE, ENCODER_HELPER, JUNIT, _java_tools, _javac, _sources

APP_FILES = "sdcard/Android/data/dev.fsplit.demo/files"  # the app's external files dir, inside the stand-in root

# Stand-in for Android's `am` (activity manager) on the adb stand-in's PATH. NOT Android: it knows one activity,
# parses `start [-W] -n COMPONENT (--es KEY VALUE | --ei KEY N)...` and launches the app core's benchmark mode
# on the JVM in the background (am start returns before the run ends, as on a phone).
AM_SHIM = '''#!{python}
"""am STAND-IN (not Android's activity manager): starts dev.fsplit.demo's benchmark mode on the JVM."""
import subprocess, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\\n")
if not args or args[0] != "start":
    sys.exit("am stand-in: only 'start' is supported")
args, component, extras = args[1:], None, []
while args:
    a = args.pop(0)
    if a in ("-W", "-S"):
        continue
    if a == "-n":
        component = args.pop(0)
    elif a in ("--es", "--ei"):
        key, value = args.pop(0), args.pop(0)
        if a == "--ei" and not value.lstrip("-").isdigit():
            sys.exit("Error: --ei " + key + " needs an integer")
        extras += [a, key, value]
    else:
        sys.exit("am stand-in: unsupported argument " + a)
if component != {component!r} or not {launch!r}:
    print("Error: Activity class {{" + str(component) + "}} does not exist.")
    sys.exit(0)  # Android's am reports this on stdout with exit 0
print("Starting: Intent {{ cmp=" + component + " }}")
if {really_run!r}:
    subprocess.Popen({java!r} + extras, start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=open({log!r} + ".java", "a"), stderr=subprocess.STDOUT)
print("Status: ok")
print("Complete")
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_artifacts(tmp_path_factory)


@pytest.fixture(scope="module")
def app_core_classpath(tmp_path_factory):
    """The app's plain-Java core (+ the Java coder and the test-only encoder stand-in), compiled with javac."""
    _java_tools()
    root = tmp_path_factory.mktemp("app-core-classes")
    codec = _javac(root / "codec", _sources(CODEC / "src" / "main" / "java"), release="8")
    core = _javac(root / "core", _sources(CORE / "src" / "main" / "java"), [codec])
    tests = _javac(root / "core-test", _sources(CORE / "src" / "test" / "java"), [JUNIT, core, codec])
    return os.pathsep.join(str(p) for p in (core, codec, tests))


@pytest.fixture
def standin(tmp_path, adb_port):
    device = AdbStandin(tmp_path / "standin-root").start()
    (Path(device.root) / APP_FILES).mkdir(parents=True)  # exists on a phone once the app has run
    yield device
    device.stop()
    subprocess.run(["adb", "-P", str(adb_port), "disconnect", device.serial], capture_output=True, timeout=30)


def _install_am(standin, classpath, really_run=True, launch=True) -> Path:
    log = Path(standin.root) / "am-standin.log"
    java = [
        "java",
        "-cp",
        classpath,
        "-Dfsplit.encoderLoader=dev.fsplit.demo.core.testing.PythonEncoderLoader",
        f"-Dfsplit.python={sys.executable}",
        f"-Dfsplit.encoderHelper={ENCODER_HELPER}",
        "dev.fsplit.demo.core.bench.BenchmarkMode",
    ]
    standin.install_command(
        "am",
        AM_SHIM.format(
            python=sys.executable,
            log=str(log),
            component=APP_COMPONENT,
            java=java,
            really_run=really_run,
            launch=launch,
        ),
    )
    return log


def _cli(standin, adb_port, artifact, out, *extra):
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main

    return CliRunner().invoke(
        main,
        [
            "run",
            "--artifact",
            str(artifact),
            "--device",
            f"adb:{standin.serial}",
            "--adb-server-port",
            str(adb_port),
            "--remote-dir",
            str(Path(standin.root) / APP_FILES),
            "--runner",
            "app",
            "--runs",
            "3",
            "--warmup",
            "1",
            "--image-limit",
            "2",
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ],
    )


@pytest.mark.slow
def test_adb_standin_not_a_phone_app_runner_via_am_shim_and_jvm_core(
    tiny, app_core_classpath, standin, adb_port, tmp_path
):
    log = _install_am(standin, app_core_classpath)
    res = _cli(standin, adb_port, tiny["executorch"], tmp_path / "app")
    assert res.exit_code == 0, res.output + (
        log.with_suffix(".log.java").read_text() if log.with_suffix(".log.java").exists() else ""
    )
    result = load_result(tmp_path / "app")
    assert result["status"] == "complete" and result["error"] is None
    assert result["config"]["runner"] == "app" and result["runner"]["runner"] == "android-app"
    assert result["stages"]["encoder_ms"]["n"] == 6 and len(result["images"]) == 2
    assert (tmp_path / "app" / "device-events.jsonl").is_file()
    # The am stand-in got exactly the command fsplit-bench documents (android_demo/README.md).
    calls = log.read_text().splitlines()
    assert len(calls) == 1
    assert calls[0].startswith(f"start -W -n {APP_COMPONENT} --es bundle {standin.root}/{APP_FILES}/fsplit-bench-")
    assert calls[0].endswith("--ei runs 3 --ei warmup 1")
    assert not [p for p in (Path(standin.root) / APP_FILES).iterdir()]  # staging folder removed

    # Same streams, byte for byte, as the Python device agent through the same stand-in.
    py = run_benchmark(
        tiny["executorch"],
        AdbTransport(serial=standin.serial, server_port=adb_port, stage_root=standin.root),
        BenchConfig(runs=1, warmup=0, image_limit=2, runner=RunnerSpec(kind="python", python=sys.executable)),
        out_dir=tmp_path / "py",
        progress=False,
    )
    assert [i["stream_sha256"] for i in result["images"]] == [i["stream_sha256"] for i in py["images"]]
    assert all(i["deterministic"] for i in result["images"])


@pytest.mark.slow
def test_adb_standin_app_runner_app_error_keeps_partial_result(tiny, app_core_classpath, standin, adb_port, tmp_path):
    _install_am(standin, app_core_classpath)
    bad = corrupt_encoder_artifact(tiny["executorch"], tmp_path / "bad")
    transport = AdbTransport(
        serial=standin.serial, server_port=adb_port, stage_root=str(Path(standin.root) / APP_FILES)
    )
    with pytest.raises(RunnerFailedError, match="exit code 2") as info:
        run_benchmark(
            bad,
            transport,
            BenchConfig(runs=2, warmup=0, image_limit=1, runner=RunnerSpec(kind="app"), timeout_s=120),
            out_dir=tmp_path / "out",
            progress=False,
        )
    assert info.value.exit_code == 2
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and result["error"]["type"] == "RunnerFailedError"


def test_adb_standin_app_runner_app_missing_never_finishing_or_device_dropped(tiny, standin, adb_port, tmp_path):
    transport = AdbTransport(
        serial=standin.serial, server_port=adb_port, stage_root=str(Path(standin.root) / APP_FILES)
    )

    def bench(name, timeout_s=2.0):
        return run_benchmark(
            tiny["executorch"],
            transport,
            BenchConfig(runs=1, warmup=0, image_limit=1, runner=RunnerSpec(kind="app"), timeout_s=timeout_s),
            out_dir=tmp_path / name,
            progress=False,
        )

    # No `am` that knows the app: the activity does not exist (app not installed).
    _install_am(standin, "unused", launch=False)
    with pytest.raises(RunnerFailedError, match="is the demo app installed"):
        bench("missing")
    assert load_result(tmp_path / "missing")["status"] == "partial"

    # The activity starts but never writes its exit marker: a clear timeout, partial result kept.
    _install_am(standin, "unused", really_run=False)
    with pytest.raises(AppNotFinishedError, match="no exit marker .* within 2 s"):
        bench("hung")
    assert load_result(tmp_path / "hung")["error"]["type"] == "AppNotFinishedError"

    # The cable is pulled while fsplit-bench waits for the app.
    import threading

    threading.Timer(3.0, standin.drop_connections).start()
    with pytest.raises(DeviceDisconnectedError):
        bench("dropped", timeout_s=60)
    assert load_result(tmp_path / "dropped")["error"]["type"] == "DeviceDisconnectedError"


def test_app_runner_refuses_what_the_app_cannot_do(tiny, tmp_path):
    from fsplit_mobile.bench.errors import ArtifactError, BenchError
    from fsplit_mobile.bench.transports.local import LocalTransport

    with pytest.raises(BenchError, match="needs --device adb"):
        run_benchmark(
            tiny["executorch"],
            LocalTransport(),
            BenchConfig(runner=RunnerSpec(kind="app")),
            out_dir=tmp_path / "a",
            progress=False,
        )
    with pytest.raises(ArtifactError, match="ExecuTorch artifacts only"):
        run_benchmark(
            tiny["onnx"],
            AdbTransport(serial="x"),
            BenchConfig(runner=RunnerSpec(kind="app")),
            out_dir=tmp_path / "b",
            progress=False,
        )


def test_am_command_matches_the_app_readme():
    """fsplit-bench starts the app with the command android_demo/README.md documents (kept in sync)."""
    readme = (REPO / "android_demo" / "README.md").read_text()
    documented = "adb shell " + am_start_command("$D", 20, 5, None).replace("'$D'", "$D")
    assert documented in readme, documented
    assert am_start_command("/x", 3, 1, 4).endswith("--ei runs 3 --ei warmup 1 --ei threads 4")
