"""The objective shared by every split-model training task.

    mse_weight * NMSE(features) + kd_weight * T^2 * KL(teacher || split logits at temperature T) + lmbda * bpp

NMSE is the squared error of the reconstructed features at the split, normalised by the features' power; the
split logits come from the frozen teacher tail run on the reconstruction (distillation through the frozen tail).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
