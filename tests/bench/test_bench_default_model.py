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


def _with_second_rate_point(folder, dest, index: int = 3, name: str = "x"):
    """A copy of a single-point artifact with a second rate point (docs/artifact.md "rate_points") that names
    copies of the same encoder and tables: what a runner at that point must write differs only in the header."""
    import shutil

    from fsplit_mobile.runtime.artifact import sha256_path

    shutil.copytree(folder, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    entry = {k: manifest[k] for k in ("files", "tables", "latent", "output", "server") if k in manifest}
    entry = json.loads(json.dumps(entry))
    for role in ("encoder", "tables"):
        copy = f"rp{index}-{manifest['files'][role]}"
        shutil.copyfile(dest / manifest["files"][role], dest / copy)
        entry["files"][role] = copy
        manifest["sha256"][copy] = sha256_path(dest / copy)
    entry["tables"]["file"] = entry["files"]["tables"]
    top = {k: manifest[k] for k in ("files", "tables", "latent", "output", "server") if k in manifest}
    manifest["rate_points"] = [{"index": 0, "name": "top", **top}, {"index": index, "name": name, **entry}]
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return dest


@pytest.mark.slow
def test_default_model_at_another_rate_point_python_agent_and_native_runner(default_executorch_int8, tmp_path):
    """--rate-point: both runners get that point's files only (the bundle's manifest is the point's view), write
    the same bytes, and the header names the point, so a server decodes each stream with that point's tables."""
    from fsplit_mobile.codec import decode_latent
    from fsplit_mobile.codec.container import read_header
    from fsplit_mobile.runtime import Artifact, rate_points

    folder = _with_second_rate_point(default_executorch_int8, tmp_path / "two-points")
    config = dict(runs=1, warmup=0, image_limit=2, save_streams=True)
    native_spec = RunnerSpec(kind="native", native_binary=str(build_native_runner()))
    results = {
        (kind, point): run_benchmark(
            folder,
            LocalTransport(),
            BenchConfig(**config, **extra, rate_point=point),
            tmp_path / f"{kind}{point}",
            False,
        )
        for kind, extra in (("py", {}), ("native", {"runner": native_spec}))
        for point in (None, "x")
    }
    view = rate_points.view(Artifact.open(folder), 3)
    for (kind, point), result in results.items():
        assert result["artifact"]["rate_point"] == (None if point is None else {"index": 3, "name": "x"})
        assert result["artifact"]["encoder"] == ("rp3-" if point else "") + "encoder.pte"
        for image in result["images"]:
            stream = (tmp_path / f"{kind}{point}" / "streams" / f"{image['image']}.fscl").read_bytes()
            assert read_header(stream).rate_point == (3 if point else 0)
            assert decode_latent(view.tables(), stream).shape == view.latent_shape
    for point in (None, "x"):  # both runners, the same bytes at each point
        assert [i["stream_sha256"] for i in results["py", point]["images"]] == [
            i["stream_sha256"] for i in results["native", point]["images"]
        ]
    # the same symbols at both points (the same encoder), different streams (the header names the point)
    for a, b in zip(results["py", None]["images"], results["py", "x"]["images"]):
        assert a["symbols_sha256"] == b["symbols_sha256"] and a["stream_sha256"] != b["stream_sha256"]
