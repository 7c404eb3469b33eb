"""Rate-point sets (models/checkpoint/point_set.py): several single-rate checkpoints of one model in one file, read
as every rate point (load_rate_points, the comparison's names) or as its default point (load_checkpoint), and
exported as the rate points of one artifact. Malformed sets are refused, naming the problem."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from fsplit_mobile.export.rate_points import export_rate_points
from fsplit_mobile.models.bundled import load_rate_points
from fsplit_mobile.models.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_atomically
from fsplit_mobile.models.checkpoint.point_set import POINT_SET_FORMAT, combine_points, single_checkpoint
from fsplit_mobile.runtime import Artifact
from repo_paths import REPO as ROOT

BUNDLED_SET = ROOT / "fsplit_mobile/data/default/light_lite0.pt"
IMAGES = sorted((ROOT / "fsplit_mobile/data/images/heldout").glob("*.jpg"))[:2]


def _coarser(path: Path, out: Path, factor: float) -> Path:
    """The same transform with a quantisation step `factor` times larger (what `train light --rescale` starts
    from): the encoder's last layer and the entropy model's quantiles (so its medians) divided, the decoder's first
    layer multiplied; the CDF tables are kept."""
    ckpt = read_checkpoint(path)
    state = dict(ckpt["state_dict"])
    last = max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layers."))
    for suffix in ("weight", "bias"):
        state[f"encoder.layers.{last}.{suffix}"] = state[f"encoder.layers.{last}.{suffix}"] / factor
    state["decoder.stem.0.weight"] = state["decoder.stem.0.weight"] * factor
    state["entropy_bottleneck.quantiles"] = state["entropy_bottleneck.quantiles"] / factor
    return save_atomically({**ckpt, "state_dict": state}, out)


@pytest.fixture(scope="module")
def light(tmp_path_factory):
    """The bundled light model's default point as an ordinary single-rate checkpoint."""
    return single_checkpoint(BUNDLED_SET, "r0", tmp_path_factory.mktemp("light") / "single.pt")


@pytest.fixture(scope="module")
def point_set(tmp_path_factory, light):
    tmp = tmp_path_factory.mktemp("point_set")
    coarse = _coarser(light, tmp / "coarse.pt", 4.0)
    return combine_points([light, coarse], tmp / "set.pt", names=["fine", "coarse"], default="fine")


def test_set_reads_as_every_point_and_as_its_default(point_set):
    models = load_rate_points(point_set, with_server=False)
    assert list(models) == ["fine", "coarse"]
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        fine = models["fine"].device.entropy_bottleneck.symbols(models["fine"].device.encoder(x))
        coarse = models["coarse"].device.entropy_bottleneck.symbols(models["coarse"].device.encoder(x))
    assert coarse.abs().sum() < fine.abs().sum()  # a 4x larger step: symbols nearer the median
    single = load_checkpoint(point_set)
    assert single.meta["rate_point"] == "fine"
    assert torch.equal(single.device.encoder(x), models["fine"].device.encoder(x))


def test_comparison_names_each_point(point_set, light):
    from fsplit_mobile.evaluation.compare import _load_split_models

    assert list(_load_split_models(str(point_set))) == ["set:fine", "set:coarse"]
    assert list(_load_split_models(str(light))) == ["single"]
    assert list(_load_split_models(str(BUNDLED_SET))) == ["light_lite0:r0", "light_lite0:r1", "light_lite0:r2"]


def test_malformed_sets_are_refused_naming_the_problem(tmp_path, light):
    with pytest.raises(CheckpointError, match="'fine' appears twice"):
        combine_points([light, light], tmp_path / "dup.pt", names=["fine", "fine"])
    with pytest.raises(CheckpointError, match="default rate point 'r9'"):
        combine_points([light], tmp_path / "d.pt", default="r9")
    other = read_checkpoint(light)
    other = {**other, "config": {**other["config"], "input_size": [256, 256]}}
    save_atomically(other, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="input_size"):
        combine_points([light, tmp_path / "other.pt"], tmp_path / "mixed.pt")
    with pytest.raises(CheckpointError, match="bottleneck-unit checkpoint"):
        combine_points([ROOT / "fsplit_mobile/data/default/bottleneck_units_lite0_b16.pt"], tmp_path / "u.pt")
    save_atomically({"format": POINT_SET_FORMAT, "points": []}, tmp_path / "empty.pt")
    with pytest.raises(CheckpointError, match="non-empty list"):
        load_rate_points(tmp_path / "empty.pt")
    save_atomically({"format": POINT_SET_FORMAT, "points": [{"name": "a", "checkpoint": {}}]}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="'a' does not hold"):
        load_checkpoint(tmp_path / "bad.pt")


@pytest.mark.slow
def test_set_exports_as_the_rate_points_of_one_artifact(point_set, tmp_path):
    images = tmp_path / "eval"
    images.mkdir()
    for p in IMAGES:
        shutil.copyfile(p, images / p.name)
    text = (ROOT / "fsplit_mobile/recipes/light_lite0.toml").read_text()
    text = text.replace('images = "@package/data/images/heldout"', f'images = "{images}"')
    text = "\n".join(line for line in text.splitlines() if not line.startswith("rate_points ="))  # every point
    text = text.replace("views = 2 ", "views = 1 ").replace('teacher = "efficientnet-lite0"', 'teacher = "none"')
    (tmp_path / "recipe.toml").write_text(text)
    summary = export_rate_points(
        "onnx", "none", checkpoint=point_set, recipe=tmp_path / "recipe.toml", out=tmp_path / "art"
    )
    (result,) = summary.results
    manifest = Artifact.open(result.path).manifest
    points = manifest["rate_points"]
    assert [p["name"] for p in points] == ["fine", "coarse"]
    assert points[1]["files"]["encoder"].startswith("rp1-")
    assert points[1]["measured"]["bytes_mean"] < points[0]["measured"]["bytes_mean"]
    assert json.loads((Path(result.path) / "report.json").read_text())["metrics"]["bpp_artifact"] > 0
    with pytest.raises(Exception, match="'r9'"):
        export_rate_points("onnx", "none", checkpoint=point_set, units=["r9"], out=tmp_path / "x")


def test_training_cli_combines_light_checkpoints_into_a_set(tmp_path, light):
    from click.testing import CliRunner

    from fsplit_mobile.training.train import main

    coarse = _coarser(light, tmp_path / "coarse.pt", 2.0)
    out = tmp_path / "set.pt"
    res = CliRunner().invoke(
        main, ["combine", "--out", str(out), "--name", "a", "--name", "b", str(light), str(coarse)]
    )
    assert res.exit_code == 0, res.output
    assert "2 rate points" in res.output
    assert list(load_rate_points(out, with_server=False)) == ["a", "b"]
    res = CliRunner().invoke(main, ["combine", "--out", str(tmp_path / "x.pt"), "--name", "a", str(light), str(coarse)])
    assert res.exit_code != 0 and "2 checkpoints but 1 names" in res.output
