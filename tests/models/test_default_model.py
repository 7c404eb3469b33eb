"""The bundled default model: it loads, its latent is 48x28x28, its recorded metrics reproduce, the demo runs."""

import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from fsplit_mobile.models.frankensplit_lite0 import (
    DEFAULT_CHECKPOINT,
    MODEL_ID,
    CheckpointFormatError,
    imagenet_labels,
    load_default_model,
    load_trainable,
    read_checkpoint,
)


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return load_default_model()


def test_bundled_checkpoint_is_small_and_documented():
    assert DEFAULT_CHECKPOINT.is_file()
    assert DEFAULT_CHECKPOINT.stat().st_size < 4 * 1024 * 1024
    payload = read_checkpoint(DEFAULT_CHECKPOINT)
    meta = payload["meta"]
    assert meta["command"].startswith("python -m fsplit_mobile.training.distill")
    for key in ("date", "seed", "steps", "lambda", "metrics"):
        assert key in meta
    assert not any(k.startswith(("tail.", "teacher.")) for k in payload["state_dict"])  # no teacher weights
    assert (DEFAULT_CHECKPOINT.parent / "train_log.txt").is_file()
    readme = (DEFAULT_CHECKPOINT.parent / "README.md").read_text()
    assert meta["command"] in readme


def test_default_model_shapes(model):
    assert model.model_id == MODEL_ID
    assert model.latent_shape() == (48, 28, 28)
    assert sum(p.numel() for p in model.device.encoder.parameters()) == 141_696
    cdf, lengths, offsets = model.device.entropy_bottleneck.tables()
    assert cdf.shape[0] == lengths.shape[0] == offsets.shape[0] == 48
    assert (cdf[np.arange(48), lengths - 1] == 1 << 16).all()
    torch.testing.assert_close(model.server.medians.flatten(), model.device.entropy_bottleneck.medians())
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        symbols = model.device.symbols(x)
        assert symbols.dtype == torch.int32 and symbols.shape == (1, 48, 28, 28)
        assert model.server(symbols).shape == (1, 1000)


def test_labels():
    labels = imagenet_labels()
    assert len(labels) == 1000 and labels[285] == "Egyptian cat" and labels[967] == "espresso"


@pytest.mark.slow
def test_recorded_heldout_metrics_reproduce(model):
    """Re-evaluate the committed checkpoint on one held-out image and compare with the numbers in its meta."""
    from fsplit_mobile.evaluation.evaluate import evaluate_split
    from fsplit_mobile.evaluation.images import bundled_images
    from fsplit_mobile.models.teacher import load_teacher

    metrics = model.meta["metrics"]
    image = next(p for p in bundled_images("eval") if p.stem == "chelsea")
    _, head, tail = load_teacher()
    eb = model.device.entropy_bottleneck
    got = evaluate_split(
        model.device.encoder,
        eb,
        model.server.decoder,
        head,
        tail,
        images=[image],
        crops_per_image=metrics["crops_per_image"],
        seed=model.meta["seed"],
        use_coder=False,
    )
    recorded = metrics["per_image"]["chelsea"]
    crops = recorded["crops"]
    assert got["crops"] == crops
    assert abs(got["top1_agreement"] - recorded["agreement"]) <= 1 / crops + 1e-9
    assert got["bpp_table"] == pytest.approx(recorded["bpp_table"], rel=1e-3)
    # the overall numbers are the crop-weighted means of the per-image ones
    per = metrics["per_image"].values()
    assert metrics["top1_agreement"] == pytest.approx(sum(p["agreement"] * p["crops"] for p in per) / metrics["crops"])


def _run_demo(args=()):
    from fsplit_mobile.demo import main

    result = CliRunner().invoke(main, list(args))
    return result


@pytest.fixture(scope="module")
def bundled():
    from fsplit_mobile.models.bundled import load_rate_points

    return load_rate_points()


@pytest.mark.slow
def test_demo_prints_consistent_numbers(bundled):
    """`fsplit-demo` on the bundled default: the one-image lines for the default rate point, then one held-out row
    per rate point whose numbers are those of the ordinary deployed path (evaluation/compare.py), computed here
    independently for every rate point."""
    result = _run_demo()
    assert result.exit_code == 0, result.output
    out = result.output
    name, model = next(iter(bundled.items()))
    assert f"rate point {name} of {', '.join(bundled)}" in out
    latent = "x".join(str(d) for d in model.latent_shape())
    assert re.search(rf"latent\s+{latent} int32 symbols", out)
    # SC2's first criterion: the device compute, counted from the exported encoder graph
    from fsplit_mobile.models.macs import device_share

    share = device_share(model.device.encoder, model.input_size)
    device = re.search(r"device\s+([0-9.]+) M MACs = ([0-9.]+) % of the full network's", out)
    assert device, out
    assert float(device.group(1)) == pytest.approx(share["device_macs"] / 1e6, abs=0.05)
    assert float(device.group(2)) == pytest.approx(100 * share["share"], abs=0.05)
    assert f"{share['device_macs'] / 1e6:.1f} M MACs ({100 * share['share']:.1f} %)" in out  # held-out rows
    m = re.search(r"stream\s+(\d+) bytes = (\d+) bits \((\d+) bytes rANS payload \+ (\d+) bytes header\)", out)
    assert m, out
    nbytes, bits, payload, header = map(int, m.groups())
    assert bits == 8 * nbytes and payload + header == nbytes and header == 36
    bpp = float(re.search(r"bpp\s+([0-9.]+) bits per input pixel \(50176 pixels\)", out).group(1))
    assert bpp == pytest.approx(bits / 50176, abs=1e-4)
    labels = imagenet_labels()
    split = re.search(r"split top-1\s+(\d+) (.+) \(p=([0-9.]+)\)", out)
    teacher = re.search(r"teacher\s+(\d+) (.+) \(p=([0-9.]+)\)", out)
    assert split and teacher
    assert labels[int(split.group(1))].startswith(split.group(2))
    assert int(teacher.group(1)) == 285  # the bundled default image is the cat
    agree = "yes" if split.group(1) == teacher.group(1) else "no"
    assert re.search(rf"agree\s+{agree}", out)
    # the coded size matches the ideal code length of the same symbols under the same tables
    from fsplit_mobile.demo import DEFAULT_IMAGE, preprocess
    from fsplit_mobile.evaluation.evaluate import table_bits

    x = preprocess(DEFAULT_IMAGE, model.input_size, model.mean, model.std)
    with torch.no_grad():
        symbols = model.device.symbols(x)[0].numpy()
    ideal = table_bits(symbols, *model.device.entropy_bottleneck.tables())
    assert ideal <= payload * 8 + 1 and payload * 8 <= ideal + 64

    # held-out table: every rate point, then the two codecs
    assert re.search(r"held-out\s+94 photos x 2 crops = 188 crops", out)
    rows = dict(
        (r[0], (float(r[1]), float(r[2])))
        for r in re.findall(
            r"^\s+(\S+(?: q\d+)?)\s+(?:split|offload)\s+\S+\s+(?:[0-9.]+ M MACs \([0-9.]+ %\)|codec only)\s+"
            r"([0-9.]+)\s+(\d+)$",
            out,
            re.M,
        )
    )
    assert set(rows) == {*bundled, "webp q1", "jpeg q10"}, out
    assert all(0.0 <= a <= 1.0 and b > 0 for a, b in rows.values())
    from fsplit_mobile.evaluation.compare import crops_of, split_point, top1
    from fsplit_mobile.models.teacher import load_efficientnet_lite0

    crops = crops_of("heldout", 2)
    reference = top1(load_efficientnet_lite0(), crops)
    for point, point_model in bundled.items():  # every rate point's row is that of the ordinary deployed path
        preds, sizes = split_point(point_model, crops)
        agreement = float((preds == reference).float().mean())
        # the demo batches crops differently from compare.py (and runs a head shared by units once): float sums may
        # round a symbol at a tie the other way, which can move at most a crop here and there
        assert rows[point][0] == pytest.approx(agreement, abs=1 / len(crops) + 5e-4), point
        assert rows[point][1] == pytest.approx(np.mean(sizes), abs=0.5), point


def test_demo_checkpoint_option_takes_a_single_rate_model():
    """--checkpoint with the FrankenSplit-layout model: one rate point; --heldout-crops 0 skips the table."""
    result = _run_demo(["--checkpoint", str(DEFAULT_CHECKPOINT), "--heldout-crops", "0"])
    assert result.exit_code == 0, result.output
    assert re.search(r"model\s+frankensplit-lite0$", result.output, re.M)
    assert re.search(r"latent\s+48x28x28 int32 symbols", result.output)
    assert "held-out" not in result.output


def test_demo_rejects_a_bad_image(tmp_path):
    bad = tmp_path / "not_an_image.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    result = _run_demo(["--image", str(bad)])
    assert result.exit_code != 0
    assert "cannot read image" in result.output


# ---- bad checkpoints -------------------------------------------------------------------------------------------
def _payload():
    return torch.load(DEFAULT_CHECKPOINT, map_location="cpu", weights_only=True)


def test_not_a_checkpoint_file(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"\x00\x01 not a torch file")
    with pytest.raises(
        CheckpointFormatError, match=r"garbage.pt is not a PyTorch checkpoint \(expected a torch.save archive"
    ):
        load_trainable(path)
    with pytest.raises(CheckpointFormatError, match="missing.pt does not exist"):
        load_trainable(tmp_path / "missing.pt")


def test_wrong_format_tag(tmp_path):
    payload = _payload()
    payload["format"] = "something-else/9"
    torch.save(payload, tmp_path / "c.pt")
    with pytest.raises(CheckpointFormatError, match="something-else/9"):
        load_trainable(tmp_path / "c.pt")


def test_missing_and_unexpected_keys_are_named(tmp_path):
    payload = _payload()
    del payload["state_dict"]["decoder.head.weight"]
    payload["state_dict"]["decoder.extra.weight"] = torch.zeros(1)
    torch.save(payload, tmp_path / "c.pt")
    with pytest.raises(CheckpointFormatError, match=r"decoder\.head\.weight.*decoder\.extra\.weight"):
        load_trainable(tmp_path / "c.pt")


def test_wrong_shape_names_key_and_shapes(tmp_path):
    payload = _payload()
    payload["state_dict"]["encoder.layers.0.conv1.weight"] = torch.zeros(48, 3, 5, 5)
    torch.save(payload, tmp_path / "c.pt")
    with pytest.raises(
        CheckpointFormatError,
        match=re.escape("encoder.layers.0.conv1.weight: expected (48, 3, 3, 3), checkpoint has (48, 3, 5, 5)"),
    ):
        load_trainable(tmp_path / "c.pt")


def test_missing_tables(tmp_path):
    payload = _payload()
    for name in ("_quantized_cdf", "_cdf_length", "_offset"):
        payload["state_dict"][f"entropy_bottleneck.{name}"] = torch.zeros(0, dtype=torch.int32)
    torch.save(payload, tmp_path / "c.pt")
    with pytest.raises(CheckpointFormatError, match="no stored CDF tables"):
        load_trainable(tmp_path / "c.pt")


def test_compare_names_every_rate_point_of_a_checkpoint():
    """`evaluation.compare --model`: a bottleneck-unit checkpoint gives one row per unit (`<stem>:<unit>`, default
    first), a one-rate checkpoint one row named after the file."""
    from fsplit_mobile.evaluation.compare import _load_split_models
    from fsplit_mobile.models.bundled import BUNDLED_UNITS as path

    units = _load_split_models(str(path))
    stem = path.stem
    assert list(units) == [f"{stem}:{k}" for k in ("r2", "r0", "r1", "r3", "r4")]
    assert list(_load_split_models(str(DEFAULT_CHECKPOINT))) == [DEFAULT_CHECKPOINT.stem]
