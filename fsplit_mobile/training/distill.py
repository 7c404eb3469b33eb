"""Head distillation of the bundled default model (FrankenSplit encoder + decoder against EfficientNet-Lite0).

loss = MSE(decoder(y_tilde), teacher_head(x)) + lambda * bpp(likelihoods) [+ kd_weight * KL(teacher || split) of
the class distributions through the frozen teacher tail], with y_tilde = y + U(-0.5, 0.5);
the entropy bottleneck's quantiles are fitted by its auxiliary loss with a separate optimizer. Crops are drawn on
the fly from package-shipped photographs (evaluation/images.py); teacher features are computed per crop.

    python -m fsplit_mobile.training.distill --out fsplit_mobile/data/default/frankensplit_lite0.pt
"""

from __future__ import annotations

import datetime
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import click
import numpy as np
import torch

from ..evaluation.evaluate import evaluate_split
from ..evaluation.images import EVAL_IMAGES, TRAIN_IMAGES, normalize, training_sampler
from ..models.frankensplit_lite0 import DEFAULT_CONFIG, build_trainable, save_checkpoint
from ..models.teacher import load_teacher
from .loop import fit_quantiles, lr_at, seed_everything  # shared with the one loop (training/loop.py)


def train(
    steps: int,
    batch_size: int,
    crop: int,
    lmbda: float,
    lr: float,
    seed: int,
    log,
    log_every: int = 10,
    config: dict | None = None,
    images=TRAIN_IMAGES,
    density_lr_scale: float = 10.0,
    kd_weight: float = 0.0,
):
    """Train from scratch; returns (encoder, bottleneck, decoder, head, tail, history)."""
    seed_everything(seed)
    config = dict(DEFAULT_CONFIG if config is None else config)
    _, head, tail = load_teacher()
    encoder, bottleneck, decoder = build_trainable(config)
    sampler = training_sampler(crop, images)
    rng = np.random.default_rng(seed)
    density_params = [p for n, p in bottleneck.named_parameters() if n != "quantiles"]
    net_params = list(encoder.parameters()) + list(decoder.parameters())
    main_params = net_params + density_params
    # The factorized density starts far too wide for a short run: it learns at density_lr_scale x the rate.
    opt = torch.optim.Adam(
        [{"params": net_params, "scale": 1.0}, {"params": density_params, "scale": density_lr_scale}], lr=lr
    )
    aux_opt = torch.optim.Adam([bottleneck.quantiles], lr=1e-3)
    encoder.train(), bottleneck.train(), decoder.train()
    history = []
    started = time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr) * group["scale"]
        x = normalize(sampler.batch(rng, batch_size))
        with torch.no_grad():
            target = head(x)
        y = encoder(x)
        y_tilde, likelihoods = bottleneck(y)
        features = decoder(y_tilde)
        mse = torch.mean((features - target) ** 2)
        bpp = -torch.log2(likelihoods).sum() / (x.shape[0] * x.shape[2] * x.shape[3])
        loss = mse + lmbda * bpp
        kd = torch.zeros(())
        if kd_weight:
            # output distillation through the frozen tail: KL(teacher || split) of the class distributions
            with torch.no_grad():
                teacher_logp = torch.log_softmax(tail(target), dim=1)
            split_logp = torch.log_softmax(tail(features), dim=1)
            kd = torch.sum(teacher_logp.exp() * (teacher_logp - split_logp), dim=1).mean()
            loss = loss + kd_weight * kd
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, 5.0)
        opt.step()
        aux = bottleneck.loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        record = {
            "step": step + 1,
            "loss": loss.item(),
            "mse": mse.item(),
            "bpp": bpp.item(),
            "aux": aux.item(),
            "kd": kd.item(),
            "target_power": float(torch.mean(target**2)),
            "seconds": round(time.time() - started, 1),
        }
        history.append(record)
        if (step + 1) % log_every == 0 or step == 0 or step + 1 == steps:
            window = history[-log_every:]
            log(
                f"step {step + 1}/{steps} loss {np.mean([r['loss'] for r in window]):.3f} "
                f"mse {np.mean([r['mse'] for r in window]):.3f} bpp {np.mean([r['bpp'] for r in window]):.4f} "
                f"kd {np.mean([r['kd'] for r in window]):.3f} aux {record['aux']:.2f} lr {opt.param_groups[0]['lr']:.2e} t {record['seconds']:.0f}s"
            )
    return encoder.eval(), bottleneck.eval(), decoder.eval(), head, tail, history


@click.command()
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="checkpoint file to write")
@click.option("--steps", type=int, default=1000, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--crop", type=int, default=128, show_default=True, help="training crop side (multiple of 32)")
@click.option("--lmbda", type=float, default=2.0, show_default=True, help="rate weight: loss = mse + lmbda*bpp")
@click.option("--lr", type=float, default=1.5e-3, show_default=True)
@click.option(
    "--density-lr-scale",
    type=float,
    default=10.0,
    show_default=True,
    help="learning-rate multiplier of the entropy model's density parameters",
)
@click.option(
    "--kd-weight",
    type=float,
    default=0.0,
    show_default=True,
    help="weight of KL(teacher logits || split logits) through the frozen tail (0: head distillation only)",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--threads",
    type=int,
    default=1,
    show_default=True,
    help="torch threads (1 is much faster than 2 on a shared 2-core machine)",
)
@click.option("--eval-crops", type=int, default=32, show_default=True, help="crops per held-out image")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None, help="training log file")
def main(out, steps, batch_size, crop, lmbda, lr, density_lr_scale, kd_weight, seed, threads, eval_crops, log_path):
    """Train the default model by head distillation and write an fsplit-checkpoint/1 file."""
    if crop % 32:
        raise click.BadParameter(f"must be a multiple of 32, got {crop}", param_hint="--crop")
    torch.set_num_threads(threads)
    log_file = open(log_path, "w", encoding="utf-8") if log_path else None
    command = "python -m fsplit_mobile.training.distill " + " ".join(shlex.quote(a) for a in sys.argv[1:])

    def log(line: str) -> None:
        print(line, flush=True)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()

    log(f"# {command}")
    log(f"# torch {torch.__version__}, {platform.machine()}, {threads} threads, seed {seed}")
    log(f"# train images: {', '.join(TRAIN_IMAGES)}")
    log(f"# held-out images: {', '.join(EVAL_IMAGES)}")
    started = time.time()
    encoder, bottleneck, decoder, head, tail, history = train(
        steps, batch_size, crop, lmbda, lr, seed, log, density_lr_scale=density_lr_scale, kd_weight=kd_weight
    )
    aux = fit_quantiles(bottleneck)
    bottleneck.update(force=True)
    train_seconds = time.time() - started
    log(f"# training took {train_seconds:.0f}s; final aux loss {aux:.4f}")
    metrics = evaluate_split(encoder, bottleneck, decoder, head, tail, crops_per_image=eval_crops, seed=seed)
    log("# held-out metrics: " + json.dumps({k: v for k, v in metrics.items() if k != "per_image"}))
    log("# per image: " + json.dumps(metrics["per_image"]))
    meta = {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "crop": crop,
        "lambda": lmbda,
        "lr": lr,
        "density_lr_scale": density_lr_scale,
        "kd_weight": kd_weight,
        "threads": threads,
        "torch": str(torch.__version__),
        "train_seconds": round(train_seconds),
        "train_images": list(TRAIN_IMAGES),
        "eval_images": list(EVAL_IMAGES),
        "loss": "mse(decoder(y_tilde), teacher_head(x)) + lambda * bpp + kd_weight * KL(teacher || split logits)",
        "final_train": {k: float(np.mean([r[k] for r in history[-20:]])) for k in ("mse", "bpp", "loss")},
        "metrics": metrics,
    }
    save_checkpoint(out, encoder, bottleneck, decoder, dict(DEFAULT_CONFIG), meta)
    log(f"# wrote {out} ({Path(out).stat().st_size} bytes)")
    if log_file:
        log_file.close()


if __name__ == "__main__":
    main()
