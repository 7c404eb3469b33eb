"""Bottleneck units: checkpoint layout (one unit per rate point), refusal of incomplete files, and the training
entry point (progress log, exact command, resume)."""

import subprocess
import sys

import pytest
import torch

from fsplit_mobile.models import bottleneck_unit as bu
from fsplit_mobile.models.checkpoint import MissingKeysError, UnexpectedKeysError, load_checkpoint, read_checkpoint
from fsplit_mobile.models.checkpoint import units as unit_io

pytest.importorskip("efficientnet_lite_pytorch")


def _units(split: int = 16, names=("low", "high")):
    cfg = bu.model_config(split, [{"name": n, "latent_channels": 4 + 4 * i, "width": 16} for i, n in enumerate(names)])
    torch.manual_seed(0)
    units = [bu.build_unit(split, u) for u in cfg["units"]]
    for u in units:
        u.entropy_bottleneck.update(force=True)
    return cfg, units


def test_round_trip_every_rate_point_shares_the_teacher(tmp_path):
    cfg, units = _units()
    path = unit_io.save_units(tmp_path / "u.pt", cfg, units, {"note": "test"})
    default = load_checkpoint(path)
    assert default.architecture == bu.ARCHITECTURE and default.meta["rate_point"] == "low"
    models = unit_io.load_units(path)
    assert list(models) == ["low", "high"]
    assert models["low"].device.encoder.head is models["high"].device.encoder.head
    x = torch.rand(2, 3, 224, 224)
    for name, unit in zip(models, units):
        symbols = models[name].device.symbols(x)
        assert symbols.dtype == torch.int32 and tuple(symbols.shape) == (2, unit.config["latent_channels"], 7, 7)
        logits = models[name].server(symbols)
        assert logits.shape == (2, 1000)
        # the loaded unit computes what the saved one did
        with torch.no_grad():
            expected = unit.decoder(
                unit.entropy_bottleneck.dequantize(
                    unit.entropy_bottleneck.symbols(unit.encoder(models[name].device.encoder.head(x)))
                )
            )
            assert torch.equal(models[name].server.decoder(symbols.float() + models[name].server.medians), expected)


def test_checkpoint_lacking_a_unit_is_refused_naming_it(tmp_path):
    cfg, units = _units()
    path = unit_io.save_units(tmp_path / "u.pt", cfg, units)
    payload = read_checkpoint(path)
    payload["state_dict"] = {k: v for k, v in payload["state_dict"].items() if not k.startswith("units.high.")}
    torch.save(payload, tmp_path / "lacking.pt")
    with pytest.raises(MissingKeysError, match="'high'"):
        load_checkpoint(tmp_path / "lacking.pt")
    payload = read_checkpoint(path)
    payload["state_dict"]["units.stray.encoder.w"] = torch.zeros(1)
    torch.save(payload, tmp_path / "stray.pt")
    with pytest.raises(UnexpectedKeysError, match="units.stray"):
        load_checkpoint(tmp_path / "stray.pt")


def test_bad_split_and_names_are_refused():
    with pytest.raises(bu.BottleneckUnitError, match="split_block 7"):
        bu.model_config(7, [{"name": "a"}])
    with pytest.raises(bu.BottleneckUnitError, match="distinct names"):
        bu.model_config(16, [{"name": "a"}, {"name": "a"}])


def test_combine_orders_rate_points(tmp_path):
    cfg, units = _units(names=("a", "b"))
    one = unit_io.save_units(tmp_path / "one.pt", bu.model_config(16, [units[0].config]), [units[0]])
    two = unit_io.save_units(tmp_path / "two.pt", bu.model_config(16, [units[1].config]), [units[1]])
    out = unit_io.combine_units([two, one], tmp_path / "both.pt")
    assert list(unit_io.load_units(out, with_server=False)) == ["r0", "r1"]
    assert read_checkpoint(out)["config"]["units"][0]["latent_channels"] == units[1].config["latent_channels"]


def test_training_entry_point_logs_and_resumes(tmp_path):
    torch.manual_seed(0)
    cache = {"features": {16: torch.randn(24, 320, 7, 7).half()}, "logits": torch.randn(24, 1000), "names": []}
    torch.save(cache, tmp_path / "c.pt")
    out = tmp_path / "unit.pt"
    base = [
        sys.executable,
        "-m",
        "fsplit_mobile.training.train",
        "bottleneck-unit",
        "--split-block",
        "16",
        "--latent-channels",
        "4",
        "--width",
        "16",
        "--batch-size",
        "4",
        "--val-every",
        "3",
        "--train-cache",
        str(tmp_path / "c.pt"),
        "--val-cache",
        str(tmp_path / "c.pt"),
        "--out",
        str(out),
    ]
    subprocess.run(base + ["--steps", "3"], check=True, capture_output=True, timeout=300)
    first = read_checkpoint(out)
    assert first["meta"]["steps"] == 3 and 0.0 <= first["meta"]["validation"]["val_agreement"] <= 1.0
    subprocess.run(base + ["--steps", "5"], check=True, capture_output=True, timeout=300)
    log = (tmp_path / "unit.pt.log").read_text()
    assert "# python -m fsplit_mobile.training.train bottleneck-unit" in log
    assert "resumed from" in log and "at step 3" in log
    assert "step 5/5" in log
    assert unit_io.load_units(out, with_server=False)["r0"].device.entropy_bottleneck.has_tables()


def test_linear_per_pixel_unit_config():
    """kernel 1 + act none: one 1x1 convolution each side; invalid combinations are refused, naming the setting;
    a config without `kernel` (checkpoints from before it existed) is a 3x3 unit."""
    unit = bu.build_unit(16, {"name": "lin", "latent_channels": 320, "kernel": 1, "act": "none"})
    (enc,) = unit.encoder.layers
    (dec,) = unit.decoder.layers
    assert enc.kernel_size == (1, 1) and (enc.in_channels, enc.out_channels) == (320, 320)
    assert dec.kernel_size == (1, 1) and (dec.in_channels, dec.out_channels) == (320, 320)
    assert bu.unit_config("old", latent_channels=8)["kernel"] == 3
    with pytest.raises(bu.BottleneckUnitError, match="kernel must be 1 or 3"):
        bu.build_unit(16, {"name": "k", "kernel": 5})
    with pytest.raises(bu.BottleneckUnitError, match="kernel 1.*stride 2"):
        bu.build_unit(11, {"name": "k", "kernel": 1, "stride": 2})
    with pytest.raises(bu.BottleneckUnitError, match="act must be one of"):
        bu.unit_config("a", act="tanh")
    with pytest.raises(bu.BottleneckUnitError, match="default unit 'x'"):
        bu.model_config(16, [{"name": "a"}], default_unit="x")


def test_pca_init_and_frozen_transform(tmp_path):
    """--init pca on a full-rank linear unit is an orthogonal transform coder: decoder(encoder(f)) == f without
    rounding; --freeze-transform trains only the entropy model, so the transform leaves training unchanged."""
    torch.manual_seed(0)
    mix = torch.randn(320, 320) / 320**0.5  # correlated channels, as real features are
    feats = torch.einsum(
        "dc,nchw->ndhw", mix, torch.randn(24, 320, 7, 7) * torch.linspace(3, 0.1, 320)[None, :, None, None]
    )
    cache = {"features": {16: feats.half()}, "logits": torch.randn(24, 1000), "names": []}
    torch.save(cache, tmp_path / "c.pt")
    out = tmp_path / "lin.pt"
    args = [sys.executable, "-m", "fsplit_mobile.training.train", "bottleneck-unit", "--split-block", "16"]
    args += ["--kernel", "1", "--act", "none", "--latent-channels", "320", "--init", "pca", "--pca-step", "0.5"]
    args += ["--freeze-transform", "--kd-weight", "0", "--steps", "4", "--batch-size", "4", "--val-every", "2"]
    args += ["--train-cache", str(tmp_path / "c.pt"), "--val-cache", str(tmp_path / "c.pt"), "--out", str(out)]
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    log = (tmp_path / "lin.pt.log").read_text()
    assert "# pca init:" in log and "transform frozen" in log
    payload = read_checkpoint(out)
    meta = payload["meta"]
    assert meta["init"]["kind"] == "pca" and meta["transform_trained"] is False
    assert meta["init"]["explained_variance"] == pytest.approx(1.0, abs=1e-4)
    (unit,) = unit_io.units_from_payload(payload)[1]
    f = feats[:4].float()
    with torch.no_grad():
        y = unit.encoder(f)
        back = unit.decoder(y)
    assert torch.allclose(back, f, atol=2e-3 * float(f.abs().max()))  # rotation and its inverse
    # the step is 0.5 RMS standard deviations of the features, so the latent's RMS spread is 1 / 0.5 = 2 steps
    assert float(y.pow(2).mean().sqrt()) == pytest.approx(2.0, rel=0.2)


def test_blending_is_refused_outside_the_training_split(tmp_path):
    """features --mix blends training crops only: asking for it on another split is refused, naming why."""
    from click.testing import CliRunner

    from fsplit_mobile.training import features

    result = CliRunner().invoke(features.main, ["--split", "val", "--mix", "0.5", "--out", str(tmp_path / "v.pt")])
    assert result.exit_code != 0 and "training split only" in result.output
