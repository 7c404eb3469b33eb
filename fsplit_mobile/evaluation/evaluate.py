"""Held-out evaluation of a split model against its teacher: bits per pixel and teacher top-1 agreement.

For each held-out image: its center crop plus seeded random crops, all at the model's input size. The split model
runs as deployed: symbols = round(y - median), server(symbols) -> logits. Rates are given two ways:
- `bpp_table`: the ideal code length under the integer CDF tables the coder uses (-log2(freq / 2^16) per
  symbol, including the escape coding of out-of-range symbols), i.e. what the rANS coder emits minus its few
  bytes of flush/header overhead;
- `bpp_coded`: real bytes from fsplit_mobile.codec, when that package provides `encode_latent`.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import torch

from .images import bundled_images, eval_crops, normalize, open_rgb


def table_bits(
    symbols: np.ndarray, cdf: np.ndarray, lengths: np.ndarray, offsets: np.ndarray, precision: int = 16
) -> float:
    """Ideal bits to code `symbols` (C, ...) with CompressAI-style tables (one CDF per channel, escape bypass)."""
    total = 0.0
    channels = symbols.shape[0]
    for c in range(channels):
        s = symbols[c].reshape(-1).astype(np.int64) - int(offsets[c])
        max_value = int(lengths[c]) - 2
        freqs = np.diff(cdf[c, : lengths[c]].astype(np.int64))
        escape = (s < 0) | (s >= max_value)
        inside = s[~escape]
        total += float(-np.log2(freqs[inside] / (1 << precision)).sum())
        if escape.any():
            total += float(-math.log2(freqs[max_value] / (1 << precision))) * int(escape.sum())
            # bypass coding of the escaped value: its number of 4-bit chunks (in 4-bit pieces, 15 = "more"),
            # then the chunks themselves
            for value in s[escape]:
                raw = (-2 * int(value) - 1) if value < 0 else 2 * (int(value) - max_value)
                chunks = (raw.bit_length() + 3) // 4
                total += 4 * (chunks // 15 + 1) + 4 * chunks
    return total


def _coder():
    try:
        from ..codec.container import encode_latent
        from ..codec.tables import CodecTables
    except ImportError:
        return None
    return encode_latent, CodecTables


@torch.no_grad()
def evaluate_split(
    encoder,
    bottleneck,
    decoder,
    head,
    tail,
    images=None,
    crops_per_image: int = 32,
    size: int = 224,
    seed: int = 0,
    use_coder: bool = True,
) -> dict:
    """Metrics over held-out crops. `images`: list of image paths (default: the bundled eval set)."""
    encoder.eval(), decoder.eval(), bottleneck.eval()
    paths = bundled_images("eval") if images is None else list(images)
    cdf, lengths, offsets = bottleneck.tables()
    coder = _coder() if use_coder else None
    tables = coder[1].from_arrays(cdf, lengths, offsets) if coder else None
    agree = agree5 = n = 0
    bits_est = bits_table = 0.0
    coded_bytes = 0
    mse = feat_power = 0.0
    per_image = {}
    for path in paths:
        name = Path(path).stem
        # crops depend on the image's name, not its position, so any subset reproduces the same numbers
        x = normalize(eval_crops(open_rgb(path), size, crops_per_image, seed + zlib.crc32(name.encode())))
        target = head(x)
        y = encoder(x)
        symbols = bottleneck.symbols(y)
        y_hat = bottleneck.dequantize(symbols)
        _, likelihoods = bottleneck(y, training=False)
        features = decoder(y_hat)
        logits_split = tail(features)
        logits_teacher = tail(target)
        top1_t = logits_teacher.argmax(1)
        top1_s = logits_split.argmax(1)
        top5_s = logits_split.topk(5, dim=1).indices
        hits = int((top1_t == top1_s).sum())
        agree += hits
        agree5 += int((top5_s == top1_t[:, None]).any(1).sum())
        n += x.shape[0]
        mse += float(((features - target) ** 2).mean(dim=(1, 2, 3)).sum())
        feat_power += float((target**2).mean(dim=(1, 2, 3)).sum())
        bits_est += float(-torch.log2(likelihoods).sum())
        sym = symbols.numpy()
        image_bits = sum(table_bits(sym[item], cdf, lengths, offsets) for item in range(sym.shape[0]))
        bits_table += image_bits
        if coder:
            coded_bytes += sum(len(coder[0](tables, sym[item])) for item in range(sym.shape[0]))
        per_image[name] = {
            "crops": int(x.shape[0]),
            "agreement": hits / x.shape[0],
            "bpp_table": image_bits / (x.shape[0] * size * size),
            "center_teacher_top1": int(top1_t[0]),
            "center_split_top1": int(top1_s[0]),
        }
    pixels = n * size * size
    metrics = {
        "crops": n,
        "images": len(paths),
        "crops_per_image": crops_per_image,
        "input_size": size,
        "top1_agreement": agree / n,
        "top5_contains_teacher_top1": agree5 / n,
        "feature_mse": mse / n,
        "feature_nmse": mse / feat_power,
        "bpp_estimated": bits_est / pixels,
        "bpp_table": bits_table / pixels,
        "bytes_per_image_table": bits_table / 8 / n,
        "per_image": per_image,
    }
    if coder:
        metrics["bpp_coded"] = coded_bytes * 8 / pixels
        metrics["bytes_per_image_coded"] = coded_bytes / n
    return metrics
