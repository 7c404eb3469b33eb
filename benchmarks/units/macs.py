"""Multiply-accumulates of the device part of each split point (teacher head + bottleneck-unit encoder) next to
the full EfficientNet-Lite0 teacher and the bundled default's FrankenSplit encoder, for a 224x224 input.

Counted with forward hooks on every Conv2d / ConvTranspose2d / Linear (elementwise ops, GDN's 1x1 conv is a
Conv2d call through F.conv2d and is added by hand). Run: python benchmarks/units/macs.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json

import torch
from torch import nn


def count_macs(module: nn.Module, x: torch.Tensor) -> int:
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            total += inp[0].numel() // inp[0].shape[0] * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += out.numel() // out.shape[0] * m.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in module.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)
    ]
    from fsplit_mobile.models.gdn import GDN

    gdn = []
    handles += [
        m.register_forward_hook(lambda m, i, o: gdn.append(o.numel() // o.shape[0] * m.channels))
        for m in module.modules()
        if isinstance(m, GDN)
    ]
    with torch.no_grad():
        module(x)
    for h in handles:
        h.remove()
    return total + sum(gdn)


def main(argv=None) -> int:
    from fsplit_mobile.models import bottleneck_unit as bu
    from fsplit_mobile.models.bundled import load_rate_points
    from fsplit_mobile.models.frankensplit_lite0 import load_default_model
    from fsplit_mobile.models.teacher import TeacherHead, load_efficientnet_lite0

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--latent", type=int, default=32)
    parser.add_argument("--width", type=int, default=128)
    args = parser.parse_args(argv)
    x = torch.zeros(1, 3, 224, 224)
    teacher = load_efficientnet_lite0()
    rows = {
        "teacher efficientnet-lite0 (full, local inference)": count_macs(teacher, x),
        "bundled default bottleneck-units-lite0-b16 device part (head + linear unit, any rate point)": count_macs(
            next(iter(load_rate_points(with_server=False).values())).device.encoder, x
        ),
        "frankensplit-lite0 encoder (the default before issue 10)": count_macs(
            load_default_model(with_server=False).device.encoder, x
        ),
    }
    for split in sorted(bu.FEATURE_CHANNELS):
        stride = 2 if split <= 11 else 1
        unit = bu.build_unit(
            split, {"name": "r", "latent_channels": args.latent, "width": args.width, "stride": stride}
        )
        head = TeacherHead(teacher, split)
        rows[f"bottleneck unit after block {split}: head"] = count_macs(head, x)
        rows[
            f"bottleneck unit after block {split}: head + unit encoder (L={args.latent}, w={args.width}, s={stride})"
        ] = count_macs(bu.HeadWithUnit(head, unit.encoder), x)
    for k, v in rows.items():
        print(f"{v / 1e6:9.1f} M  {k}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({k: int(v) for k, v in rows.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
