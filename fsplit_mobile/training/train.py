"""The training CLI of the split models: bottleneck units, the FrankenSplit-style model and the lightweight encoder.

    python -m fsplit_mobile.training.train bottleneck-unit --split-block 15 --lmbda 0.5 --out runs/b15.pt
    python -m fsplit_mobile.training.train light --kd-weight 0 --out runs/light_a.pt
    python -m fsplit_mobile.training.train frankensplit --out runs/fs.pt

A thin layer: the objective is in training/losses.py (mse_weight * NMSE(features) + kd_weight * T^2 * KL(teacher
|| split logits) + lmbda * bpp, the split logits from the frozen teacher tail on the reconstructed features), what
each model trains on in training/tasks.py (free of click: bad caches raise TrainingInputError, shown here as usage
errors), and the one loop with its TrainConfig in training/loop.py. Every run writes `<out>.log` (the exact command
first), keeps `<out>.state` (weights, optimisers, step, RNG; written atomically) every `--save-every` steps so
`--resume` continues an interrupted or killed run where it stopped, evaluates on the validation split (never the
held-out one) and writes the checkpoint with the validation numbers in its meta. It uses a CUDA GPU when one is
available (`--device auto`) and needs none. `frankensplit --feature-loss mse --train-images sources` is the objective
and data of the retired training/distill.py that made the bundled frankensplit_lite0.pt (issue 21: one loop; its
equivalent command is in fsplit_mobile/data/default/README.md).
"""

from __future__ import annotations

import datetime
import functools
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import click
import torch

from .loop import SELECTIONS, TrainConfig, finish, run, seed_everything
from .losses import FEATURE_LOSSES
from .tasks import INPUT_PIXELS, FrankenSplitTask, LightTask, TrainingInputError, UnitTask
from .tasks import freeze_transform as freeze_transform_of


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _task(make):
    """Build a task, turning its input errors (caches, configs) into usage errors."""
    try:
        return make()
    except TrainingInputError as exc:
        raise click.UsageError(str(exc)) from exc


def _train(task, cfg: TrainConfig, pixels: int, out: Path, log) -> tuple[dict, dict, int]:
    """The loop, then tables and the deployed validation; returns (loop result, final validation, seconds)."""
    started = time.time()
    result = run(task, cfg, pixels, Path(str(out) + ".state"), log)
    aux, final = finish(task)
    log(f"# final (tables built, aux {aux:.4f}) validation: {json.dumps(final)}")
    return result, final, round(time.time() - started)


def _meta(command: str, cfg: TrainConfig, seconds: int, final: dict, result: dict, **extra) -> dict:
    return {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "objective": cfg.objective(),
        "steps": cfg.steps,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "seed": cfg.seed,
        "select": cfg.select,
        "selected_step": result["selected_step"],
        "train_seconds": seconds,
        "validation": final,
        "history": result["history"],
        **extra,
    }


def _log_to(path: Path):
    fh = open(path, "a", encoding="utf-8")

    def log(line: str) -> None:
        print(line, flush=True)
        fh.write(line + "\n")
        fh.flush()

    return log


def _header(log, out: Path, device) -> str:
    command = "python -m fsplit_mobile.training.train " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    log(f"# {command}")
    log(
        f"# {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')} torch {torch.__version__} "
        f"{platform.machine()} device {device} threads {torch.get_num_threads()}"
    )
    return command


def _start(out: str, threads: int, device: str):
    """(out path, torch device, log function, exact command) of a run, its log opened and headed."""
    torch.set_num_threads(threads)
    dev = pick_device(device)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    log = _log_to(path.with_suffix(path.suffix + ".log"))
    return path, dev, log, _header(log, path, dev)


# the loop's TrainConfig fields that are command-line options common to every command
_CONFIG_OPTIONS = (
    "steps",
    "batch_size",
    "lr",
    "lmbda",
    "mse_weight",
    "kd_weight",
    "deep_weight",
    "temperature",
    "seed",
    "density_lr_scale",
    "feature_loss",
    "resume",
    "val_every",
    "save_every",
    "select",
)


def _common(f):
    """The options every command shares; the command receives them as one TrainConfig (`cfg`, a bad value is a
    usage error naming it) beside `out`, `threads` and `device`."""

    @functools.wraps(f)
    def command(**kwargs):
        values = {k: kwargs.pop(k) for k in _CONFIG_OPTIONS}
        try:
            cfg = TrainConfig(**values)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        return f(cfg=cfg, **kwargs)

    for opt in reversed(
        [
            click.option("--out", type=click.Path(dir_okay=False), required=True, help="checkpoint to write"),
            click.option("--steps", type=int, default=4000, show_default=True),
            click.option("--batch-size", type=int, default=32, show_default=True),
            click.option("--lr", type=float, default=1e-3, show_default=True),
            click.option("--lmbda", type=float, default=1.0, show_default=True, help="rate weight (per bpp)"),
            click.option("--mse-weight", type=float, default=1.0, show_default=True),
            click.option(
                "--kd-weight",
                type=float,
                default=1.0,
                show_default=True,
                help="KL through the frozen tail (0: feature distillation only)",
            ),
            click.option(
                "--deep-weight",
                type=float,
                default=0.0,
                show_default=True,
                help="NMSE of the tail's deeper features (after 8, 11, 15 blocks and the conv head) against the teacher's",
            ),
            click.option("--temperature", type=float, default=1.0, show_default=True),
            click.option(
                "--feature-loss",
                type=click.Choice(FEATURE_LOSSES),
                default="nmse",
                show_default=True,
                help="the feature term: normalised by the teacher features' power (nmse) or plain (mse)",
            ),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option(
                "--density-lr-scale",
                type=float,
                default=10.0,
                show_default=True,
                help="learning-rate multiplier of the entropy model's density parameters",
            ),
            click.option("--threads", type=int, default=1, show_default=True),
            click.option("--device", default="auto", show_default=True, help="auto (CUDA if available), cpu, cuda"),
            click.option("--resume/--no-resume", default=True, show_default=True, help="continue from <out>.state"),
            click.option("--val-every", type=int, default=500, show_default=True),
            click.option(
                "--save-every", type=int, default=200, show_default=True, help="steps between resumable states"
            ),
            click.option(
                "--select",
                type=click.Choice(SELECTIONS),
                default="last",
                show_default=True,
                help="weights to keep: after the last step, or of the validation with the highest agreement",
            ),
        ]
    ):
        command = opt(command)
    return command


@click.group()
def main():
    """Train a split model (see the module docstring for the objective)."""


@main.command("bottleneck-unit")
@_common
@click.option("--split-block", type=int, default=15, show_default=True, help="teacher blocks run on the device")
@click.option("--latent-channels", type=int, default=32, show_default=True)
@click.option("--width", type=int, default=128, show_default=True)
@click.option("--stride", type=int, default=1, show_default=True)
@click.option(
    "--act",
    type=click.Choice(["gdn", "relu", "none"]),
    default="gdn",
    show_default=True,
    help="the unit's nonlinearity (none: a linear unit, one convolution each side)",
)
@click.option(
    "--init",
    type=click.Choice(["random", "pca"]),
    default="random",
    show_default=True,
    help="pca: start a linear per-pixel unit at the training features' principal components",
)
@click.option(
    "--pca-step",
    type=float,
    default=1.0,
    show_default=True,
    help="with --init pca: quantisation step in RMS standard deviations of the features (sets the rate)",
)
@click.option(
    "--kernel", type=click.Choice(["1", "3"]), default="3", show_default=True, help="3x3 or per-pixel (1x1) unit"
)
@click.option(
    "--feature-noise",
    type=float,
    default=0.0,
    show_default=True,
    help="training noise on the unit's input, in per-channel standard deviations (robustness to an int8 head)",
)
@click.option(
    "--freeze-transform/--train-transform",
    default=False,
    show_default=True,
    help="keep the unit's encoder/decoder as initialised (e.g. --init pca) and train only its entropy model",
)
@click.option("--name", default="r0", show_default=True, help="rate-point name of the unit")
@click.option("--train-cache", default=".cache/features/train.pt", show_default=True)
@click.option("--val-cache", default=".cache/features/val.pt", show_default=True)
def bottleneck_unit(
    out,
    cfg,
    threads,
    device,
    split_block,
    latent_channels,
    width,
    stride,
    act,
    kernel,
    feature_noise,
    init,
    pca_step,
    freeze_transform,
    name,
    train_cache,
    val_cache,
):
    """Train one bottleneck unit (one rate point) on cached teacher features."""
    from ..models import bottleneck_unit as bu
    from ..models.checkpoint import units as unit_io

    out, dev, log, command = _start(out, threads, device)
    unit_cfg = {
        "name": name,
        "latent_channels": latent_channels,
        "width": width,
        "stride": stride,
        "act": act,
        "kernel": int(kernel),
    }
    task = _task(lambda: UnitTask(split_block, unit_cfg, train_cache, val_cache, dev, feature_noise))
    log(
        f"# unit {unit_cfg} after block {split_block}; {task.train_f.shape[0]} training crops "
        f"{tuple(task.train_f.shape[1:])}, {task.val_f.shape[0]} validation crops"
    )
    init_info = None
    if init == "pca" and not (cfg.resume and Path(str(out) + ".state").exists()):
        init_info = _task(lambda: task.pca_init(pca_step))
        log(f"# pca init: {json.dumps(init_info)}; before training: {json.dumps(task.validate())}")
    if freeze_transform:
        freeze_transform_of(task)
        log("# transform frozen: only the entropy model is trained")
    result, final, seconds = _train(task, cfg, INPUT_PIXELS, out, log)
    meta = _meta(
        command,
        cfg,
        seconds,
        final,
        result,
        objective={**cfg.objective(), "feature_noise": feature_noise},
        init={"kind": init, "pca_step": pca_step, **(init_info or {})},
        transform_trained=not freeze_transform,
        data="train/val splits of fsplit_mobile/data/images (manifest.csv)",
    )
    config = bu.model_config(split_block, [unit_cfg])
    unit_io.save_units(out, config, [task.unit], meta)
    log(f"# wrote {out} ({out.stat().st_size} bytes)")


@main.command("combine")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@click.option("--name", "names", multiple=True, help="rate-point names, in order (default r0, r1, ...)")
@click.option("--default", "default_unit", default=None, help="the default rate point (default: the first)")
@click.option("--model-id", default=None, help="model id (default: bottleneck-unit-lite0-b<split>)")
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def combine(out, names, default_unit, model_id, checkpoints):
    """Put several checkpoints of one model into one file, one per rate point: the units of bottleneck-unit
    checkpoints (same split point) into one unit checkpoint, any other checkpoints of our format (e.g. the light
    encoder's rate points) into a rate-point set (models/checkpoint/point_set.py)."""
    from ..models import bottleneck_unit as bu
    from ..models.checkpoint import CheckpointError, read_checkpoint
    from ..models.checkpoint import point_set as sets
    from ..models.checkpoint import units as unit_io

    try:
        if read_checkpoint(checkpoints[0]).get("architecture") == bu.ARCHITECTURE:
            path = unit_io.combine_units(
                list(checkpoints), out, list(names) or None, model_id, default_unit=default_unit
            )
            count = len(unit_io.load_units(path, with_server=False))
        else:
            if model_id:
                raise click.BadParameter("a rate-point set keeps each checkpoint's model id", param_hint="--model-id")
            path = sets.combine_points(list(checkpoints), out, list(names) or None, default_unit)
            count = len(sets.points_of(read_checkpoint(path), "")[1])
    except CheckpointError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"wrote {path} with {count} rate points")


def _stages(text: str) -> list[list[int]]:
    try:
        stages = [[int(w) for w in part.split(",") if w.strip()] for part in text.split(";")]
    except ValueError:
        raise click.BadParameter(f"widths per stage as '64;96' or '64,64;96,96', got {text!r}") from None
    if len(stages) != 2:
        raise click.BadParameter(f"two stages (at 1/4 and 1/8 of the input), got {text!r}")
    return stages


def _image_caches(f):
    """The image-cache options of the light-encoder commands (training/features.py --images)."""
    f = click.option("--val-cache", default=".cache/features/val_images.pt", show_default=True)(f)
    return click.option(
        "--train-cache",
        multiple=True,
        default=[".cache/features/train_images.pt"],
        show_default=True,
        help="image caches to train on (repeat the option: their crops are one training set)",
    )(f)


def _train_light(task, cfg, out, log, command, header: str, train_cache, suffix: str = "", **meta) -> None:
    """Log the encoder's device compute, run the loop, write the checkpoint (a light-encoder task)."""
    from ..models.frankensplit_lite0 import save_checkpoint
    from ..models.macs import device_share

    dev = task.device
    share = device_share(task.modules["encoder"].to("cpu"), tuple(task.config["input_size"]))
    task.modules["encoder"].to(dev)
    log(
        f"# {header}; device {share['device_macs'] / 1e6:.1f} M MACs = {100 * share['share']:.1f} % of the "
        f"teacher; {task.train_x.shape[0]} training crops, {task.val_x.shape[0]} validation crops{suffix}"
    )
    result, final, seconds = _train(task, cfg, INPUT_PIXELS, out, log)
    meta = _meta(
        command,
        cfg,
        seconds,
        final,
        result,
        **meta,
        device_compute=share,
        data="train/val splits of fsplit_mobile/data/images (manifest.csv), cached crops",
        train_caches=list(train_cache),
    )
    save_checkpoint(out, task.encoder, task.bottleneck, task.decoder, task.config, meta)
    log(f"# wrote {out} ({out.stat().st_size} bytes)")


@main.command("light")
@_common
@click.option("--stem", type=click.Choice(["patch", "strided"]), default="patch", show_default=True)
@click.option("--stem-channels", type=int, default=32, show_default=True)
@click.option("--stages", default="64;96", show_default=True, help="block widths at 1/4 and 1/8 ('64,64;96')")
@click.option("--act", type=click.Choice(["relu", "gdn"]), default="relu", show_default=True)
@click.option(
    "--block",
    type=click.Choice(["separable", "dense"]),
    default="separable",
    show_default=True,
    help="depthwise-separable or full 3x3 convolution blocks",
)
@click.option("--latent-channels", type=int, default=48, show_default=True)
@click.option(
    "--teacher-blocks",
    type=click.IntRange(0, 3),
    default=0,
    show_default=True,
    help="start the device encoder with the teacher's pretrained, frozen stem + this many blocks (0: none)",
)
@click.option("--decoder-width", type=int, default=96, show_default=True)
@click.option("--decoder-blocks", type=int, default=2, show_default=True)
@click.option("--model-id", default="light-lite0", show_default=True)
@click.option(
    "--init-from",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="start from this checkpoint's weights and architecture (e.g. the feature-distillation run)",
)
@click.option(
    "--rescale",
    type=click.FloatRange(min=0.01, max=100.0),
    default=1.0,
    show_default=True,
    help="with --init-from: a new rate point of the same transform; the latent's quantisation step is multiplied "
    "by this (the encoder's last layer divided, the decoder's first multiplied); train with --freeze-transform",
)
@click.option(
    "--freeze-transform/--train-transform",
    default=False,
    show_default=True,
    help="train only the entropy model (a rate point from --rescale)",
)
@_image_caches
def light(
    out,
    cfg,
    threads,
    device,
    stem,
    stem_channels,
    stages,
    act,
    block,
    latent_channels,
    teacher_blocks,
    decoder_width,
    decoder_blocks,
    model_id,
    init_from,
    rescale,
    freeze_transform,
    train_cache,
    val_cache,
):
    """Head distillation of a lightweight encoder (issue 20) on cached crops: features first (--kd-weight 0),
    then through the frozen tail (--init-from the first run)."""
    from ..models.frankensplit_lite0 import DEFAULT_CONFIG

    out, dev, log, command = _start(out, threads, device)
    config = {
        **DEFAULT_CONFIG,
        "model_id": model_id,
        "latent_channels": latent_channels,
        "encoder": {
            "kind": "light",
            "stem": stem,
            "stem_channels": stem_channels,
            "stages": _stages(stages),
            "act": act,
            "block": block,
            "latent_channels": latent_channels,
            "teacher_blocks": teacher_blocks,
        },
        "decoder": {
            "in_channels": latent_channels,
            "out_channels": 40,
            "width": decoder_width,
            "blocks": decoder_blocks,
        },
    }
    if rescale != 1.0 and not init_from:
        raise click.BadParameter("needs --init-from (the trained transform to rescale)", param_hint="--rescale")
    task = _task(lambda: LightTask(config, list(train_cache), val_cache, dev, init_from))
    if rescale != 1.0 and not (cfg.resume and Path(str(out) + ".state").exists()):
        task.rescale(rescale)
    if freeze_transform:
        freeze_transform_of(task)
    _train_light(
        task,
        cfg,
        out,
        log,
        command,
        f"light encoder {json.dumps(task.config['encoder'])}, decoder {json.dumps(task.config['decoder'])}",
        train_cache,
        suffix=f"; from {init_from}" if init_from else "",
        init_from=init_from,
        rescale=rescale,
        transform_trained=not freeze_transform,
    )


@main.command("light-stem")
@_common
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="a trained light checkpoint whose encoder starts with the teacher's layers (--teacher-blocks)",
)
@click.option("--stem-channels", type=int, default=48, show_default=True, help="channels of the 4x4 patch stem")
@click.option("--model-id", default=None, help="model id of the result (default: the reference's)")
@_image_caches
def light_stem(out, cfg, threads, device, reference, stem_channels, model_id, train_cache, val_cache):
    """Replace a light model's teacher layers (they work at 112x112: a third of the network's int8 time) by a
    learned 4x4 patch stem + a separable block distilled to reproduce them; the rest of the model is kept. Only the
    feature term applies (--kd-weight 0 --lmbda 0); fine-tune the result with `light --init-from`."""
    from .tasks import StemTask

    if cfg.kd_weight or cfg.lmbda or cfg.deep_weight:
        raise click.UsageError(
            "light-stem trains the stem on the reference's features alone: give --kd-weight 0 --lmbda 0 "
            "(and no --deep-weight)"
        )
    out, dev, log, command = _start(out, threads, device)
    task = _task(lambda: StemTask(reference, stem_channels, list(train_cache), val_cache, dev))
    if model_id:
        task.config["model_id"] = model_id
    _train_light(
        task,
        cfg,
        out,
        log,
        command,
        f"light encoder {json.dumps(task.config['encoder'])}: front distilled from {reference}",
        train_cache,
        stem_from=reference,
    )


@main.command("frankensplit")
@_common
@click.option("--crop", type=int, default=128, show_default=True, help="training crop side (multiple of 32)")
@click.option(
    "--train-images",
    type=click.Choice(["photos", "sources"]),
    default="photos",
    show_default=True,
    help="the bundled training photos, or the package-shipped pictures the bundled frankensplit_lite0.pt was "
    "trained on (evaluation/images.py TRAIN_IMAGES)",
)
def frankensplit(
    out,
    cfg,
    threads,
    device,
    crop,
    train_images,
):
    """Train the FrankenSplit-style model (the bundled frankensplit-lite0's architecture) on the bundled training
    photos (or --train-images sources); its initial weights follow --seed."""
    from ..evaluation.images import TRAIN_IMAGES
    from ..models.frankensplit_lite0 import save_checkpoint

    if crop % 32:
        raise click.BadParameter(f"must be a multiple of 32, got {crop}", param_hint="--crop")
    out, dev, log, command = _start(out, threads, device)
    seed_everything(cfg.seed)
    task = FrankenSplitTask(crop, dev, sources=TRAIN_IMAGES if train_images == "sources" else None)
    result, final, seconds = _train(task, cfg, crop * crop, out, log)
    meta = _meta(
        command,
        cfg,
        seconds,
        final,
        result,
        crop=crop,
        train_images=train_images,
        # the names this model's checkpoints always had (read by training/report.py and the default-model docs)
        **{
            "lambda": cfg.lmbda,
            "kd_weight": cfg.kd_weight,
            "mse_weight": cfg.mse_weight,
            "temperature": cfg.temperature,
        },
    )
    save_checkpoint(out, task.encoder, task.bottleneck, task.decoder, task.config, meta)
    log(f"# wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
