"""Android demo (android_demo/): everything that can be built and run on this machine without the Android SDK.

javac compiles the pure-Java coder (runtimes/java), the app's plain-Java core (android_demo/core), its JUnit tests,
and the thin android.* glue (android_demo/app) against compile-only stubs (android_demo/stubs: NOT Android). The
JUnit 5 console launcher runs the core tests, and, with fixtures built here, the tests tagged "pytest-fixtures":
a real fsplit-export artifact (ExecuTorch .pte, tables, server.onnx), Python's preprocessing of the same photos,
a real `fsplit-serve` process on loopback, and a benchmark bundle built by fsplit-bench's own code.

Not covered (no Android Gradle Plugin, android.jar, d8 or emulator here): the APK build, Android's Bitmap
decoding, and ExecuTorch's Android Module. In the JVM tests the same .pte runs in ExecuTorch's Python runtime in
place of the Module (android_demo/core/src/test/python/encoder_helper.py).
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from repo_paths import REPO

DEMO = REPO / "android_demo"
CORE = DEMO / "core"
CODEC = REPO / "runtimes" / "java"
VECTORS = REPO / "runtimes" / "conformance" / "vectors.txt"
ENCODER_HELPER = CORE / "src" / "test" / "python" / "encoder_helper.py"
JUNIT = Path("/usr/share/java/junit-platform-console-standalone.jar")
FIXTURE_TAG = "pytest-fixtures"
PHOTOS = ("chelsea", "coffee")  # scikit-image sample photos, resized by the app from full size


def _java_tools():
    missing = [t for t in ("javac", "java") if shutil.which(t) is None]
    if missing or not JUNIT.is_file():
        pytest.fail(
            f"Java toolchain incomplete (missing: {missing or ''} {'' if JUNIT.is_file() else JUNIT}); "
            "run scripts/install_system_deps.sh (default-jdk-headless, junit5)"
        )


def _sources(*roots):
    files = sorted(str(p) for root in roots for p in Path(root).rglob("*.java"))
    assert files, f"no Java sources under {roots}"
    return files


def _javac(out: Path, sources, classpath=(), release="11", werror=True):
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["javac", "--release", release, "-encoding", "UTF-8", "-Xlint:all,-serial,-options", "-d", str(out)]
    if werror:
        cmd.append("-Werror")
    if classpath:
        cmd += ["-cp", os.pathsep.join(str(c) for c in classpath)]
    res = subprocess.run(cmd + list(sources), capture_output=True, text=True)
    assert res.returncode == 0, f"javac failed:\n{res.stdout}\n{res.stderr}"
    return out


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """Compiled classes: codec (Java 8, as for Android), core main, core tests, stubs, app glue."""
    _java_tools()
    root = tmp_path_factory.mktemp("android-classes")
    codec = _javac(root / "codec", _sources(CODEC / "src" / "main" / "java"), release="8")
    core = _javac(root / "core", _sources(CORE / "src" / "main" / "java"), [codec])
    tests = _javac(root / "core-test", _sources(CORE / "src" / "test" / "java"), [JUNIT, core, codec])
    stubs = _javac(root / "stubs", _sources(DEMO / "stubs" / "src"), werror=False)
    app = _javac(root / "app", _sources(DEMO / "app" / "src" / "main" / "java"), [stubs, core, codec])
    return {"codec": codec, "core": core, "tests": tests, "stubs": stubs, "app": app}


def run_junit(classes, reports: Path, properties: dict, tag_args):
    """Run the core's JUnit tests; return {test name: status} from the XML report, failing on any failure."""
    cp = os.pathsep.join(str(classes[k]) for k in ("tests", "core", "codec"))
    props = [f"-D{k}={v}" for k, v in properties.items()]
    cmd = [
        "java",
        *props,
        "-jar",
        str(JUNIT),
        "-cp",
        cp,
        "--select-package",
        "dev.fsplit.demo.core",
        *tag_args,
        "--reports-dir",
        str(reports),
        "--fail-if-no-tests",
        "--disable-banner",
        "--details=tree",
        "--disable-ansi-colors",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    report = reports / "TEST-junit-jupiter.xml"
    assert report.is_file(), f"no JUnit report; launcher output:\n{res.stdout[-6000:]}\n{res.stderr[-3000:]}"
    suite = ET.parse(report).getroot()
    results = {}
    for case in suite.iter("testcase"):
        status = "passed"
        for kind in ("failure", "error", "skipped"):
            if case.find(kind) is not None:
                status = kind
        results[f"{case.get('classname').rsplit('.', 1)[-1]}.{case.get('name').split('(')[0]}"] = status
    bad = {k: v for k, v in results.items() if v != "passed"}
    assert res.returncode == 0 and not bad, f"JUnit: {bad}\n{res.stdout[-8000:]}\n{res.stderr[-3000:]}"
    return results


# ---- static checks and builds -------------------------------------------------------------------------------
def test_core_is_free_of_android_and_of_jvm_only_apis():
    for path in (CORE / "src" / "main" / "java").rglob("*.java"):
        text = path.read_text(encoding="utf-8")
        assert "import android." not in text, f"{path} imports android.* (the core must run on a plain JVM)"
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("*", "//", "/*")))
        assert "java.net.http" not in code, f"{path} uses java.net.http, which Android does not have"
        assert "ProcessHandle" not in code, f"{path} uses ProcessHandle, which Android does not have"
        # Java 9+ library calls missing from Android API 26 (the language level may be 11, the library is not).
        for call in (
            "List.of(",
            "Map.of(",
            "Set.of(",
            ".readAllBytes()",
            ".transferTo(",
            "isBlank()",
            ".strip()",
            "Files.readString",
            "Files.writeString",
        ):
            assert call not in code, f"{path} calls {call}, which Android API 26 lacks"


def test_glue_and_stubs_compile(classes):
    names = {p.stem for p in (DEMO / "app" / "src" / "main" / "java").rglob("*.java")}
    assert {"MainActivity", "BenchmarkActivity", "ExecuTorchEncoder"} <= names
    for name in ("MainActivity", "BenchmarkActivity", "ExecuTorchEncoder", "BitmapPixels", "ArtifactStore"):
        assert (classes["app"] / "dev" / "fsplit" / "demo" / f"{name}.class").is_file()
    # The stubs say what they are, and only the app sees them (the core compiled without them).
    for path in (DEMO / "stubs" / "src").rglob("*.java"):
        assert "STUB" in path.read_text(encoding="utf-8"), f"{path} is not marked as a stub"


def test_gradle_project_layout():
    settings = (DEMO / "settings.gradle.kts").read_text()
    assert 'project(":codec").projectDir = file("../runtimes/java")' in settings
    root = (DEMO / "build.gradle.kts").read_text()
    assert 'project(":codec")' in root and 'apply(plugin = "java-library")' in root  # :codec configured from here
    assert (CODEC / "src" / "main" / "java" / "dev" / "fsplit" / "codec").is_dir()
    catalog = (DEMO / "gradle" / "libs.versions.toml").read_text()
    assert 'module = "org.pytorch:executorch-android"' in catalog
    app = (DEMO / "app" / "build.gradle.kts").read_text()
    assert "minSdk = 26" in app and "libs.executorch.android" in app and 'project(":core")' in app
    assert "distributionUrl" in (DEMO / "gradle" / "wrapper" / "gradle-wrapper.properties").read_text()
    manifest = ET.parse(DEMO / "app" / "src" / "main" / "AndroidManifest.xml").getroot()
    ns = "{http://schemas.android.com/apk/res/android}"
    activities = {a.get(ns + "name"): a.get(ns + "exported") for a in manifest.iter("activity")}
    assert activities == {".MainActivity": "true", ".BenchmarkActivity": "true"}


def test_junit_core_units(classes, tmp_path):
    results = run_junit(classes, tmp_path / "reports", {"fsplit.vectors": VECTORS}, ["--exclude-tag", FIXTURE_TAG])
    ran = {name.split(".")[0] for name in results}
    expected = {
        "JsonTest",
        "ManifestTest",
        "ImageResizerTest",
        "PreprocessorTest",
        "SymbolConverterTest",
        "CoderConformanceTest",
        "BenchmarkArgsTest",
        "BenchmarkRunnerTest",
        "ServeClientTest",
        "RatePointTest",
        "PayloadTest",
    }
    assert expected <= ran, f"test classes not run: {expected - ran}"
    assert len(results) >= 35


# ---- fixtures of the end-to-end JUnit run -------------------------------------------------------------------
def _untrained_default_checkpoint(path: Path) -> Path:
    """frankensplit-lite0 with random weights (same architecture, tables and server tail as the bundled model),
    used only when the bundled trained checkpoint is absent: Java and Python must agree either way."""
    import torch

    from fsplit_mobile.models import frankensplit_lite0 as dm

    torch.manual_seed(0)
    enc, eb, dec = dm.build_trainable()
    eb.update(force=True)
    return dm.save_checkpoint(
        path, enc, eb, dec, dict(dm.DEFAULT_CONFIG), {"made_by": "tests/bench/test_android_core.py"}
    )


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """A real `fsplit-export --target executorch` artifact of the default model (architecture and recipe)."""
    from fsplit_mobile.export import api
    from fsplit_mobile.models import frankensplit_lite0 as dm

    reuse = os.environ.get("FSPLIT_ANDROID_TEST_ARTIFACT")  # local iteration: an artifact exported earlier
    if reuse:
        return Path(reuse)
    tmp = tmp_path_factory.mktemp("android-export")
    checkpoint = dm.DEFAULT_CHECKPOINT
    if not checkpoint.is_file():
        checkpoint = _untrained_default_checkpoint(tmp / "frankensplit-lite0-untrained.pt")
    summary = api.export(
        "executorch",
        "none",
        checkpoint=checkpoint,
        recipe=REPO / "fsplit_mobile" / "recipes" / "frankensplit_lite0.toml",
        out=tmp / "art",
    )
    folder = Path(summary.results[0].path)
    assert summary.results[0].ok and (folder / "server.onnx").is_file(), summary
    return folder


def _write_ppm(path: Path, rgb: np.ndarray):
    from fsplit_mobile.bench.device.ppm import write_ppm

    write_ppm(path, rgb)


@pytest.fixture(scope="module")
def parity(artifact, tmp_path_factory):
    """Full-size photos and what Python makes of them (Pillow resize, model input tensor, symbols)."""
    from skimage import data

    from fsplit_mobile.runtime import Artifact, open_encoder
    from fsplit_mobile.runtime.preprocess import load_rgb

    out = tmp_path_factory.mktemp("android-parity")
    art = Artifact.open(artifact)
    encoder = open_encoder(art)
    method = art.input_spec.get("resize", {}).get("method", "bilinear")
    for name in PHOTOS:
        photo = np.ascontiguousarray(getattr(data, name)()[..., :3])
        _write_ppm(out / f"{name}.ppm", photo)
        rgb = load_rgb(photo, encoder.input_size, method)
        _write_ppm(out / f"{name}.resized.ppm", rgb)
        x = encoder.input_converter(rgb)
        (out / f"{name}.input.f32").write_bytes(np.ascontiguousarray(x, dtype="<f4").tobytes())
        symbols = encoder.output_converter(encoder.run(x))
        (out / f"{name}.symbols.i32").write_bytes(np.ascontiguousarray(symbols, dtype="<i4").tobytes())
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(artifact):
    """A real `fsplit-serve` process on a free loopback port."""
    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "fsplit-serve"),
            "--artifact",
            str(artifact),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"fsplit-serve exited with {proc.returncode}: {proc.stderr.read()[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("fsplit-serve did not become healthy in 120 s")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


@pytest.fixture(scope="module")
def python_client(artifact, server, parity, tmp_path_factory):
    """What the Python client (fsplit_mobile.client.SplitClient) sends and gets for the same photos."""
    from skimage import data

    from fsplit_mobile.client import SplitClient

    answers = []
    with SplitClient(artifact, server) as client:
        for name in PHOTOS:
            photo = np.ascontiguousarray(getattr(data, name)()[..., :3])
            payload, _ = client.encode(photo)
            answer, _ = client.post(payload)
            answers.append(
                {
                    "image": name,
                    "payload_sha256": hashlib.sha256(payload).hexdigest(),
                    "payload_bytes": len(payload),
                    "top5": answer["top5"],
                }
            )
    path = tmp_path_factory.mktemp("android-client") / "python-client.json"
    path.write_text(json.dumps(answers))
    return path, answers


@pytest.fixture(scope="module")
def bench_bundle(artifact, tmp_path_factory):
    """The folder fsplit-bench pushes to a device (artifact/ + inputs/ PPMs at model size), built by its code."""
    from fsplit_mobile.bench.artifact import load_artifact
    from fsplit_mobile.bench.bundle import RunnerSpec, build_bundle
    from fsplit_mobile.bench.inputs import prepare_inputs

    tmp = tmp_path_factory.mktemp("android-bench")
    art = load_artifact(artifact)
    index = prepare_inputs(art.manifest["input"], tmp / "inputs", None, 2)
    bundle = build_bundle(tmp / "bundle", art, tmp / "inputs", RunnerSpec(kind="python", installed_agent=True))
    return bundle, index


@pytest.fixture(scope="module")
def facts(artifact, tmp_path_factory):
    """Manifest facts as the Python runtime reads them, for the Java manifest test."""
    from fsplit_mobile.runtime import Artifact

    art = Artifact.open(artifact)
    m = art.manifest
    inp = m["input"]
    shape = inp["shape"]
    h, w = (shape[2], shape[3]) if inp["layout"] == "NCHW" else (shape[1], shape[2])
    out = {
        "model_id": m["model_id"],
        "target": m["target"],
        "quantization": m["quantization"],
        "encoder": m["files"]["encoder"],
        "tables": m["tables"]["file"],
        "tables_hash": m["tables"]["content_hash"],
        "height": h,
        "width": w,
        "layout": inp["layout"],
        "resize_method": inp["resize"]["method"],
        "normalization_in_graph": inp["normalization_in_graph"],
        "output_kind": m["output"]["kind"],
        "latent": [m["latent"]["channels"], m["latent"]["height"], m["latent"]["width"]],
        "num_classes": m["server"]["num_classes"],
    }
    path = tmp_path_factory.mktemp("android-facts") / "facts.json"
    path.write_text(json.dumps(out))
    return path


@pytest.mark.slow
def test_junit_against_real_artifact_python_and_server(
    classes, artifact, parity, server, python_client, bench_bundle, facts, tmp_path
):
    """Java and Python agree on a real export: manifest, preprocessing, symbols, container bytes, the real server's
    top-5; benchmark mode writes an event stream fsplit-bench reads, with the same hashes as Python."""
    client_json, answers = python_client
    bundle, index = bench_bundle
    events = tmp_path / "device-events.jsonl"
    props = {
        "fsplit.vectors": VECTORS,
        "fsplit.artifact": artifact,
        "fsplit.facts": facts,
        "fsplit.python": sys.executable,
        "fsplit.encoderHelper": ENCODER_HELPER,
        "fsplit.parity": parity,
        "fsplit.serverUrl": server,
        "fsplit.pythonClient": client_json,
        "fsplit.benchBundle": bundle,
        "fsplit.benchEvents": events,
    }
    results = run_junit(classes, tmp_path / "reports", props, ["--include-tag", FIXTURE_TAG])
    assert set(results) == {
        "RealArtifactTest.manifestOfARealExportReadsAsPythonReadsIt",
        "RealArtifactTest.itsTablesLoadInTheJavaCoder",
        "PythonParityTest.resizeAndTensorEqualPython",
        "PythonParityTest.encoderOnTheJavaTensorGivesPythonsSymbols",
        "LoopbackServeTest.sameAnswerAsThePythonClient",
        "LoopbackServeTest.serverRefusesAStreamCodedForOtherTables",
        "BenchmarkModeTest.writesTheEventStreamFsplitBenchReads",
    }, results
    assert len({a["payload_sha256"] for a in answers}) == len(PHOTOS)  # different photos, different streams

    _check_bench_events(events, bundle, index)


def _check_bench_events(events: Path, bundle: Path, index):
    """The app's events parse with fsplit-bench's parser and result builder; hashes equal the Python agent's."""
    from fsplit_mobile.bench.device.events import parse_event_line
    from fsplit_mobile.bench.device.ppm import read_ppm
    from fsplit_mobile.bench.result import build_result, read_events_file
    from fsplit_mobile.codec import CodecTables
    from fsplit_mobile.codec.container import encode_latent
    from fsplit_mobile.runtime.artifact import payload_of
    from fsplit_mobile.runtime.encoders import open_backend
    from fsplit_mobile.runtime.preprocess import InputConverter, OutputConverter

    lines = events.read_text().splitlines()
    parsed = [parse_event_line(line) for line in lines]
    assert all(p is not None for p in parsed), lines
    kinds = [e["event"] for e in parsed]
    assert kinds[:3] == ["hello", "load", "warmup"] and kinds[-1] == "end", kinds
    assert kinds.count("sample") == 3 * len(index) and kinds.count("image") == len(index)
    assert (events.parent / (events.name + ".exit")).read_text().strip() == "0"
    hello = parsed[0]
    assert hello["runner"] == "android-app" and hello["schema"] == "fsplit-bench-events/1"

    result = build_result(read_events_file(events), {"artifact": {}, "device": {}, "config": {}}, "complete")
    assert result["runner"]["runner"] == "android-app"

    manifest = json.loads((bundle / "artifact" / "manifest.json").read_text())
    backend = open_backend(manifest["target"], bundle / "artifact" / manifest["files"]["encoder"])
    to_input, to_symbols = InputConverter(manifest["input"]), OutputConverter(manifest["output"], manifest["latent"])
    tables = CodecTables.read(bundle / "artifact" / manifest["tables"]["file"])
    images = {e["image"]: e for e in parsed if e["event"] == "image"}
    for item in index:
        rgb = read_ppm(bundle / "inputs" / item["file"])
        symbols = to_symbols(backend.run(to_input(rgb)))
        fmt, lanes = payload_of(manifest)  # the app writes the payload the manifest names, as every writer does
        stream = encode_latent(tables, symbols, payload_format=fmt, lanes=lanes)
        got = images[item["name"]]
        assert got["symbols_sha256"] == hashlib.sha256(symbols.astype("<i4").tobytes()).hexdigest(), item["name"]
        assert got["stream_sha256"] == hashlib.sha256(stream).hexdigest(), item["name"]
        assert got["bytes"] == len(stream) and got["deterministic"] is True


# ---- the artifact import script -----------------------------------------------------------------------------
def _import(args):
    return subprocess.run(
        [sys.executable, str(DEMO / "scripts" / "import_artifact.py"), *map(str, args)], capture_output=True, text=True
    )


@pytest.mark.slow
def test_import_artifact_copies_what_the_phone_needs(artifact, tmp_path):
    assets = tmp_path / "assets"
    (assets / "artifact").mkdir(parents=True)
    (assets / "artifact" / "stale.pte").write_bytes(b"old")
    res = _import([artifact, "--assets", assets])
    assert res.returncode == 0, res.stderr
    copied = sorted(p.name for p in (assets / "artifact").iterdir())
    manifest = json.loads((artifact / "manifest.json").read_text())
    expected = {"manifest.json", manifest["files"]["encoder"], manifest["tables"]["file"]}
    if manifest["files"].get("labels"):
        expected.add(manifest["files"]["labels"])
    assert set(copied) == expected  # no server.onnx, no stale files
    for name in copied:
        assert (assets / "artifact" / name).read_bytes() == (artifact / name).read_bytes()


def test_import_artifact_refuses_what_the_app_cannot_run(tmp_path):
    def artifact(target="executorch", sha=None, files=None):
        d = tmp_path / f"a{len(list(tmp_path.iterdir()))}"
        d.mkdir()
        (d / "encoder.pte").write_bytes(b"pte")
        (d / "tables.fsct").write_bytes(b"tables")
        m = {
            "schema": "fsplit-artifact/1",
            "target": target,
            "files": files or {"encoder": "encoder.pte", "tables": "tables.fsct"},
            "tables": {"file": "tables.fsct"},
            "sha256": sha or {"encoder.pte": hashlib.sha256(b"pte").hexdigest()},
        }
        (d / "manifest.json").write_text(json.dumps(m))
        return d

    ok = artifact()
    assert _import([ok, "--assets", tmp_path / "assets-ok"]).returncode == 0
    cases = [
        (artifact(target="onnx"), "targets 'onnx'"),
        (artifact(sha={"encoder.pte": "0" * 64}), "sha256"),
        (artifact(files={"encoder": "../encoder.pte", "tables": "tables.fsct"}), "plain file name"),
        (artifact(files={"encoder": "missing.pte", "tables": "tables.fsct"}), "missing"),
        (tmp_path / "nothing-here", "manifest.json not found"),
    ]
    for folder, message in cases:
        res = _import([folder, "--assets", tmp_path / "assets-bad"])
        assert res.returncode == 2 and message in res.stderr, (folder, res.stderr)
    assert not (tmp_path / "assets-bad" / "artifact").exists()
