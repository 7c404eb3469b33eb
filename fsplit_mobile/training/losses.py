"""The objective shared by every split-model training task.

    mse_weight * NMSE(features) + kd_weight * T^2 * KL(teacher || split logits at temperature T)
        + deep_weight * mean NMSE(the tail's deeper features) + lmbda * bpp

NMSE is the squared error of the reconstructed features at the split, normalised by the features' power (with
`feature_loss="mse"`: the plain mean squared error, unnormalised, as the first FrankenSplit model was trained); the
split logits come from the frozen teacher tail run on the reconstruction (distillation through the frozen tail).
The deeper term compares the tail's own features on the reconstruction with the same tail's on the teacher's
features (after 8, 11 and 15 blocks and the conv head: `DEEP_LEVELS`): thousands of targets per crop where the
logits give one distribution, so a small training set is matched on more than its classes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEEP_LEVELS = (8, 11, 15, 17)  # features after that many of EfficientNet-Lite0's 16 blocks; 17: the conv head
FEATURE_LOSSES = ("nmse", "mse")  # the feature term: normalised by the features' power, or plain


def _nmse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).mean() / (b**2).mean().clamp_min(1e-8)


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
    deep_weight: float = 0.0,
    feature_loss: str = "nmse",
) -> tuple[torch.Tensor, dict]:
    """The shared objective; returns (loss, parts). `feature_loss` picks the feature term weighted by
    `mse_weight` (parts keep both: "nmse" and "mse")."""
    if feature_loss not in FEATURE_LOSSES:
        raise ValueError(f"feature_loss must be one of {', '.join(FEATURE_LOSSES)}, got {feature_loss!r}")
    mse = ((f_hat - f) ** 2).mean()
    nmse = mse / (f**2).mean().clamp_min(1e-8)
    bpp = -torch.log2(likelihoods).sum() / pixels
    loss = mse_weight * (nmse if feature_loss == "nmse" else mse) + lmbda * bpp
    kd = torch.zeros((), device=f.device)
    agree = torch.zeros((), device=f.device)
    deep = torch.zeros((), device=f.device)
    logits_s = None
    if deep_weight:
        with torch.no_grad():
            _, targets = tail.with_levels(f, DEEP_LEVELS)
        logits_s, levels = tail.with_levels(f_hat, DEEP_LEVELS)
        deep = torch.stack([_nmse(a, b) for a, b in zip(levels, targets)]).mean()
        loss = loss + deep_weight * deep
    if kd_weight:
        if logits_s is None:
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
    parts = {"loss": loss, "nmse": nmse, "mse": mse, "bpp": bpp, "kd": kd, "deep": deep, "agree": agree}
    return loss, {k: float(v.detach()) for k, v in parts.items()}
