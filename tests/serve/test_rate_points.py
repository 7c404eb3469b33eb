"""Variable bit-rate end to end: a two-unit bottleneck-unit checkpoint (small, random-init units) exported as one
ONNX artifact with two rate points, served by a real `fsplit-serve` process, driven by the Python client.
Each rate point decodes with its own tables and server part (symbols and top-5 equal to the eager unit), a
stream naming a rate point the artifact lacks gets 409 unknown_rate_point, and a checkpoint lacking a unit the
recipe names is refused, naming the unit."""

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch

from fsplit_mobile.client import ServerRejected, SplitClient
from fsplit_mobile.codec.container import encode_latent, read_header
from fsplit_mobile.export.errors import RecipeError
from fsplit_mobile.export.rate_points import export_rate_points
from fsplit_mobile.models import bottleneck_unit as bu
from fsplit_mobile.models.checkpoint import units as unit_io
from fsplit_mobile.runtime import Artifact, rate_points
from fsplit_mobile.runtime.artifact import ArtifactError
from fsplit_mobile.runtime.preprocess import load_rgb
from repo_paths import PACKAGE
from serve_support import build_tiny_artifact, free_port
from test_serve_cli import SERVE, wait_healthy

pytestmark = pytest.mark.slow
pytest.importorskip("efficientnet_lite_pytorch")

IMAGES = sorted((PACKAGE / "data/images/heldout").glob("*.jpg"))[:2]
UNITS = [{"name": "hi", "latent_channels": 8, "width": 16}, {"name": "lo", "latent_channels": 4, "width": 16}]


def _checkpoint(path, units=UNITS):
    torch.manual_seed(0)
    cfg = bu.model_config(16, units)
    built = [bu.build_unit(16, u) for u in cfg["units"]]
    for unit in built:
        unit.entropy_bottleneck.update(force=True)
    return unit_io.save_units(path, cfg, built)


def _recipe(folder, names):
    """The bundled bottleneck-unit recipe's settings on 2 evaluation photos (fast), naming the rate points."""
    images = folder / "eval"
    images.mkdir()
    for p in IMAGES:
        shutil.copyfile(p, images / p.name)
    text = (Path(bu.__file__).resolve().parent.parent / "recipes/bottleneck_unit_lite0.toml").read_text()
    text = text.replace("split_point =", f"rate_points = {json.dumps(names)}\nsplit_point =")
    text = text.replace('images = "@package/data/images/heldout"', f'images = "{images}"')
    text = text.replace("views = 2 ", "views = 1 ").replace('teacher = "efficientnet-lite0"', 'teacher = "none"')
    path = folder / "recipe.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rate_points")
    ckpt = _checkpoint(tmp / "units.pt")
    summary = export_rate_points("onnx", "none", checkpoint=ckpt, recipe=_recipe(tmp, ["hi", "lo"]), out=tmp / "art")
    (result,) = summary.results
    return result.path, unit_io.load_units(ckpt)


@pytest.fixture(scope="module")
def server(exported):
    art, _ = exported
    port = free_port()
    proc = subprocess.Popen(
        SERVE + ["--artifact", str(art), "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def _eager(split, rgb):
    x = torch.from_numpy(rgb.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
    x = (x - torch.tensor(split.mean).reshape(1, 3, 1, 1)) / torch.tensor(split.std).reshape(1, 3, 1, 1)
    with torch.no_grad():
        symbols = split.device.symbols(x)
        return symbols[0].numpy(), split.server(symbols)[0].numpy()


def test_manifest_lists_both_rate_points(exported):
    art, _ = exported
    artifact = Artifact.open(art)
    points = rate_points.rate_points(artifact)
    assert [(p.index, p.name, p.latent_shape) for p in points] == [(0, "hi", (8, 7, 7)), (1, "lo", (4, 7, 7))]
    assert points[0].table_hash == artifact.manifest["tables"]["content_hash"] != points[1].table_hash
    assert all(p.expected_bytes > 0 and p.bpp > 0 for p in points)
    files = artifact.manifest["rate_points"][1]["files"]
    assert files["encoder"] == "rp1-encoder.onnx" and files["server"] == "rp1-server.onnx"
    assert (art / "rp1-report.json").is_file()


def test_each_rate_point_decodes_with_its_tables_and_decoder(exported, server):
    art, splits = exported
    with SplitClient(art, server) as client:
        for index, name in enumerate(("hi", "lo")):
            for path in IMAGES[index : index + 1]:  # one photo per rate point keeps the test short
                rgb = load_rgb(path, (224, 224))
                payload, _ = client.encode(rgb, index)
                assert read_header(payload).rate_point == index
                symbols, logits = _eager(splits[name], rgb)
                np.testing.assert_array_equal(_decode(art, index, payload), symbols)
                result = client.infer(rgb, rate_point=index)
                assert result.rate_point == index == result.response["rate_point"]
                assert result.latent_shape == list(symbols.shape)
                assert result.response["table_hash"] == rate_points.rate_points(client.artifact)[index].table_hash
                assert result.top5[0]["index"] == int(np.argmax(logits))
        model = httpx.get(server + "/v1/model").json()
        assert [p["index"] for p in model["rate_points"]] == [0, 1]


def _decode(art, index, payload):
    from fsplit_mobile.codec.container import decode_latent

    return decode_latent(rate_points.view(Artifact.open(art), index).tables(), payload)


def test_unknown_rate_point_is_409(exported, server):
    art, _ = exported
    with SplitClient(art, server) as client:
        tables = client.tables
        symbols = np.zeros((8, 7, 7), dtype=np.int32)
        with pytest.raises(ServerRejected) as info:
            client.post(encode_latent(tables, symbols, rate_point=7))
        assert info.value.status == 409 and info.value.code == "unknown_rate_point"
        assert "rate point 7" in info.value.detail
        with pytest.raises(ServerRejected) as info:  # rate point 1 named, rate point 0's tables used
            client.post(encode_latent(tables, symbols, rate_point=1))
        assert info.value.status == 409 and info.value.code == "table_mismatch"


def test_auto_picks_by_bandwidth(exported, server):
    art, _ = exported
    points = rate_points.rate_points(Artifact.open(art))
    big, small = sorted(points, key=lambda p: -p.expected_bytes)
    with SplitClient(art, server, rate_point="auto", latency_budget_ms=10.0, bandwidth_bps=1.0) as client:
        assert client.select() == small.index  # nothing fits 1 bit/s: the smallest
        client.bandwidth.bps = big.expected_bytes * 8 / 0.010  # exactly fits 10 ms
        assert client.infer(IMAGES[0]).rate_point == big.index


def test_checkpoint_lacking_a_named_unit_is_refused(tmp_path):
    ckpt = _checkpoint(tmp_path / "one.pt", UNITS[:1])
    with pytest.raises(RecipeError, match="'lo'"):
        export_rate_points("onnx", "none", checkpoint=ckpt, units=["hi", "lo"], out=tmp_path / "art")


def test_bare_rate_point_export_uses_the_bundled_default(tmp_path):
    """No recipe, no checkpoint: the bundled default's recipe and checkpoint (rate points r0..r2), so a point it
    lacks is refused naming the point and what the checkpoint has."""
    with pytest.raises(RecipeError, match="'r9'.*r0.*r2"):
        export_rate_points("onnx", "none", units=["r2", "r9"], out=tmp_path / "art")


def test_tampered_or_inconsistent_rate_points_are_refused(exported, tmp_path):
    art, _ = exported
    copy = shutil.copytree(art, tmp_path / "a")
    (copy / "rp1-tables.fsct").write_bytes((copy / "rp1-tables.fsct").read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match="rp1-tables.fsct"):
        Artifact.open(copy)
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["rate_points"][0]["index"] = 3
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="no index 0"):
        Artifact.open(copy, check_hashes=False)


def test_artifact_without_rate_points_is_rate_point_0(tmp_path):
    artifact = Artifact.open(build_tiny_artifact(tmp_path / "tiny"))
    (point,) = rate_points.rate_points(artifact)
    assert point.index == 0 and point.table_hash == artifact.manifest["tables"]["content_hash"]
    assert rate_points.view(artifact, 0).file("encoder") == artifact.file("encoder")
    with pytest.raises(ArtifactError, match="no rate point 1"):
        rate_points.view(artifact, 1)


def test_cli_refuses_a_rate_point_the_checkpoint_lacks(tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.export.cli import main

    ckpt = _checkpoint(tmp_path / "one.pt", UNITS[:1])
    res = CliRunner().invoke(
        main,
        ["--target", "onnx", "--checkpoint", str(ckpt), "--rate-points", "hi,lo", "--out", str(tmp_path / "art"), "-q"],
    )
    assert res.exit_code != 0
    assert "no unit 'lo'" in res.output and "'hi'" in res.output
    assert not (tmp_path / "art").exists()


def test_e2e_split_run_at_each_rate_point(exported):
    from fsplit_mobile.e2e.workload import parse_split, run_split

    art, splits = exported
    assert parse_split(f"{art}@1") == (art, 1) and parse_split(art) == (art, 0)
    rgb = load_rgb(IMAGES[0], (224, 224))
    for index, name in enumerate(("hi", "lo")):
        folder, point = parse_split(f"{art}@{index}")
        run = run_split(name, folder, [rgb], rate_point=point)
        assert read_header(run.payloads[0]).rate_point == index and run.meta["rate_point"] == index
        assert run.top1 == [int(np.argmax(_eager(splits[name], rgb)[1]))]


def test_bench_run_at_a_rate_point(exported, tmp_path):
    """fsplit-bench run --rate-point: the device agent gets that point's encoder and tables (and only those), its
    streams name the point and decode to the eager unit's symbols, result.json records it; a point the artifact
    lacks is refused naming the ones it has."""
    from click.testing import CliRunner

    from fsplit_mobile.bench.cli import main as bench
    from fsplit_mobile.codec.container import decode_latent

    art, splits = exported
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copyfile(IMAGES[0], photos / IMAGES[0].name)
    args = ["run", "--artifact", str(art), "--runs", "1", "--warmup", "0", "--images", str(photos), "--no-progress"]
    args += ["--save-streams"]
    res = CliRunner().invoke(bench, args + ["--rate-point", "lo", "--out", str(tmp_path / "lo")])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "lo/result.json").read_text())
    assert result["artifact"]["rate_point"] == {"index": 1, "name": "lo"}
    assert result["artifact"]["encoder"].startswith("rp1-")
    (stream,) = sorted((tmp_path / "lo/streams").iterdir())
    data = stream.read_bytes()
    assert read_header(data).rate_point == 1 and result["bytes"]["mean"] == len(data)
    lo = rate_points.view(Artifact.open(art), 1)
    symbols = decode_latent(lo.tables(), data)
    rgb = load_rgb(IMAGES[0], (224, 224))
    np.testing.assert_array_equal(symbols.reshape(-1), _eager(splits["lo"], rgb)[0].reshape(-1))
    # by index; point 0 by default (its header names 0)
    res = CliRunner().invoke(bench, args + ["--rate-point", "0", "--out", str(tmp_path / "hi")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "hi/result.json").read_text())["artifact"]["rate_point"]["name"] == "hi"
    assert read_header(next((tmp_path / "hi/streams").iterdir()).read_bytes()).rate_point == 0
    res = CliRunner().invoke(bench, args + ["--rate-point", "7", "--out", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no rate point '7' (has 0 (hi), 1 (lo))" in res.output


@pytest.mark.parametrize("bad", [[], ["a", "a"], ["a", ""], "a", [1]])
def test_recipe_rate_points_must_be_distinct_unit_names(bad):
    from fsplit_mobile.export.recipe import parse_recipe

    assert parse_recipe(
        {"schema": "fsplit-recipe/1", "model": {"id": "m", "rate_points": ["hi", "lo"]}}
    ).rate_points == [
        "hi",
        "lo",
    ]
    with pytest.raises(RecipeError, match="model.rate_points"):
        parse_recipe({"schema": "fsplit-recipe/1", "model": {"id": "m", "rate_points": bad}})
