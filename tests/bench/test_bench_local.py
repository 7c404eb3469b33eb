"""fsplit-bench on the local device: the Python device agent (ExecuTorch, ONNX Runtime) and the native runner
on a tiny artifact built here, checked against PyTorch eager and against each other; CLI; interruption."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bench_support import build_native_runner, copy_artifact, reference_symbols, tiny_artifacts
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.device.ppm import read_ppm
from fsplit_mobile.bench.errors import ArtifactError, InputImageError
from fsplit_mobile.bench.result import load_result
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import LocalTransport
from fsplit_mobile.codec import CodecTables, decode_latent


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    return tiny_artifacts(tmp_path_factory)


@pytest.fixture(scope="session")
def native_runner():
    return build_native_runner()


def _config(**kw):
    base = dict(runs=3, warmup=1, image_limit=2, save_streams=True)
    base.update(kw)
    return BenchConfig(**base)


def _check_complete(result, runs=3, images=2):
    assert result["status"] == "complete" and result["error"] is None
    stages = result["stages"]
    assert stages["total_ms"]["n"] == runs * images
    for key in ("preprocess_ms", "encoder_ms", "entropy_ms"):
        assert 0 < stages[key]["min"] <= stages[key]["p50"] <= stages[key]["p99"] <= stages[key]["max"]
    assert stages["total_ms"]["p50"] >= stages["encoder_ms"]["p50"]
    assert len(result["images"]) == images and all(i["deterministic"] for i in result["images"])
    assert result["peak_rss_kb"] > 0 and result["load"]["model_load_ms"] > 0


@pytest.mark.slow
def test_local_python_agent_executorch_onnx_litert_match_pytorch_eager(tiny, tmp_path):
    by_target = {}
    for target in ("executorch", "onnx", "tflite"):
        result = run_benchmark(tiny[target], LocalTransport(), _config(), out_dir=tmp_path / target, progress=False)
        _check_complete(result)
        runtime = {"executorch": "executorch", "onnx": "onnxruntime", "tflite": "litert"}[target]
        assert result["runner"]["runtime"]["name"] == runtime
        by_target[target] = {i["image"]: i["stream_sha256"] for i in result["images"]}
        assert (tmp_path / target / "report.md").is_file() and (tmp_path / target / "stages.png").is_file()
    # Three runtimes (NCHW and NHWC inputs), same symbols, same bytes.
    assert by_target["executorch"] == by_target["onnx"] == by_target["tflite"]

    # The coded streams decode to the symbols PyTorch eager computes on the same input tensor.
    tables = CodecTables.read(tiny["executorch"] / "tables.fsct")
    inputs = _prepared_inputs(tiny["executorch"], tmp_path / "inputs")
    for name in by_target["executorch"]:
        decoded = decode_latent(tables, (tmp_path / "executorch" / "streams" / f"{name}.fscl").read_bytes())
        expected = reference_symbols(tiny["executorch"], inputs[name])
        assert decoded.shape == expected.shape
        assert np.mean(decoded == expected) > 0.99 and np.abs(decoded - expected).max() <= 1


def _prepared_inputs(artifact, folder):
    from fsplit_mobile.bench.inputs import prepare_inputs

    manifest = json.loads((artifact / "manifest.json").read_text())
    index = prepare_inputs(manifest["input"], folder, limit=2)
    return {i["name"]: read_ppm(folder / i["file"]) for i in index}


@pytest.mark.slow
def test_local_native_runner_matches_python_agent_bit_for_bit(tiny, tmp_path, native_runner):
    py = run_benchmark(tiny["executorch"], LocalTransport(), _config(), out_dir=tmp_path / "py", progress=False)
    nat = run_benchmark(
        tiny["executorch"],
        LocalTransport(),
        _config(runner=RunnerSpec(kind="native", native_binary=str(native_runner))),
        out_dir=tmp_path / "native",
        progress=False,
    )
    _check_complete(nat)
    assert nat["runner"]["runner"] == "native"
    assert [(i["symbols_sha256"], i["stream_sha256"], i["bytes"]) for i in nat["images"]] == [
        (i["symbols_sha256"], i["stream_sha256"], i["bytes"]) for i in py["images"]
    ]
    for name in (i["image"] for i in py["images"]):
        assert (tmp_path / "py" / "streams" / f"{name}.fscl").read_bytes() == (
            tmp_path / "native" / "streams" / f"{name}.fscl"
        ).read_bytes()


@pytest.mark.slow
def test_manifest_payload_interleaved2_python_agent_and_native_runner_write_it(tiny, tmp_path, native_runner):
    """An artifact whose manifest names payload v2 (docs/artifact.md "payload"): the Python device agent and the
    native runner both write v2 containers, byte for byte the same, decoding to the single-stream run's symbols."""
    from fsplit_mobile.codec import container

    art = copy_artifact(tiny["executorch"], tmp_path / "executorch-none")
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["payload"] = {"format": "interleaved2", "lanes": 8, "choice": "interleaved2"}
    (art / "manifest.json").write_text(json.dumps(manifest))
    config = _config(runs=1)
    single = run_benchmark(tiny["executorch"], LocalTransport(), config, out_dir=tmp_path / "single", progress=False)
    py = run_benchmark(art, LocalTransport(), config, out_dir=tmp_path / "py", progress=False)
    nat = run_benchmark(
        art,
        LocalTransport(),
        _config(runs=1, runner=RunnerSpec(kind="native", native_binary=str(native_runner))),
        out_dir=tmp_path / "native",
        progress=False,
    )
    tables = CodecTables.read(art / "tables.fsct")
    for item in py["images"]:
        name = item["image"]
        stream = (tmp_path / "py" / "streams" / f"{name}.fscl").read_bytes()
        assert stream == (tmp_path / "native" / "streams" / f"{name}.fscl").read_bytes()
        header = container.read_header(stream)
        assert header.payload_format is container.PayloadFormat.INTERLEAVED2 and header.lanes == 8
        plain = (tmp_path / "single" / "streams" / f"{name}.fscl").read_bytes()
        assert container.read_header(plain).payload_format is container.PayloadFormat.SINGLE
        np.testing.assert_array_equal(decode_latent(tables, stream), decode_latent(tables, plain))
    assert [i["symbols_sha256"] for i in nat["images"]] == [i["symbols_sha256"] for i in single["images"]]


def test_native_runner_refuses_non_executorch(tiny, tmp_path):
    with pytest.raises(ArtifactError, match="native runner runs ExecuTorch artifacts only"):
        run_benchmark(
            tiny["onnx"], LocalTransport(), _config(runner=RunnerSpec(kind="native")), out_dir=tmp_path, progress=False
        )


def test_coreml_artifact_is_refused_with_reason(tiny, tmp_path):
    from fsplit_mobile.runtime.artifact import sha256_path

    art = copy_artifact(tiny["onnx"], tmp_path / "coreml-none")
    manifest = json.loads((art / "manifest.json").read_text())
    (art / "encoder.mlpackage").mkdir()
    (art / "encoder.mlpackage" / "Manifest.json").write_text("{}")
    manifest.update(target="coreml", files={"encoder": "encoder.mlpackage", "tables": "tables.fsct"})
    manifest["sha256"]["encoder.mlpackage"] = sha256_path(art / "encoder.mlpackage")
    (art / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="Core ML needs an Apple device"):
        run_benchmark(art, LocalTransport(), _config(), out_dir=tmp_path / "out", progress=False)


def test_unfinished_or_tampered_artifact_is_refused(tiny, tmp_path):
    with pytest.raises(ArtifactError, match="unfinished export"):
        run_benchmark(tmp_path / "x.partial", LocalTransport(), _config(), progress=False)
    art = copy_artifact(tiny["onnx"], tmp_path / "tampered")
    (art / "tables.fsct").write_bytes((art / "tables.fsct").read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match="differs from manifest"):
        run_benchmark(art, LocalTransport(), _config(), progress=False)


def test_images_folder_errors(tiny, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputImageError, match="no images"):
        run_benchmark(tiny["onnx"], LocalTransport(), _config(images_dir=str(tmp_path / "empty")), progress=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputImageError, match="broken.png"):
        run_benchmark(tiny["onnx"], LocalTransport(), _config(images_dir=str(tmp_path / "bad")), progress=False)


def test_interrupted_run_keeps_measured_samples_and_cleans_device(tiny, tmp_path):
    stage_root = tmp_path / "device"
    stage_root.mkdir()
    seen = []

    def interrupt_after_two(event):
        if event["event"] == "sample":
            seen.append(event)
            if len(seen) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_benchmark(
            tiny["onnx"],
            LocalTransport(stage_root=str(stage_root)),
            _config(runs=50),
            out_dir=tmp_path / "out",
            progress=False,
            on_event=interrupt_after_two,
        )
    result = load_result(tmp_path / "out")
    assert result["status"] == "partial" and result["error"]["type"] == "KeyboardInterrupt"
    assert len(result["samples"]) == 2 and result["stages"]["encoder_ms"]["n"] == 2
    assert len((tmp_path / "out" / "events.jsonl").read_text().splitlines()) >= 4
    assert list(stage_root.iterdir()) == []  # the staged bundle was removed


def test_cli_without_run_subcommand_and_images_folder(tiny, tmp_path):
    from PIL import Image

    from fsplit_mobile.bench.cli import main

    images = tmp_path / "imgs"
    images.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8)).save(images / f"img{i}.png")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        [
            "--artifact",
            str(tiny["onnx"]),
            "--device",
            "local",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--images",
            str(images),
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "encoder p50" in res.output
    result = load_result(out)
    assert result["config"]["images"] == ["img0", "img1"] and result["stages"]["total_ms"]["n"] == 4
