"""One training entry point for the split models: bottleneck units and the FrankenSplit-style default model.

    python -m fsplit_mobile.training.train bottleneck-unit --split-block 15 --lmbda 0.5 --out runs/b15.pt
    python -m fsplit_mobile.training.train frankensplit --out runs/fs.pt

Both minimise  mse_weight * NMSE(features) + kd_weight * T^2 * KL(teacher || split logits at temperature T)
+ lmbda * bits per pixel, where the split logits come from the frozen teacher tail run on the reconstructed
features (distillation through the frozen tail), and the entropy bottleneck's quantiles are fitted by its
auxiliary loss (solved exactly at the end). A bottleneck unit reads cached teacher features
(training/features.py: augmented crops drawn once); the FrankenSplit encoder sees images, so its crops are drawn
on the fly from the bundled training photos.

Why one loop: the two differ only in what produces the features at the split; the loss, schedule, logging,
checkpointing and validation are shared. Every run writes `<out>.log` (the exact command first), keeps
`<out>.state` (weights, optimiser, step, RNG) every `--save-every` steps so `--resume` continues an interrupted
run where it stopped, evaluates on the validation split (never the held-out one) and writes the checkpoint with
the validation numbers in its meta. It uses a CUDA GPU when one is available (`--device auto`) and needs none.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn.functional as F

from .distill import fit_quantiles, lr_at, seed_everything

INPUT_PIXELS = 224 * 224


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def split_loss(
    f_hat,
    f,
    likelihoods,
    logits_t,
    tail,
    pixels: int,
    mse_weight: float,
    kd_weight: float,
    lmbda: float,
    temperature: float,
) -> tuple[torch.Tensor, dict]:
    """The shared objective; returns (loss, parts)."""
    nmse = ((f_hat - f) ** 2).mean() / (f**2).mean().clamp_min(1e-8)
    bpp = -torch.log2(likelihoods).sum() / pixels
    loss = mse_weight * nmse + lmbda * bpp
    kd = torch.zeros((), device=f.device)
    agree = torch.zeros((), device=f.device)
    if kd_weight:
        logits_s = tail(f_hat)
        t = temperature
        kd = (
            F.kl_div(
                F.log_softmax(logits_s / t, 1), F.log_softmax(logits_t / t, 1), log_target=True, reduction="batchmean"
            )
            * t
            * t
        )
        loss = loss + kd_weight * kd
        agree = (logits_s.argmax(1) == logits_t.argmax(1)).float().mean()
    parts = {"loss": loss, "nmse": nmse, "bpp": bpp, "kd": kd, "agree": agree}
    return loss, {k: float(v.detach()) for k, v in parts.items()}


class UnitTask:
    """Bottleneck unit on cached features (train and validation caches from training/features.py)."""

    def __init__(
        self, split_block: int, unit_cfg: dict, train_cache: str, val_cache: str, device, feature_noise: float = 0.0
    ):
        from ..models import bottleneck_unit as bu
        from ..models.teacher import TeacherTail, load_efficientnet_lite0

        self.split_block = split_block
        self.unit = bu.build_unit(split_block, unit_cfg)
        self.modules = self.unit.modules()
        self.tail = TeacherTail(load_efficientnet_lite0(), split_block).eval().to(device)
        for p in self.tail.parameters():
            p.requires_grad_(False)
        train = torch.load(train_cache, weights_only=True)
        val = torch.load(val_cache, weights_only=True)
        for name, cache in (("train", train), ("validation", val)):
            if split_block not in cache["features"]:
                raise click.UsageError(
                    f"{name} cache has no features after block {split_block} (has {sorted(cache['features'])})"
                )
        self.train_f, self.train_logits = train["features"][split_block], train["logits"]
        self.val_f, self.val_logits = val["features"][split_block], val["logits"]
        self.device = device
        self.bottleneck = self.unit.entropy_bottleneck
        # Feature noise (training only): the unit sees f + noise * per-channel std * N(0, 1) and must still
        # reproduce the clean f and the teacher's logits; this is what an int8 head's error looks like to it.
        self.feature_noise = float(feature_noise)
        pick = torch.randperm(self.train_f.shape[0], generator=torch.Generator().manual_seed(0))[:512]
        self.channel_std = self.train_f[pick].float().std(dim=(0, 2, 3)).reshape(1, -1, 1, 1).to(device)
        for m in self.modules.values():
            m.to(device)

    @torch.no_grad()
    def pca_init(self, step: float, max_crops: int = 2000) -> dict:
        """Start a linear per-pixel unit (kernel 1, act none) at the principal components of the training
        features: encoder = projection onto the top-L components divided by one quantisation step for all of
        them (`step` x the features' RMS standard deviation per channel: equal steps are what minimises the
        squared error at a given rate), decoder = the transpose times the step, plus the mean. With L = all the
        channels this is transform coding of the features (a rotation, then a uniform quantiser whose step sets the
        rate): no subspace is dropped, which is what generalises from ~100 training photos to unseen classes.
        Training then moves the transform from what reconstructs the features best to what the frozen tail
        needs. The principal components come from `max_crops` crops drawn at random (seeded) from the cache."""
        cfg = self.unit.config
        if cfg["kernel"] != 1 or cfg["act"] != "none":
            raise click.UsageError("--init pca needs a linear per-pixel unit (--kernel 1 --act none)")
        pick = torch.randperm(self.train_f.shape[0], generator=torch.Generator().manual_seed(0))[:max_crops]
        f = self.train_f[pick].float()
        x = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])
        mean = x.mean(0)
        cov = (x - mean).T @ (x - mean) / x.shape[0]
        evals, evecs = torch.linalg.eigh(cov.double())
        order = torch.argsort(evals, descending=True)
        k = cfg["latent_channels"]
        p = evecs[:, order[:k]].float()
        delta = float(step * (evals.clamp_min(0).sum() / evals.numel()).sqrt())
        enc, dec = self.unit.encoder.layers[0], self.unit.decoder.layers[0]
        enc.weight.copy_((p.T / delta).reshape(k, -1, 1, 1))
        enc.bias.copy_(-(mean @ p) / delta)
        dec.weight.copy_((p * delta).reshape(-1, k, 1, 1))
        dec.bias.copy_(mean)
        explained = float(evals[order[:k]].sum() / evals.sum())
        return {"step": delta, "explained_variance": explained, "pixels": x.shape[0]}

    def batch(self, rng: np.random.Generator, n: int):
        idx = torch.from_numpy(rng.integers(0, self.train_f.shape[0], n))
        # flips, crops and colour jitter were drawn when the cache was built
        return self.train_f[idx].float().to(self.device), self.train_logits[idx].to(self.device)

    def forward(self, f):
        if self.feature_noise and torch.is_grad_enabled():
            f = f + self.feature_noise * self.channel_std * torch.randn_like(f)
        y = self.unit.encoder(f)
        y_tilde, likelihoods = self.bottleneck(y)
        return self.unit.decoder(y_tilde), likelihoods

    @torch.no_grad()
    def validate(self) -> dict:
        """Hard-rounded symbols as deployed: agreement with the teacher and ideal bytes under the float model."""
        agree = bits = 0.0
        n = self.val_f.shape[0]
        for i in range(0, n, 64):
            f = self.val_f[i : i + 64].float().to(self.device)
            y = self.unit.encoder(f)
            sym = self.bottleneck.symbols(y)
            _, likelihoods = self.bottleneck(y, training=False)
            logits = self.tail(self.unit.decoder(self.bottleneck.dequantize(sym)))
            agree += float((logits.argmax(1).cpu() == self.val_logits[i : i + 64].argmax(1)).sum())
            bits += float(-torch.log2(likelihoods).sum())
        return {"val_agreement": agree / n, "val_bytes_estimated": bits / 8 / n, "val_crops": n}


class FrankenSplitTask:
    """FrankenSplit encoder + FeatureSynthesis decoder on images (split after block 5), crops drawn on the fly."""

    def __init__(self, crop: int, device):
        from ..models.default_model import DEFAULT_CONFIG, build_trainable
        from ..models.teacher import load_teacher
        from .data import CropSampler, bundled_images, load_rgb

        self.config = dict(DEFAULT_CONFIG)
        encoder, self.bottleneck, decoder = build_trainable(self.config)
        self.modules = {"encoder": encoder, "entropy_bottleneck": self.bottleneck, "decoder": decoder}
        _, self.head, self.tail = load_teacher()
        self.head.to(device), self.tail.to(device)
        self.sampler = CropSampler([load_rgb(p) for p in bundled_images("train")], crop)
        self.val_paths = bundled_images("val")
        self.device = device
        for m in self.modules.values():
            m.to(device)

    def batch(self, rng: np.random.Generator, n: int):
        from .data import normalize

        x = normalize(self.sampler.batch(rng, n)).to(self.device)
        with torch.no_grad():
            f = self.head(x)
            logits = self.tail(f)
        self._x = x
        return f, logits

    def forward(self, f):
        y = self.modules["encoder"](self._x)
        y_tilde, likelihoods = self.bottleneck(y)
        return self.modules["decoder"](y_tilde), likelihoods

    @torch.no_grad()
    def validate(self) -> dict:
        from .evaluate import evaluate_split

        m = evaluate_split(
            self.modules["encoder"],
            self.bottleneck,
            self.modules["decoder"],
            self.head,
            self.tail,
            images=self.val_paths,
            crops_per_image=8,
            use_coder=False,
        )
        for mod in self.modules.values():
            mod.train()
        return {
            "val_agreement": m["top1_agreement"],
            "val_bytes_estimated": m["bpp_estimated"] * INPUT_PIXELS / 8,
            "val_crops": m["crops"],
        }


class LightTask:
    """A lightweight image encoder + FeatureSynthesis decoder, distilled onto the teacher's features after block 5
    (issue 20). Reads image caches (training/features.py --images): the teacher's features and logits for every
    cached crop were computed once, so feature distillation (kd_weight 0) runs no teacher at all and distillation
    through the frozen tail runs the tail on the reconstruction only."""

    def __init__(self, config: dict, train_cache: str, val_cache: str, device, init_from: str | None = None):
        from ..models.default_model import build_trainable, load_trainable
        from ..models.teacher import TeacherTail, load_efficientnet_lite0

        if init_from:
            encoder, self.bottleneck, decoder, payload = load_trainable(init_from)
            self.config = payload["config"]
        else:
            self.config = config
            encoder, self.bottleneck, decoder = build_trainable(config)
        self.modules = {"encoder": encoder, "entropy_bottleneck": self.bottleneck, "decoder": decoder}
        split = int(self.config["split_block"])
        self.tail = TeacherTail(load_efficientnet_lite0(), split).eval().to(device)
        for p in self.tail.parameters():
            p.requires_grad_(False)
        caches = {}
        for name, path in (("train", train_cache), ("validation", val_cache)):
            cache = torch.load(path, weights_only=True)
            if "images" not in cache:
                raise click.UsageError(f"{name} cache {path} holds no images (build it with --images)")
            if split not in cache["features"]:
                raise click.UsageError(f"{name} cache {path} has no features after block {split}")
            caches[name] = cache
        self.train_x, self.train_f = caches["train"]["images"], caches["train"]["features"][split]
        self.train_logits = caches["train"]["logits"]
        self.val_x, self.val_logits = caches["validation"]["images"], caches["validation"]["logits"]
        mean = torch.tensor(self.config["mean"]).reshape(1, 3, 1, 1)
        std = torch.tensor(self.config["std"]).reshape(1, 3, 1, 1)
        self._norm = (mean.to(device), std.to(device))
        self.device = device
        self._x: torch.Tensor | None = None
        for m in self.modules.values():
            m.to(device)

    @torch.no_grad()
    def rescale(self, factor: float) -> None:
        """Quantisation step x factor for the same transform: y' = y / factor on the device (the last layer's
        weights and bias divided), y'' * factor on the server (the first layer's weights multiplied); with
        factor 1 nothing changes. The entropy model must then be retrained (--freeze-transform)."""
        last = self.modules["encoder"].layers[-1]
        last.weight.div_(factor)
        last.bias.div_(factor)
        first = self.modules["decoder"].stem[0]
        first.weight.mul_(factor)

    def _images(self, pixels: torch.Tensor) -> torch.Tensor:
        mean, std = self._norm
        return (pixels.to(self.device).float() / 255 - mean) / std

    def batch(self, rng: np.random.Generator, n: int):
        idx = torch.from_numpy(rng.integers(0, self.train_x.shape[0], n))
        self._x = self._images(self.train_x[idx])
        return self.train_f[idx].float().to(self.device), self.train_logits[idx].to(self.device)

    def forward(self, f):
        y = self.modules["encoder"](self._x)
        y_tilde, likelihoods = self.bottleneck(y)
        return self.modules["decoder"](y_tilde), likelihoods

    @torch.no_grad()
    def validate(self) -> dict:
        """Hard-rounded symbols as deployed: agreement with the teacher and ideal bytes under the float model."""
        agree = bits = 0.0
        n = self.val_x.shape[0]
        for i in range(0, n, 32):
            y = self.modules["encoder"](self._images(self.val_x[i : i + 32]))
            sym = self.bottleneck.symbols(y)
            _, likelihoods = self.bottleneck(y, training=False)
            logits = self.tail(self.modules["decoder"](self.bottleneck.dequantize(sym)))
            agree += float((logits.argmax(1).cpu() == self.val_logits[i : i + 32].argmax(1)).sum())
            bits += float(-torch.log2(likelihoods).sum())
        return {"val_agreement": agree / n, "val_bytes_estimated": bits / 8 / n, "val_crops": n}


def _state(task, opt, aux_opt, step: int, rng: np.random.Generator, history: list, best: dict) -> dict:
    return {
        "step": step,
        "modules": {k: m.state_dict() for k, m in task.modules.items()},
        "opt": opt.state_dict(),
        "aux_opt": aux_opt.state_dict(),
        "rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "history": history,
        "best": best,
    }


def _save_atomic(state: dict, path: Path) -> None:
    """Write the resumable state so that a kill at any instant leaves either the previous file or the new one (a
    SIGKILL during torch.save would otherwise leave a truncated state that --resume cannot read)."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def run(
    task,
    steps: int,
    batch_size: int,
    lr: float,
    lmbda: float,
    mse_weight: float,
    kd_weight: float,
    temperature: float,
    pixels_per_sample: int,
    state_path: Path,
    resume: bool,
    log,
    save_every: int = 200,
    val_every: int = 500,
    log_every: int = 50,
    density_lr_scale: float = 10.0,
    seed: int = 0,
) -> dict:
    """The training loop; returns the final state dict (history and validation records included)."""
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    bottleneck = task.bottleneck
    density = [p for n, p in bottleneck.named_parameters() if n != "quantiles"]
    net = [p for k, m in task.modules.items() if k != "entropy_bottleneck" for p in m.parameters() if p.requires_grad]
    groups = [{"params": density, "scale": density_lr_scale}]
    if net:  # empty when the transform is frozen (--freeze-transform): only the entropy model learns
        groups.insert(0, {"params": net, "scale": 1.0})
    opt = torch.optim.Adam(groups, lr=lr)
    aux_opt = torch.optim.Adam([bottleneck.quantiles], lr=1e-3)
    start, history, best = 0, [], {}
    if resume and state_path.exists():
        state = torch.load(state_path, weights_only=False)
        for k, m in task.modules.items():
            m.load_state_dict(state["modules"][k])
        opt.load_state_dict(state["opt"])
        aux_opt.load_state_dict(state["aux_opt"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start, history, best = state["step"], state["history"], state["best"]
        log(f"# resumed from {state_path} at step {start}")
    for m in task.modules.values():
        m.train()
    started, window = time.time(), []
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps, lr) * group["scale"]
        f, logits_t = task.batch(rng, batch_size)
        f_hat, likelihoods = task.forward(f)
        loss, parts = split_loss(
            f_hat,
            f,
            likelihoods,
            logits_t,
            task.tail,
            pixels_per_sample * f.shape[0],
            mse_weight,
            kd_weight,
            lmbda,
            temperature,
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net + density, 5.0)
        opt.step()
        aux = bottleneck.loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        window.append(parts)
        done = step + 1
        if done % log_every == 0 or done == steps:
            mean = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
            rate = (done - start) / max(1e-6, time.time() - started)
            eta = (steps - done) / max(rate, 1e-9)
            log(
                f"step {done}/{steps} loss {mean['loss']:.4f} nmse {mean['nmse']:.4f} kd {mean['kd']:.4f} "
                f"bpp {mean['bpp']:.5f} (~{mean['bpp'] * INPUT_PIXELS / 8:.0f} B) train-agree {mean['agree']:.3f} "
                f"lr {opt.param_groups[0]['lr']:.2e} | {rate:.1f} steps/s, eta {eta / 60:.1f} min"
            )
            history.append({"step": done, **mean})
            window = []
        if done % val_every == 0 or done == steps:
            for m in task.modules.values():
                m.eval()
            v = task.validate()
            for m in task.modules.values():
                m.train()
            history.append({"step": done, **v})
            log(
                f"  validation at {done}: agreement {v['val_agreement']:.3f}, ~{v['val_bytes_estimated']:.0f} B "
                f"per 224x224 crop ({v['val_crops']} crops)"
            )
            best = v
        if done % save_every == 0 or done == steps:
            _save_atomic(_state(task, opt, aux_opt, done, rng, history, best), state_path)
    return {"history": history, "validation": best}


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


def _common(f):
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
            click.option("--temperature", type=float, default=1.0, show_default=True),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option("--threads", type=int, default=1, show_default=True),
            click.option("--device", default="auto", show_default=True, help="auto (CUDA if available), cpu, cuda"),
            click.option("--resume/--no-resume", default=True, show_default=True, help="continue from <out>.state"),
            click.option("--val-every", type=int, default=500, show_default=True),
            click.option(
                "--save-every", type=int, default=200, show_default=True, help="steps between resumable states"
            ),
        ]
    ):
        f = opt(f)
    return f


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
    steps,
    batch_size,
    lr,
    lmbda,
    mse_weight,
    kd_weight,
    temperature,
    seed,
    threads,
    device,
    resume,
    val_every,
    save_every,
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
    cfg = {
        "name": name,
        "latent_channels": latent_channels,
        "width": width,
        "stride": stride,
        "act": act,
        "kernel": int(kernel),
    }
    task = UnitTask(split_block, cfg, train_cache, val_cache, dev, feature_noise)
    log(
        f"# unit {cfg} after block {split_block}; {task.train_f.shape[0]} training crops "
        f"{tuple(task.train_f.shape[1:])}, {task.val_f.shape[0]} validation crops"
    )
    init_info = None
    if init == "pca" and not (resume and Path(str(out) + ".state").exists()):
        init_info = task.pca_init(pca_step)
        log(f"# pca init: {json.dumps(init_info)}; before training: {json.dumps(task.validate())}")
    if freeze_transform:
        for part in ("encoder", "decoder"):
            for p in task.modules[part].parameters():
                p.requires_grad_(False)
        log("# transform frozen: only the entropy model is trained")
    started = time.time()
    result = run(
        task,
        steps,
        batch_size,
        lr,
        lmbda,
        mse_weight,
        kd_weight,
        temperature,
        INPUT_PIXELS,
        Path(str(out) + ".state"),
        resume,
        log,
        val_every=val_every,
        save_every=save_every,
        seed=seed,
    )
    for m in task.modules.values():
        m.to("cpu").eval()
    aux = fit_quantiles(task.bottleneck)
    task.bottleneck.update(force=True)
    task.tail.to("cpu")
    task.device = torch.device("cpu")
    final = task.validate()
    log(f"# final (tables built, aux {aux:.4f}) validation: {json.dumps(final)}")
    meta = {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "objective": {
            "lmbda": lmbda,
            "mse_weight": mse_weight,
            "kd_weight": kd_weight,
            "temperature": temperature,
            "feature_noise": feature_noise,
        },
        "init": {"kind": init, "pca_step": pca_step, **(init_info or {})},
        "transform_trained": not freeze_transform,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "train_seconds": round(time.time() - started),
        "validation": final,
        "history": result["history"],
        "data": "train/val splits of fsplit_mobile/data/images (manifest.csv)",
    }
    config = bu.model_config(split_block, [cfg])
    unit_io.save_units(out, config, [task.unit], meta)
    log(f"# wrote {out} ({out.stat().st_size} bytes)")


@main.command("combine")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@click.option("--name", "names", multiple=True, help="rate-point names, in order (default r0, r1, ...)")
@click.option("--default", "default_unit", default=None, help="the default rate point (default: the first)")
@click.option("--model-id", default=None, help="model id (default: bottleneck-unit-lite0-b<split>)")
@click.argument("checkpoints", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def combine(out, names, default_unit, model_id, checkpoints):
    """Put the units of several bottleneck-unit checkpoints (same split point) into one, one per rate point."""
    from ..models.checkpoint import units as unit_io

    path = unit_io.combine_units(list(checkpoints), out, list(names) or None, model_id, default_unit=default_unit)
    click.echo(f"wrote {path} with {len(unit_io.load_units(path, with_server=False))} rate points")


def _stages(text: str) -> list[list[int]]:
    try:
        stages = [[int(w) for w in part.split(",") if w.strip()] for part in text.split(";")]
    except ValueError:
        raise click.BadParameter(f"widths per stage as '64;96' or '64,64;96,96', got {text!r}") from None
    if len(stages) != 2:
        raise click.BadParameter(f"two stages (at 1/4 and 1/8 of the input), got {text!r}")
    return stages


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
@click.option("--train-cache", default=".cache/features/train_images.pt", show_default=True)
@click.option("--val-cache", default=".cache/features/val_images.pt", show_default=True)
def light(
    out,
    steps,
    batch_size,
    lr,
    lmbda,
    mse_weight,
    kd_weight,
    temperature,
    seed,
    threads,
    device,
    resume,
    val_every,
    save_every,
    stem,
    stem_channels,
    stages,
    act,
    block,
    latent_channels,
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
    from ..models.default_model import DEFAULT_CONFIG, save_checkpoint
    from ..models.macs import device_share

    out, dev, log, command = _start(out, threads, device)
    config = {
        **DEFAULT_CONFIG,
        "model_id": model_id,
        "latent_channels": latent_channels,
        "encoder_channels": [latent_channels] * 3,
        "encoder": {
            "kind": "light",
            "stem": stem,
            "stem_channels": stem_channels,
            "stages": _stages(stages),
            "act": act,
            "block": block,
            "latent_channels": latent_channels,
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
    task = LightTask(config, train_cache, val_cache, dev, init_from)
    if rescale != 1.0 and not (resume and Path(str(out) + ".state").exists()):
        task.rescale(rescale)
    if freeze_transform:
        for part in ("encoder", "decoder"):
            for p in task.modules[part].parameters():
                p.requires_grad_(False)
    share = device_share(task.modules["encoder"].to("cpu"), tuple(task.config["input_size"]))
    task.modules["encoder"].to(dev)
    log(
        f"# light encoder {json.dumps(task.config['encoder'])}, decoder {json.dumps(task.config['decoder'])}; "
        f"device {share['device_macs'] / 1e6:.1f} M MACs = {100 * share['share']:.1f} % of the teacher; "
        f"{task.train_x.shape[0]} training crops, {task.val_x.shape[0]} validation crops"
        + (f"; from {init_from}" if init_from else "")
    )
    started = time.time()
    result = run(
        task,
        steps,
        batch_size,
        lr,
        lmbda,
        mse_weight,
        kd_weight,
        temperature,
        INPUT_PIXELS,
        Path(str(out) + ".state"),
        resume,
        log,
        val_every=val_every,
        save_every=save_every,
        seed=seed,
    )
    for m in task.modules.values():
        m.to("cpu").eval()
    task.tail.to("cpu")
    task.device = torch.device("cpu")
    task._norm = tuple(t.cpu() for t in task._norm)
    aux = fit_quantiles(task.bottleneck)
    task.bottleneck.update(force=True)
    final = task.validate()
    log(f"# final (tables built, aux {aux:.4f}) validation: {json.dumps(final)}")
    meta = {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "init_from": init_from,
        "rescale": rescale,
        "transform_trained": not freeze_transform,
        "objective": {"lmbda": lmbda, "mse_weight": mse_weight, "kd_weight": kd_weight, "temperature": temperature},
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "device_compute": share,
        "train_seconds": round(time.time() - started),
        "validation": final,
        "history": result["history"],
        "data": "train/val splits of fsplit_mobile/data/images (manifest.csv), cached crops",
    }
    save_checkpoint(out, task.modules["encoder"], task.bottleneck, task.modules["decoder"], task.config, meta)
    log(f"# wrote {out} ({out.stat().st_size} bytes)")


@main.command("frankensplit")
@_common
@click.option("--crop", type=int, default=128, show_default=True, help="training crop side (multiple of 32)")
def frankensplit(
    out,
    steps,
    batch_size,
    lr,
    lmbda,
    mse_weight,
    kd_weight,
    temperature,
    seed,
    threads,
    device,
    resume,
    val_every,
    save_every,
    crop,
):
    """Train the FrankenSplit-style model (the bundled default's architecture) on the bundled training photos."""
    from ..models.default_model import save_checkpoint

    if crop % 32:
        raise click.BadParameter(f"must be a multiple of 32, got {crop}", param_hint="--crop")
    out, dev, log, command = _start(out, threads, device)
    task = FrankenSplitTask(crop, dev)
    started = time.time()
    result = run(
        task,
        steps,
        batch_size,
        lr,
        lmbda,
        mse_weight,
        kd_weight,
        temperature,
        crop * crop,
        Path(str(out) + ".state"),
        resume,
        log,
        val_every=val_every,
        save_every=save_every,
        seed=seed,
    )
    for m in task.modules.values():
        m.to("cpu").eval()
    task.head.to("cpu"), task.tail.to("cpu")
    aux = fit_quantiles(task.bottleneck)
    task.bottleneck.update(force=True)
    final = task.validate()
    log(f"# final (tables built, aux {aux:.4f}) validation: {json.dumps(final)}")
    meta = {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "crop": crop,
        "lambda": lmbda,
        "lr": lr,
        "kd_weight": kd_weight,
        "mse_weight": mse_weight,
        "temperature": temperature,
        "train_seconds": round(time.time() - started),
        "validation": final,
        "history": result["history"],
    }
    save_checkpoint(out, task.modules["encoder"], task.bottleneck, task.modules["decoder"], task.config, meta)
    log(f"# wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
