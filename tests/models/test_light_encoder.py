"""The lightweight device encoder of issue 20: its compute counted from the exported graph, its registry entry,
and its training entry point (cached crops, progress log, a SIGKILL mid-run resumed to the end)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from fsplit_mobile.models import registry
from fsplit_mobile.models.checkpoint import load_checkpoint, read_checkpoint
from fsplit_mobile.models.frankensplit_lite0 import DEFAULT_CONFIG
from fsplit_mobile.models.light_encoder import LightEncoder
from fsplit_mobile.models.macs import count_macs, device_share
from repo_paths import PACKAGE

pytest.importorskip("efficientnet_lite_pytorch")


def _light(**encoder):
    return {**DEFAULT_CONFIG, "encoder": {"kind": "light", **encoder}}


def test_macs_are_counted_from_the_exported_graph():
    # patch 4x4/4 3->32 at 56x56; separable 32->64 at 56x56 (dw 3x3 + pw); separable 64->96 stride 2 at 28x28;
    # 1x1 96->48 at 28x28
    expected = 56 * 56 * 32 * 3 * 16 + 56 * 56 * (32 * 9 + 64 * 32) + 28 * 28 * (64 * 9 + 96 * 64) + 28 * 28 * 48 * 96
    assert count_macs(LightEncoder()) == expected
    # dense: patch stem, a full 3x3 stride-2 convolution 32->96 at 28x28, 1x1 96->48
    dense = LightEncoder({"block": "dense", "stages": [[], [96]]})
    assert count_macs(dense) == 56 * 56 * 32 * 3 * 16 + 28 * 28 * 96 * 32 * 9 + 28 * 28 * 48 * 96
    # grouped convolutions count in_channels / groups per output; a Linear counts its in_features per output
    assert count_macs(torch.nn.Conv2d(3, 6, 3, padding=1, groups=3), (8, 8)) == 8 * 8 * 6 * (3 // 3) * 9
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 10))
    assert count_macs(flat, (4, 4)) == 48 * 10


def test_device_share_is_against_the_full_teacher():
    share = device_share(LightEncoder())
    assert 385_000_000 < share["network_macs"] < 385_400_000  # EfficientNet-Lite0 at 224x224: 385.2 M
    assert share["share"] == pytest.approx(share["device_macs"] / share["network_macs"])
    assert share["share"] < 0.10


@pytest.mark.parametrize(
    "encoder",
    [
        {},
        {"stem": "strided"},
        {"act": "gdn"},
        {"stages": [[48, 48], [64, 64]]},
        {"block": "dense", "stages": [[], [96]]},
        {"block": ["separable", "dense"], "stem_channels": 48, "stages": [[24], [48]]},
    ],
)
def test_light_variants_map_images_to_the_split_resolution(encoder):
    device = registry.build_device_model("frankensplit-lite0", _light(**encoder))
    y = device.encoder(torch.zeros(2, 3, 224, 224))
    assert y.shape == (2, DEFAULT_CONFIG["latent_channels"], 28, 28)


def test_teacher_blocks_put_the_pretrained_frozen_stem_first():
    """teacher_blocks 1: the teacher's own stem + block 0 (its pretrained weights, frozen, BatchNorm statistics
    included even in training mode), then the learned layers from 1/2 of the input; MACs add up."""
    from fsplit_mobile.models.teacher import TeacherHead, load_efficientnet_lite0

    enc = LightEncoder(
        {"teacher_blocks": 1, "stem_channels": 24, "block": "dense", "stages": [[], [48]], "latent_channels": 24}
    )
    assert enc.teacher is not None
    assert all(not p.requires_grad for p in enc.teacher.parameters())
    assert any(p.requires_grad for p in enc.layers.parameters())
    head = TeacherHead(load_efficientnet_lite0(), 1).eval()
    x = torch.randn(2, 3, 224, 224)
    enc.train()  # the loop's train() must leave the teacher's BatchNorm in eval mode
    assert not enc.teacher.training and enc.layers.training
    before = [b.clone() for b in enc.teacher.buffers()]
    with torch.no_grad():
        torch.testing.assert_close(enc.teacher(x), head(x))
        assert enc(x).shape == (2, 24, 28, 28)
    assert all(torch.equal(a, b) for a, b in zip(before, enc.teacher.buffers()))
    # stem 3->32 3x3/2 at 112; block 0: depthwise 3x3 32 + pointwise 32->16 at 112; patch 2x2/2 16->24 at 56;
    # dense 3x3/2 24->48 at 28; 1x1 48->24 at 28
    teacher = 112 * 112 * (32 * 3 * 9 + 32 * 9 + 16 * 32)
    learned = 56 * 56 * 24 * 16 * 4 + 28 * 28 * 48 * 24 * 9 + 28 * 28 * 24 * 48
    assert count_macs(enc) == teacher + learned
    assert device_share(enc)["share"] < 0.10


def test_bad_light_configs_are_refused_naming_the_field():
    with pytest.raises(registry.ArchitectureError, match="teacher_blocks"):
        registry.build_device_model("frankensplit-lite0", _light(teacher_blocks=7))
    with pytest.raises(registry.ArchitectureError, match="teacher_blocks"):
        registry.build_device_model("frankensplit-lite0", _light(teacher_blocks=1, stem="strided"))
    with pytest.raises(registry.ArchitectureError, match="stem"):
        registry.build_device_model("frankensplit-lite0", _light(stem="pixelshuffle"))
    with pytest.raises(registry.ArchitectureError, match="block"):
        registry.build_device_model("frankensplit-lite0", _light(block="inverted"))
    with pytest.raises(registry.ArchitectureError, match="block"):
        registry.build_device_model("frankensplit-lite0", _light(block=["dense"]))
    with pytest.raises(registry.ArchitectureError, match="block"):
        registry.build_device_model("frankensplit-lite0", _light(block=["separable", "inverted"]))
    with pytest.raises(registry.ArchitectureError, match="stages"):
        registry.build_device_model("frankensplit-lite0", _light(stages=[[64], []]))
    with pytest.raises(registry.ArchitectureError, match="act"):
        registry.build_device_model("frankensplit-lite0", _light(act="swish"))
    with pytest.raises(registry.ArchitectureError, match="latent_channels"):
        registry.build_device_model("frankensplit-lite0", _light(latent_channels=7))
    with pytest.raises(registry.ArchitectureError, match="encoder kind"):
        registry.build_device_model("frankensplit-lite0", {**DEFAULT_CONFIG, "encoder": {"kind": "resnet"}})


def _caches(tmp_path):
    torch.manual_seed(0)
    n = 12
    cache = {
        "images": torch.randint(0, 256, (n, 3, 224, 224), dtype=torch.uint8),
        "features": {5: torch.randn(n, 40, 28, 28).half()},
        "logits": torch.randn(n, 1000),
        "names": [],
    }
    torch.save(cache, tmp_path / "c.pt")
    return str(tmp_path / "c.pt")


def _loop_args(cache, out, steps, save_every):
    """The schedule, caches and output of a tiny training run (one cache for training and validation)."""
    schedule = ["--val-every", "1000", "--save-every", str(save_every), "--steps", str(steps)]
    return [*schedule, "--train-cache", cache, "--val-cache", cache, "--out", str(out)]


def _command(cache, out, steps):
    return [
        sys.executable,
        "-m",
        "fsplit_mobile.training.train",
        "light",
        "--stem-channels",
        "8",
        "--stages",
        "8;8",
        "--latent-channels",
        "4",
        "--decoder-width",
        "8",
        "--decoder-blocks",
        "1",
        "--batch-size",
        "2",
        "--kd-weight",
        "0",
        *_loop_args(cache, out, steps, save_every=2),
    ]


def test_training_killed_with_sigkill_resumes_and_finishes(tmp_path):
    cache = _caches(tmp_path)
    out = tmp_path / "light.pt"
    state = tmp_path / "light.pt.state"
    steps = 600  # at ~15 steps/s the kill lands long before the end, even on a loaded machine
    proc = subprocess.Popen(_command(cache, out, steps), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.exists(), "no resumable state was written"
        os.kill(proc.pid, signal.SIGKILL)  # at an arbitrary instant, possibly while the state is being written
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    killed_at = torch.load(state, weights_only=False)["step"]
    assert 0 < killed_at < steps
    done = subprocess.run(_command(cache, out, steps), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    log = (tmp_path / "light.pt.log").read_text()
    assert f"resumed from {state} at step {killed_at}" in log
    assert f"step {steps}/{steps}" in log
    meta = read_checkpoint(out)["meta"]
    assert meta["steps"] == steps and meta["device_compute"]["share"] < 0.01
    model = load_checkpoint(out)
    assert model.device.entropy_bottleneck.has_tables()
    assert model.device.encoder(torch.zeros(1, 3, 224, 224)).shape == (1, 4, 28, 28)


def test_light_training_refuses_a_cache_without_images(tmp_path):
    cache = {"features": {5: torch.randn(4, 40, 28, 28).half()}, "logits": torch.randn(4, 1000), "names": []}
    torch.save(cache, tmp_path / "c.pt")
    res = subprocess.run(
        _command(str(tmp_path / "c.pt"), tmp_path / "x.pt", 2), capture_output=True, text=True, timeout=300
    )
    assert res.returncode != 0
    assert "holds no images" in res.stderr


def test_rescaled_rate_point_keeps_the_transform_and_changes_the_step(tmp_path):
    """--rescale F: the same transform with a quantisation step F times larger (encoder's last layer / F, decoder's
    first layer x F), only the entropy model trained (--freeze-transform)."""
    cache = _caches(tmp_path)
    base = tmp_path / "base.pt"
    subprocess.run(_command(cache, base, 4), check=True, capture_output=True, timeout=300)
    point = tmp_path / "coarse.pt"
    cmd = _command(cache, point, 4) + ["--init-from", str(base), "--rescale", "2", "--freeze-transform"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    a, b = read_checkpoint(base), read_checkpoint(point)
    sa, sb = a["state_dict"], b["state_dict"]
    last = max(int(k.split(".")[2]) for k in sa if k.startswith("encoder.layers."))
    for key in sa:
        if key.startswith("entropy_bottleneck."):
            continue
        if key.startswith(f"encoder.layers.{last}."):
            assert torch.allclose(sb[key], sa[key] / 2), key
        elif key == "decoder.stem.0.weight":
            assert torch.allclose(sb[key], sa[key] * 2), key
        else:
            assert torch.equal(sb[key], sa[key]), key
    assert b["meta"]["rescale"] == 2.0 and b["meta"]["transform_trained"] is False
    # the entropy model's quantiles follow the step at once (the medians set the deployed rounding offsets)
    from fsplit_mobile.training.tasks import LightTask

    task = LightTask({}, [cache], cache, "cpu", init_from=str(base))
    before = task.bottleneck.quantiles.detach().clone()
    task.rescale(2.0)
    torch.testing.assert_close(task.bottleneck.quantiles.detach(), before / 2)
    res = subprocess.run(_command(cache, tmp_path / "x.pt", 2) + ["--rescale", "2"], capture_output=True, text=True)
    assert res.returncode != 0 and "--init-from" in res.stderr


@pytest.mark.parametrize(
    "file,recipe_name,model_id",
    [
        ("light_lite0.pt", "light_lite0", "light-lite0"),
        ("light_lite0_teacher_front.pt", "light_lite0_teacher_front", "light-lite0-teacher-front"),
    ],
)
def test_bundled_light_model_is_within_the_budget_and_its_recorded_validation_reproduces(file, recipe_name, model_id):
    """The bundled light models (the default light-lite0, and light-lite0-teacher-front, the default of sessions
    8-9), rate-point sets: every point under 10 % of the network's MACs (counted now, equal to what training
    recorded), its recipe, its documentation, and the validation agreement each point's meta records, recomputed on
    the deployed path (symbols -> rANS container -> decoded -> server part); the points trade bytes for agreement
    in their order."""

    import numpy as np

    from fsplit_mobile.evaluation.compare import crops_of, split_point, top1
    from fsplit_mobile.export.recipe import load_recipe
    from fsplit_mobile.models.bundled import load_rate_points
    from fsplit_mobile.models.teacher import load_efficientnet_lite0

    data = PACKAGE / "data"
    path = data / "default" / file
    assert path.stat().st_size < 6_000_000
    points = load_rate_points(path)
    assert list(points) == ["r0", "r1", "r2"]
    assert load_checkpoint(path).meta["rate_point"] == "r0"  # the default point
    recipe = load_recipe(recipe_name)
    assert recipe.checkpoint == path.resolve() and recipe.architecture == "frankensplit-lite0"
    assert recipe.model_id == model_id
    assert recipe.calib_images.name == "train" and recipe.eval_images.name == "heldout"
    assert f"default/{file}" in (data / "README.md").read_text()
    crops = crops_of("val", 4)
    reference = top1(load_efficientnet_lite0(), crops)
    mean_bytes = []
    for name, model in points.items():
        assert model.model_id == model_id and model.architecture == "frankensplit-lite0", name
        share = device_share(model.device.encoder, model.input_size)
        meta = model.meta["checkpoint_meta"] if "checkpoint_meta" in model.meta else model.meta
        assert share["share"] < 0.10 and share["device_macs"] == meta["device_compute"]["device_macs"], name
        assert crops.shape[0] == meta["validation"]["val_crops"]
        preds, sizes = split_point(model, crops)
        agreement = float((preds == reference).float().mean())
        assert agreement == pytest.approx(meta["validation"]["val_agreement"], abs=1 / crops.shape[0] + 1e-6), name
        # real container bytes: the ideal code length plus the header and the coder's few bytes of overhead
        estimated = meta["validation"]["val_bytes_estimated"]
        assert estimated < np.mean(sizes) < estimated + 80, name
        mean_bytes.append(float(np.mean(sizes)))
    assert mean_bytes == sorted(mean_bytes, reverse=True)  # r0 the largest, r2 the smallest


def test_selection_by_validation_keeps_the_weights_of_the_best_agreement(tmp_path):
    """--select agreement: the checkpoint holds the weights of the validation with the highest teacher agreement
    (the first such step), not those after the last step; --select last (the default) keeps the last ones."""
    cache = _caches(tmp_path)
    steps = 6
    runs = {}
    for select in ("agreement", "last"):
        out = tmp_path / f"{select}.pt"
        cmd = _command(cache, out, steps) + ["--val-every", "1", "--select", select]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        runs[select] = read_checkpoint(out)
    meta = runs["agreement"]["meta"]
    vals = [(r["step"], r["val_agreement"]) for r in meta["history"] if "val_agreement" in r]
    assert [s for s, _ in vals] == list(range(1, steps + 1))
    best = max(a for _, a in vals)
    assert meta["select"] == "agreement"
    assert meta["selected_step"] == next(s for s, a in vals if a == best)
    assert runs["last"]["meta"]["selected_step"] == steps
    same = all(
        torch.equal(runs["agreement"]["state_dict"][k], runs["last"]["state_dict"][k])
        for k in runs["last"]["state_dict"]
        if k.startswith("encoder.")
    )
    if meta["selected_step"] < steps:
        assert not same, "the selected weights are those of the last step"
    res = subprocess.run(_command(cache, tmp_path / "x.pt", 2) + ["--select", "best"], capture_output=True, text=True)
    assert res.returncode != 0 and "--select" in res.stderr


def _stem_command(reference, cache, out, steps, *extra):
    return [
        sys.executable,
        "-m",
        "fsplit_mobile.training.train",
        "light-stem",
        "--reference",
        str(reference),
        "--stem-channels",
        "8",
        "--batch-size",
        "2",
        "--kd-weight",
        "0",
        "--lmbda",
        "0",
        "--lr",
        "3e-3",
        *_loop_args(cache, out, steps, save_every=10),
        *extra,
    ]


def test_stem_swap_replaces_the_teacher_layers_and_keeps_the_rest(tmp_path):
    """light-stem: a light model that starts with the teacher's stem + block 0 gets a learned 4x4 patch stem + a
    separable block in their place, trained to reproduce their output; the 1/8 stage, latent layer, entropy model
    and decoder are the reference's, unchanged, and the front's error against the reference falls."""
    from fsplit_mobile.training.tasks import StemTask

    cache = _caches(tmp_path)
    reference = tmp_path / "ref.pt"
    ref_cmd = _command(cache, reference, 2)
    ref_cmd[ref_cmd.index("--stages") + 1] = ";8"
    ref_cmd += ["--teacher-blocks", "1", "--block", "dense"]
    subprocess.run(ref_cmd, check=True, capture_output=True, timeout=300)
    out = tmp_path / "stem.pt"
    res = subprocess.run(_stem_command(reference, cache, out, 80), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    a, b = read_checkpoint(reference), read_checkpoint(out)
    enc = b["config"]["encoder"]
    assert enc["teacher_blocks"] == 0 and enc["block"] == ["separable", "dense"] and enc["stages"] == [[8], [8]]
    assert b["meta"]["stem_from"] == str(reference)
    assert b["meta"]["device_compute"]["device_macs"] < a["meta"]["device_compute"]["device_macs"]
    sa, sb = a["state_dict"], b["state_dict"]
    assert not any(k.startswith("encoder.teacher.") for k in sb)
    front = StemTask.FRONT
    for key, value in sa.items():
        if key.startswith("encoder.teacher.") or key.startswith("encoder.layers.0."):
            continue  # the replaced front
        if key.startswith("encoder.layers."):
            i = int(key.split(".")[2])
            mine = key.replace(f"encoder.layers.{i}.", f"encoder.layers.{i - 2 + front}.", 1)
            assert torch.equal(sb[mine], value), key
        elif key.startswith("decoder.") or (key.startswith("entropy_bottleneck.") and "quantiles" not in key):
            assert torch.equal(sb[key], value), key
    # the front learned: its error against the reference's front is below that of a fresh front (same seed)
    fresh = StemTask(str(reference), 8, [cache], cache, "cpu")
    trained = load_checkpoint(out).device.encoder.eval()
    with torch.no_grad():
        x = fresh._images(fresh.train_x[:6])
        target = fresh.reference_front(x)

        def nmse(front):
            return float(((front(x) - target) ** 2).mean() / (target**2).mean())

        assert nmse(trained.layers[:front]) < 0.9 * nmse(fresh.front)
    # refused: a reference without the teacher's layers, and objectives that do not apply
    plain = tmp_path / "plain.pt"
    subprocess.run(_command(cache, plain, 2), check=True, capture_output=True, timeout=300)
    res = subprocess.run(_stem_command(plain, cache, tmp_path / "x.pt", 2), capture_output=True, text=True)
    assert res.returncode != 0 and "teacher_blocks" in res.stderr
    cmd = _stem_command(reference, cache, tmp_path / "y.pt", 2)
    cmd[cmd.index("--kd-weight") + 1] = "1"
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode != 0 and "--kd-weight 0" in res.stderr
