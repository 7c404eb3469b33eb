"""Head-distillation training: a few steps of the one loop reduce the loss, checkpoints round-trip, crops are
reproducible."""

import copy
from typing import Any

import numpy as np
import pytest
import torch

from fsplit_mobile.evaluation.evaluate import table_bits
from fsplit_mobile.evaluation.images import (
    CALIB_IMAGES,
    EVAL_IMAGES,
    TRAIN_IMAGES,
    CropSampler,
    ImageSourceError,
    bundled_images,
    load_source,
    normalize,
    source_path,
)
from fsplit_mobile.models.frankensplit_lite0 import (
    DEFAULT_CONFIG,
    CheckpointFormatError,
    load_default_model,
    load_trainable,
    save_checkpoint,
)
from fsplit_mobile.training.loop import TrainConfig, finish, fit_quantiles, run, seed_everything
from fsplit_mobile.training.tasks import FrankenSplitTask

# the objective of the first FrankenSplit model (the retired training/distill.py's defaults): plain feature MSE +
# lambda * bpp, no KL term
TINY = TrainConfig(
    steps=40,
    batch_size=4,
    lr=1.5e-3,
    lmbda=2.0,
    kd_weight=0.0,
    feature_loss="mse",
    seed=7,
    resume=False,
    log_every=1,
    val_every=1000,
    save_every=1000,
)


def _loss_on(batch, encoder, bottleneck, decoder, head, lmbda):
    torch.manual_seed(123)  # same additive noise for both measurements
    with torch.no_grad():
        target = head(batch)
        y_tilde, likelihoods = bottleneck(encoder(batch), training=True)
        mse = torch.mean((decoder(y_tilde) - target) ** 2)
        bpp = -torch.log2(likelihoods).sum() / (batch.shape[0] * batch.shape[2] * batch.shape[3])
    return float(mse + lmbda * bpp)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The one loop (FrankenSplitTask) for a few steps on 64x64 crops of two images; the initial weights kept."""
    torch.set_num_threads(1)
    images = ("astronaut", "rocket")
    seed_everything(TINY.seed)
    task = FrankenSplitTask(64, torch.device("cpu"), sources=images, val_paths=bundled_images("val")[:1])
    before = {k: copy.deepcopy(m).eval() for k, m in task.modules.items()}
    state = tmp_path_factory.mktemp("tiny") / "run.pt.state"
    result = run(task, TINY, 64 * 64, state, log=lambda line: None)
    for m in task.modules.values():
        m.eval()
    sampler = CropSampler([load_source(n) for n in images], 64)
    batch = normalize(sampler.batch(np.random.default_rng(99), 8))
    return before, task, result, state, batch


def _parts(modules: dict) -> tuple[Any, Any, Any]:
    """(encoder, entropy bottleneck, decoder) of a task's modules."""
    return modules["encoder"], modules["entropy_bottleneck"], modules["decoder"]


@pytest.mark.slow
def test_a_few_steps_reduce_the_loss(tiny_run):
    before, task, result, state, batch = tiny_run
    initial = _loss_on(batch, *_parts(before), task.head, 2.0)
    trained = _loss_on(batch, *_parts(task.modules), task.head, 2.0)
    steps = [r for r in result["history"] if "loss" in r]
    assert [r["step"] for r in steps] == list(range(1, 41))
    assert all(np.isfinite(r["loss"]) and r["kd"] == 0.0 for r in steps)
    # the loop optimised the plain feature MSE + lambda * bpp (feature_loss="mse")
    assert all(r["loss"] == pytest.approx(r["mse"] + 2.0 * r["bpp"], rel=1e-5) for r in steps)
    assert trained < 0.9 * initial, (initial, trained)
    assert torch.load(state, weights_only=False)["step"] == 40  # the resumable state of the last step


@pytest.mark.slow
def test_checkpoint_round_trip(tiny_run, tmp_path):
    _, task, result, _, batch = tiny_run
    aux, validation = finish(task)  # quantiles solved exactly, tables built, validated as deployed
    assert aux < 1e-2 and fit_quantiles(task.bottleneck) < 1e-2
    assert validation["val_crops"] == 8 and 0.0 <= validation["val_agreement"] <= 1.0
    encoder, bottleneck, decoder = _parts(task.modules)
    for m in (encoder, bottleneck, decoder):
        m.eval()
    path = save_checkpoint(tmp_path / "ckpt.pt", encoder, bottleneck, decoder, task.config, {"steps": TINY.steps})
    assert task.config == dict(DEFAULT_CONFIG)
    enc2, eb2, dec2, payload = load_trainable(path)
    assert payload["meta"] == {"steps": 40}
    for a, b in ((encoder, enc2), (bottleneck, eb2), (decoder, dec2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for key in sa:
            assert torch.equal(sa[key], sb[key]), key
    with torch.no_grad():
        assert torch.equal(bottleneck.symbols(encoder(batch)), eb2.symbols(enc2(batch)))
        assert torch.equal(
            decoder(eb2.dequantize(eb2.symbols(enc2(batch)))),
            dec2(bottleneck.dequantize(bottleneck.symbols(encoder(batch)))),
        )
    split = load_default_model(path, with_server=False)
    assert split.server is None and split.latent_shape() == (48, 28, 28)


def test_feature_loss_mse_is_the_plain_feature_error():
    """feature_loss="mse" (the first FrankenSplit model's objective): mse_weight * mean squared error, not
    normalised; the default "nmse" divides it by the features' power; anything else is refused."""
    from fsplit_mobile.training.losses import split_loss

    torch.manual_seed(0)
    f = 3.0 * torch.randn(2, 40, 8, 8)
    f_hat = f + torch.randn_like(f)
    likelihoods = torch.full((2, 8, 2, 2), 0.5)
    args = (likelihoods, torch.zeros(2, 10), None, 64, 1.0, 0.0, 2.0, 1.0)
    mse = float(((f_hat - f) ** 2).mean())
    bpp = 2 * 8 * 2 * 2 / 64  # one bit per latent element
    _, plain = split_loss(f_hat, f, *args, feature_loss="mse")
    _, default = split_loss(f_hat, f, *args)
    assert plain["mse"] == pytest.approx(mse) and plain["loss"] == pytest.approx(mse + 2.0 * bpp)
    assert default["nmse"] == pytest.approx(mse / float((f**2).mean()))
    assert default["loss"] == pytest.approx(default["nmse"] + 2.0 * bpp)
    with pytest.raises(ValueError, match="feature_loss"):
        split_loss(f_hat, f, *args, feature_loss="l1")
    with pytest.raises(ValueError, match="feature_loss"):
        TrainConfig(feature_loss="l1")


def test_frankensplit_command_has_the_retired_loops_options():
    """What training/distill.py set on its command line, the one loop's frankensplit command sets too."""
    from click.testing import CliRunner

    from fsplit_mobile.training.train import main

    result = CliRunner().invoke(main, ["frankensplit", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--feature-loss", "--density-lr-scale", "--kd-weight", "--lmbda", "--crop", "--train-images"):
        assert option in result.output, option
    result = CliRunner().invoke(main, ["frankensplit", "--out", "x.pt", "--feature-loss", "l1"])
    assert result.exit_code == 2 and "--feature-loss" in result.output


def test_save_refuses_a_bottleneck_without_tables(tmp_path):
    from fsplit_mobile.models.frankensplit_lite0 import build_trainable

    encoder, bottleneck, decoder = build_trainable()
    with pytest.raises(CheckpointFormatError, match="update"):
        save_checkpoint(tmp_path / "x.pt", encoder, bottleneck, decoder, dict(DEFAULT_CONFIG), {})


def test_fit_quantiles_solves_the_aux_loss():
    from fsplit_mobile.entropy import EntropyBottleneck

    torch.manual_seed(0)
    eb = EntropyBottleneck(8)
    assert eb.loss().item() > 100
    assert fit_quantiles(eb) < 1e-3
    q = eb.quantiles.detach()[:, 0, :]
    assert bool((q[:, 0] < q[:, 1]).all() and (q[:, 1] < q[:, 2]).all())


def test_splits_are_disjoint_and_sources_exist():
    assert not set(EVAL_IMAGES) & set(TRAIN_IMAGES)
    assert not set(EVAL_IMAGES) & set(CALIB_IMAGES)
    assert set(CALIB_IMAGES) <= set(TRAIN_IMAGES)
    for name in EVAL_IMAGES + TRAIN_IMAGES:
        assert source_path(name).is_file()
    assert [p.stem for p in bundled_images("eval")] == sorted(EVAL_IMAGES)
    assert [p.stem for p in bundled_images("calib")] == sorted(CALIB_IMAGES)
    with pytest.raises(ImageSourceError, match="unknown image"):
        source_path("no-such-image")


def test_crops_are_seeded_and_in_range():
    sampler = CropSampler([load_source("coffee")], 96)
    a = sampler.batch(np.random.default_rng(3), 4)
    b = sampler.batch(np.random.default_rng(3), 4)
    assert a.shape == (4, 3, 96, 96) and torch.equal(a, b)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_table_bits_matches_the_pmf_code_length():
    # one channel, 3 symbols with frequencies 1/2, 1/4, 1/4 of 2^16 (+ a tiny escape slot), offset -1
    cdf = np.array([[0, 32768, 49152, 65535, 65536]], dtype=np.int32)
    lengths, offsets = np.array([5], dtype=np.int32), np.array([-1], dtype=np.int32)
    symbols = np.array([[[-1, 0, 1, -1]]], dtype=np.int32)
    expected = 1 + 2 + 2 + 1 + 16 * 0  # -log2 of 1/2, 1/4, ~1/4, 1/2
    assert table_bits(symbols, cdf, lengths, offsets) == pytest.approx(expected, abs=1e-3)
    # an out-of-range symbol costs the escape slot (16 bits) plus its bypass-coded value
    escaped = table_bits(np.array([[[5]]], dtype=np.int32), cdf, lengths, offsets)
    assert escaped > 16


def test_deep_feature_term_is_zero_on_the_teachers_features_and_grows_off_them():
    """--deep-weight: the tail's deeper features on the reconstruction against the same tail's on the teacher's
    features; exactly zero when the reconstruction is the teacher's features, positive and differentiable when not."""
    from fsplit_mobile.models.teacher import TeacherTail, load_efficientnet_lite0
    from fsplit_mobile.training.losses import DEEP_LEVELS, split_loss

    torch.manual_seed(0)
    tail = TeacherTail(load_efficientnet_lite0(), 5).eval()
    f = torch.randn(2, 40, 28, 28)
    logits, levels = tail.with_levels(f, DEEP_LEVELS)
    assert [t.shape[1] for t in levels] == [80, 112, 192, 1280]
    assert torch.allclose(logits, tail(f))
    likelihoods = torch.full((2, 8, 4, 4), 0.5)
    args = (likelihoods, logits.detach(), tail, 224 * 224 * 2, 1.0, 0.0, 0.0, 1.0)
    _, parts = split_loss(f, f, *args, deep_weight=1.0)
    assert parts["deep"] < 1e-10  # the same tail on the same input (two passes: float-level equality only)
    f_hat = (f + 0.5 * torch.randn_like(f)).requires_grad_(True)
    loss, parts = split_loss(f_hat, f, *args, deep_weight=1.0)
    _, without = split_loss(f_hat, f, *args, deep_weight=0.0)
    assert parts["deep"] > 1e-3 and without["deep"] == 0.0
    assert parts["loss"] == pytest.approx(without["loss"] + parts["deep"], rel=1e-5)
    loss.backward()
    assert f_hat.grad is not None and float(f_hat.grad.abs().sum()) > 0


def test_feature_cache_of_a_folder_is_for_training_only(tmp_path):
    from click.testing import CliRunner

    from fsplit_mobile.training.features import main

    (tmp_path / "pool").mkdir()
    result = CliRunner().invoke(main, ["--split", "val", "--dir", str(tmp_path / "pool"), "--out", "x.pt"])
    assert result.exit_code == 2 and "training only" in result.output
    result = CliRunner().invoke(main, ["--split", "train", "--dir", str(tmp_path / "pool"), "--out", "x.pt"])
    assert result.exit_code == 2 and "no .jpg/.jpeg/.png images" in result.output
