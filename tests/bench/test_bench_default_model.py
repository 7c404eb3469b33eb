"""fsplit-bench on the real default model: the bundled default (its default rate point) exported by the real exporter
(fsplit_mobile.export) to ExecuTorch int8, benchmarked locally with the Python device agent and the native
runner. Both must produce the same int32 symbols and bytes, and the streams must decode with the artifact's
tables to the shape the manifest declares."""

import json

import pytest

from bench_support import build_native_runner
from fsplit_mobile.bench.bundle import RunnerSpec
from fsplit_mobile.bench.runner import BenchConfig, run_benchmark
from fsplit_mobile.bench.transports import LocalTransport
from fsplit_mobile.export.recipe import DEFAULT_RECIPE, load_recipe


@pytest.fixture(scope="module")
def default_executorch_int8(tmp_path_factory):
    from fsplit_mobile import export

    out = tmp_path_factory.mktemp("default-artifacts")
    export("executorch", "int8", out=out)
    folder = out / "executorch-int8"
    assert (folder / "manifest.json").is_file(), f"exporter wrote no executorch-int8 artifact under {out}"
    return folder


@pytest.mark.slow
def test_default_model_executorch_int8_python_agent_and_native_runner(default_executorch_int8, tmp_path):
    from fsplit_mobile.codec import CodecTables, decode_latent

    manifest = json.loads((default_executorch_int8 / "manifest.json").read_text())
    assert manifest["model_id"] == load_recipe(DEFAULT_RECIPE).model_id and manifest["quantization"] == "int8"
    config = dict(runs=3, warmup=1, image_limit=2, save_streams=True)
    py = run_benchmark(
        default_executorch_int8, LocalTransport(), BenchConfig(**config), out_dir=tmp_path / "py", progress=False
    )
    native = run_benchmark(
        default_executorch_int8,
        LocalTransport(),
        BenchConfig(runner=RunnerSpec(kind="native", native_binary=str(build_native_runner())), **config),
        out_dir=tmp_path / "native",
        progress=False,
    )
    for result in (py, native):
        assert result["status"] == "complete" and result["stages"]["encoder_ms"]["n"] == 6
        assert all(i["deterministic"] for i in result["images"])
    assert [(i["symbols_sha256"], i["stream_sha256"]) for i in native["images"]] == [
        (i["symbols_sha256"], i["stream_sha256"]) for i in py["images"]
    ]

    tables = CodecTables.read(default_executorch_int8 / manifest["files"]["tables"])
    latent = manifest["latent"]
    for image in py["images"]:
        stream = (tmp_path / "native" / "streams" / f"{image['image']}.fscl").read_bytes()
        assert len(stream) == image["bytes"]
        symbols = decode_latent(tables, stream)
        assert symbols.shape == (latent["channels"], latent["height"], latent["width"])
        assert 0 < image["bpp"] < 8
