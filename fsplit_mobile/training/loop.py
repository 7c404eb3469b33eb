"""The one training loop of the split models (bottleneck units, FrankenSplit, the lightweight encoder).

Adam on the transform (and the entropy model's density at `density_lr_scale` x the rate), warm-up + cosine
schedule, gradient clipping, the entropy bottleneck's quantiles by their auxiliary loss; progress every
`log_every` steps, validation every `val_every`, and a resumable state (weights, optimisers, step, RNG) written
atomically every `save_every` steps, so a run killed at any instant (SIGKILL included) continues where its last
state left it. :func:`finish` builds the tables and validates as deployed.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .losses import FEATURE_LOSSES, split_loss
from .tasks import INPUT_PIXELS


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def fit_quantiles(bottleneck, iterations: int = 100) -> float:
    """Set `quantiles` to the exact minimiser of the auxiliary loss, by bisection; returns the final aux loss.

    The cumulative logits are strictly increasing in their input, so each (channel, target) pair has one root.
    This replaces thousands of aux-optimizer steps at the end of a short training run.
    """
    q = bottleneck.quantiles
    target = bottleneck.target.reshape(1, 1, 3).expand_as(q)
    low = torch.full_like(q, -1.0)
    high = torch.full_like(q, 1.0)
    for _ in range(64):  # widen the brackets until they hold the roots
        f_low = bottleneck._logits_cumulative(low, stop_gradient=True)
        f_high = bottleneck._logits_cumulative(high, stop_gradient=True)
        if bool((f_low <= target).all() and (f_high >= target).all()):
            break
        low = torch.where(f_low > target, low * 2, low)
        high = torch.where(f_high < target, high * 2, high)
    for _ in range(iterations):
        mid = (low + high) / 2
        above = bottleneck._logits_cumulative(mid, stop_gradient=True) > target
        high = torch.where(above, mid, high)
        low = torch.where(above, low, mid)
    q.copy_((low + high) / 2)
    return float(bottleneck.loss())


def lr_at(step: int, steps: int, base: float, warmup: int = 20, floor: float = 0.05) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


SELECTIONS = ("last", "agreement")


@dataclass(frozen=True)
class TrainConfig:
    """Schedule and objective of one run (the CLI's common options)."""

    steps: int = 4000
    batch_size: int = 32
    lr: float = 1e-3
    lmbda: float = 1.0
    mse_weight: float = 1.0
    kd_weight: float = 1.0
    deep_weight: float = 0.0  # NMSE of the tail's deeper features (losses.DEEP_LEVELS); 0: off
    temperature: float = 1.0
    seed: int = 0
    resume: bool = True
    val_every: int = 500
    save_every: int = 200
    log_every: int = 50
    density_lr_scale: float = 10.0
    # the feature term: "nmse" (normalised by the features' power) or "mse" (plain, the retired distill.py's)
    feature_loss: str = "nmse"
    # "last": the weights after the last step; "agreement": the weights of the validation with the highest teacher
    # agreement (model selection on the validation split, never the held-out one)
    select: str = "last"

    def __post_init__(self):
        if self.select not in SELECTIONS:
            raise ValueError(f"select must be one of {', '.join(SELECTIONS)}, got {self.select!r}")
        if self.feature_loss not in FEATURE_LOSSES:
            raise ValueError(f"feature_loss must be one of {', '.join(FEATURE_LOSSES)}, got {self.feature_loss!r}")
        for name in ("steps", "batch_size", "val_every", "save_every", "log_every"):
            value = getattr(self, name)
            if value < (0 if name == "steps" else 1):
                raise ValueError(f"{name} must be {'>= 0' if name == 'steps' else '>= 1'}, got {value}")

    def objective(self) -> dict:
        return {
            k: v
            for k, v in asdict(self).items()
            if k in ("lmbda", "mse_weight", "kd_weight", "deep_weight", "temperature", "feature_loss")
        }


def _state(task, opt, aux_opt, step: int, rng, history: list, best: dict, chosen: dict | None) -> dict:
    return {
        "chosen": chosen,
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


def run(task, cfg: TrainConfig, pixels_per_sample: int, state_path: Path, log) -> dict:
    """The training loop; returns {"history", "validation"} (the last validation record)."""
    steps, batch_size, lr, seed = cfg.steps, cfg.batch_size, cfg.lr, cfg.seed
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    bottleneck = task.bottleneck
    density = [p for n, p in bottleneck.named_parameters() if n != "quantiles"]
    net = [p for k, m in task.modules.items() if k != "entropy_bottleneck" for p in m.parameters() if p.requires_grad]
    groups = [{"params": density, "scale": cfg.density_lr_scale}]
    if net:  # empty when the transform is frozen (--freeze-transform): only the entropy model learns
        groups.insert(0, {"params": net, "scale": 1.0})
    opt = torch.optim.Adam(groups, lr=lr)
    aux_opt = torch.optim.Adam([bottleneck.quantiles], lr=1e-3)
    start, history, best = 0, [], {}
    chosen: dict | None = None  # with select="agreement": {"step", "validation", "modules"} of the best validation
    if cfg.resume and state_path.exists():
        state = torch.load(state_path, weights_only=False)
        for k, m in task.modules.items():
            m.load_state_dict(state["modules"][k])
        opt.load_state_dict(state["opt"])
        aux_opt.load_state_dict(state["aux_opt"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start, history, best = state["step"], state["history"], state["best"]
        chosen = state.get("chosen")
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
            cfg.mse_weight,
            cfg.kd_weight,
            cfg.lmbda,
            cfg.temperature,
            cfg.deep_weight,
            cfg.feature_loss,
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
        if done % cfg.log_every == 0 or done == steps:
            mean = {k: float(np.mean([w[k] for w in window])) for k in window[0]}
            rate = (done - start) / max(1e-6, time.time() - started)
            eta = (steps - done) / max(rate, 1e-9)
            log(
                f"step {done}/{steps} loss {mean['loss']:.4f} nmse {mean['nmse']:.4f} kd {mean['kd']:.4f} "
                + (f"deep {mean['deep']:.4f} " if cfg.deep_weight else "")
                + f"bpp {mean['bpp']:.5f} (~{mean['bpp'] * INPUT_PIXELS / 8:.0f} B) train-agree {mean['agree']:.3f} "
                f"lr {opt.param_groups[0]['lr']:.2e} | {rate:.1f} steps/s, eta {eta / 60:.1f} min"
            )
            history.append({"step": done, **mean})
            window = []
        if done % cfg.val_every == 0 or done == steps:
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
            if cfg.select == "agreement" and (
                chosen is None or v["val_agreement"] > chosen["validation"]["val_agreement"]
            ):
                modules = {
                    k: {n: t.detach().clone() for n, t in m.state_dict().items()} for k, m in task.modules.items()
                }
                chosen = {"step": done, "validation": v, "modules": modules}
        if done % cfg.save_every == 0 or done == steps:
            _save_atomic(_state(task, opt, aux_opt, done, rng, history, best, chosen), state_path)
    if chosen is not None:
        for k, m in task.modules.items():
            m.load_state_dict(chosen["modules"][k])
        best = chosen["validation"]
        log(
            f"# selected the weights of step {chosen['step']} (highest validation agreement {best['val_agreement']:.3f})"
        )
    return {"history": history, "validation": best, "selected_step": chosen["step"] if chosen else steps}


def finish(task) -> tuple[float, dict]:
    """After the loop: everything to the CPU in eval mode, quantiles solved exactly, CDF tables built, then the
    validation as deployed (hard-rounded symbols). Returns (aux loss, validation)."""
    for m in task.modules.values():
        m.to("cpu").eval()
    for name in ("tail", "head"):
        part = getattr(task, name, None)
        if part is not None:
            part.to("cpu")
    task.device = torch.device("cpu")
    if hasattr(task, "to_cpu"):
        task.to_cpu()
    aux = fit_quantiles(task.bottleneck)
    task.bottleneck.update(force=True)
    return aux, task.validate()


__all__ = ["INPUT_PIXELS", "TrainConfig", "finish", "fit_quantiles", "lr_at", "run", "seed_everything"]
