"""Which layers must stay float for PT2E int8 (XNNPACK quantizer: ExecuTorch, LiteRT static, Core ML W8A8)?

    .venv/bin/python benchmarks/export/pt2e_sensitivity.py [--calib 48] [--out benchmarks/results/pt2e_sensitivity.md]

For the bundled default's default rate point: the PyTorch reference of the quantized program (convert_pt2e,
no backend) calibrated on training photos, its int32 symbols compared with eager fp32 on *validation* crops
(never the held-out ones: this chooses the recipe's keep_float), for several keep_float sets: the share of
symbols that differ, and the change of teacher top-1 agreement when both are decoded by the server part. It runs the
quantized graph in PyTorch, so it isolates the quantization itself from the runtimes (the export benchmark then
measures the real artifacts on the held-out set).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from fsplit_mobile.evaluation.images import bundled_images
from fsplit_mobile.export.backends.pt2e import xnnpack_quantizer
from fsplit_mobile.models.bundled import BUNDLED_DEFAULT, load_rate_points
from fsplit_mobile.runtime.preprocess import load_rgb

REPO = Path(__file__).resolve().parents[2]
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
STEM = ["normalize", "encoder.head.conv_stem", "encoder.head.bn0"]
CASES = {
    "latent layer only (auto)": [],
    "+ normalisation + stem": STEM,
    "+ normalisation + stem + block 0": STEM + ["encoder.head.blocks.0"],
    "+ normalisation + stem + blocks 0-1": STEM + [f"encoder.head.blocks.{i}" for i in range(2)],
    "+ normalisation + stem + blocks 0-2": STEM + [f"encoder.head.blocks.{i}" for i in range(3)],
    "+ blocks 12-15": [f"encoder.head.blocks.{i}" for i in range(12, 16)],
}


def images(split: str, limit: int | None) -> list[torch.Tensor]:
    files = bundled_images(split)[:limit]
    return [torch.from_numpy(load_rgb(f, (224, 224)).copy()).permute(2, 0, 1).float().div(255)[None] for f in files]


def quantized_symbols(module, keep: list[str], calib: list[torch.Tensor], val: torch.Tensor) -> torch.Tensor:
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    graph = torch.export.export(module, (calib[0],)).module()
    prepared = prepare_pt2e(graph, xnnpack_quantizer(["encoder.unit", *keep]))
    with torch.no_grad():
        for x in calib:
            prepared(x)
        quantized = convert_pt2e(prepared)
        return torch.cat([quantized(x[None]) for x in val])


@torch.no_grad()
def agreement(model, symbols: torch.Tensor, reference: torch.Tensor) -> float:
    top1 = torch.cat([model.server(symbols[i : i + 32]).argmax(1) for i in range(0, len(symbols), 32)])
    return float((top1 == reference).float().mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calib", type=int, default=48, help="training photos used for calibration")
    p.add_argument("--crops", type=int, default=4, help="validation crops per photo (center + seeded random)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "pt2e_sensitivity.md"))
    args = p.parse_args()
    torch.manual_seed(0)
    from fsplit_mobile.evaluation.compare import crops_of, top1
    from fsplit_mobile.models.teacher import load_efficientnet_lite0

    name, model = next(iter(load_rate_points().items()))
    module = model.device.export_module("symbols", (MEAN, STD)).eval()
    calib, val = images("train", args.calib), crops_of("val", args.crops)
    reference = top1(load_efficientnet_lite0(), val)
    with torch.no_grad():
        ref = torch.cat([module(val[i : i + 32]) for i in range(0, len(val), 32)])
    fp32 = agreement(model, ref, reference)
    nonzero = float((ref != 0).float().mean())
    rows = []
    for label, keep in CASES.items():
        t0 = time.monotonic()
        got = quantized_symbols(module, keep, calib, val)
        rows.append(
            (label, float((got != ref).float().mean()), agreement(model, got, reference) - fp32, time.monotonic() - t0)
        )
        print(
            f"{label}: {100 * rows[-1][1]:.2f} % symbols differing, agreement {100 * rows[-1][2]:+.2f} pp", flush=True
        )
    lines = [
        f"# PT2E int8 sensitivity of the bundled default ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Model {BUNDLED_DEFAULT.name}, rate point {name}; calibration: {len(calib)} training photos (center "
        f"224x224 resize); compared: {len(val)} validation crops ({args.crops} per photo), fp32 teacher agreement "
        f"{fp32:.3f}; quantizer: XNNPACK (per-channel symmetric int8 "
        "weights, per-tensor int8 activations, histogram observers); the latent layer (encoder.unit) is float "
        f"in every case. {100 * nonzero:.1f} % of the eager symbols are non-zero. Machine: {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}. Made by `benchmarks/export/pt2e_sensitivity.py`.",
        "",
        "| kept float (besides the latent layer) | symbols differing from eager fp32 | teacher agreement change | s |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {100 * f:.2f} % | {100 * a:+.2f} pp | {s:.0f} |" for label, f, a, s in rows],
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
