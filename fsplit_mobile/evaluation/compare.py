"""Teacher top-1 agreement against bytes per crop: split models (real rANS bytes) next to WebP and JPEG offloading.

Why here and not in the e2e study: the e2e study measures latency over shaped links on a handful of photos; model
selection and the headline "does split computing beat the codecs" need agreement/bytes on many photos, with
nothing but the models and the codecs in the loop. All methods see the same crops (per photo: the center crop
plus seeded random crops, seeded by the photo's name, as evaluation/evaluate.py does) and are judged against the
teacher's top-1 on the uncompressed crop.

    python -m fsplit_mobile.evaluation.compare --split heldout --crops 2 --model runs/units.pt --json out.json
"""

from __future__ import annotations

import io
import json
import platform
import time
import zlib
from pathlib import Path

import click
import numpy as np
import torch
from PIL import Image

from ..models.macs import describe, device_share
from .images import bundled_images, eval_crops, normalize, open_rgb

CODECS = {"webp": "WEBP", "jpeg": "JPEG"}
DEFAULT_QUALITIES = (1, 5, 10, 20, 40, 70)


def crops_of(split: str, crops_per_image: int, seed: int = 0) -> torch.Tensor:
    """(N, 3, 224, 224) crops in [0, 1], quantised to 8 bits (what a camera frame / codec input is)."""
    out = []
    for path in bundled_images(split):
        x = eval_crops(open_rgb(path), 224, crops_per_image, seed + zlib.crc32(path.stem.encode()))
        out.append(torch.round(x * 255) / 255)
    return torch.cat(out)


def codec_roundtrip(
    x: torch.Tensor, codec: str, quality: int, side: int | None = None
) -> tuple[torch.Tensor, list[int]]:
    """Each crop encoded and decoded with PIL; returns (decoded crops, payload sizes in bytes).

    `side`: offload a smaller picture, as a client on a thin link would: the device downscales the crop to
    side x side (Lanczos) before encoding, the server upscales the decoded picture back (bicubic) for the
    classifier. None or the crop's own side: no resizing."""
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(sorted(CODECS))}, got {codec!r}")
    if side is not None and not 16 <= side <= max(x.shape[-2:]):
        raise ValueError(f"side must be between 16 and the crop's side {max(x.shape[-2:])}, got {side}")
    decoded, sizes = [], []
    for crop in x:
        rgb = Image.fromarray((crop.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
        full = rgb.size
        if side is not None and (side, side) != full:
            rgb = rgb.resize((side, side), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        rgb.save(buf, format=CODECS[codec], quality=int(quality))
        sizes.append(buf.tell())
        back = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        if back.size != full:
            back = back.resize(full, Image.Resampling.BICUBIC)
        decoded.append(torch.from_numpy(np.asarray(back, dtype=np.float32) / 255).permute(2, 0, 1))
    return torch.stack(decoded), sizes


@torch.no_grad()
def top1(model, x: torch.Tensor, batch: int = 32) -> torch.Tensor:
    return torch.cat([model(normalize(x[i : i + batch])).argmax(1) for i in range(0, x.shape[0], batch)])


@torch.no_grad()
def coded_predictions(split_model, symbols: np.ndarray, tables) -> tuple[torch.Tensor, list[int]]:
    """A batch of int32 symbols -> container bytes (fsplit_mobile.codec) -> decoded -> server top-1; (top-1, sizes)."""
    from ..codec.container import decode_latent, encode_latent

    decoded, sizes = [], []
    for s in symbols:
        data = encode_latent(tables, s)
        sizes.append(len(data))
        decoded.append(decode_latent(tables, data))
    return split_model.server(torch.from_numpy(np.stack(decoded))).argmax(1), sizes


@torch.no_grad()
def split_point(split_model, x: torch.Tensor, batch: int = 32) -> tuple[torch.Tensor, list[int]]:
    """Deployed path: int32 symbols -> container bytes -> decoded symbols -> server logits (coded_predictions)."""
    from ..codec.tables import CodecTables

    tables = CodecTables.from_arrays(*split_model.device.entropy_bottleneck.tables())
    preds, sizes = [], []
    for i in range(0, x.shape[0], batch):
        pred, size = coded_predictions(
            split_model, split_model.device.symbols(normalize(x[i : i + batch])).numpy(), tables
        )
        preds.append(pred)
        sizes.extend(size)
    return torch.cat(preds), sizes


def _load_split_models(path: str) -> dict:
    """Every rate point of a checkpoint, named `<file stem>:<rate point>` (one-rate checkpoints: `<file stem>`)."""
    from ..models.bundled import load_rate_points

    models = load_rate_points(path)
    units = any(m.meta.get("config", {}).get("default_unit") for m in models.values())  # bottleneck-unit layout
    points = units or len(models) > 1  # units, or a rate-point set
    return {f"{Path(path).stem}:{k}" if points else Path(path).stem: v for k, v in models.items()}


def compare(
    split: str,
    crops_per_image: int,
    models: list[str],
    codecs=("webp", "jpeg"),
    qualities=DEFAULT_QUALITIES,
    log=print,
    sides: tuple[int, ...] = (),
) -> dict:
    """Every codec at every quality at full size and at each of `sides` (downscaled offload, method
    `<codec>-q<quality>@<side>`), and every rate point of every model, on the same crops."""
    from ..models.teacher import load_efficientnet_lite0

    teacher = load_efficientnet_lite0()
    x = crops_of(split, crops_per_image)
    reference = top1(teacher, x)
    rows = []
    full = int(x.shape[-1])
    for codec, side, q in ((c, s, q) for c in codecs for s in (full, *sides) for q in qualities):
        started = time.time()
        decoded, sizes = codec_roundtrip(x, codec, q, side)
        agree = float((top1(teacher, decoded) == reference).float().mean())
        method = f"{codec}-q{q}" + (f"@{side}" if side != full else "")
        rows.append(
            {
                "method": method,
                "kind": "offload",
                "side": side,
                "agreement": agree,
                "bytes_mean": float(np.mean(sizes)),
                "bytes_median": float(np.median(sizes)),
            }
        )
        log(f"{method}: agreement {agree:.3f} at {np.mean(sizes):.0f} B ({time.time() - started:.0f}s)")
    for path in models:
        for name, model in _load_split_models(path).items():
            preds, sizes = split_point(model, x)
            agree = float((preds == reference).float().mean())
            share = device_share(model.device.encoder, model.input_size)
            rows.append(
                {
                    "method": name,
                    "kind": "split",
                    "agreement": agree,
                    "bytes_mean": float(np.mean(sizes)),
                    "bytes_median": float(np.median(sizes)),
                    "checkpoint": str(path),
                    **share,
                }
            )
            log(f"{name}: agreement {agree:.3f} at {np.mean(sizes):.0f} B, device {describe(share)}")
    return {
        "split": split,
        "photos": len(bundled_images(split)),
        "crops_per_image": crops_per_image,
        "crops": int(x.shape[0]),
        "teacher": "efficientnet-lite0",
        "rows": rows,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": str(torch.__version__),
    }


def at_most_bytes(rows: list[dict], which: str, max_bytes: float, key: str = "codec") -> dict | None:
    """The best-agreeing row whose mean bytes do not exceed `max_bytes`, among a codec's rows ('webp', 'jpeg';
    key='codec') or a kind's rows ('split', 'offload'; key='kind')."""
    fits = [
        r
        for r in rows
        if r["bytes_mean"] <= max_bytes
        and (r["kind"] == which if key == "kind" else r["method"].startswith(which + "-"))
    ]
    return max(fits, key=lambda r: r["agreement"]) if fits else None


def undercut_by(rows: list[dict], split_row: dict) -> list[dict]:
    """The offload rows that send fewer bytes than `split_row` and agree at least as often: empty when no codec
    setting can match the rate point with fewer bytes (SC2's rate/accuracy test of a split point)."""
    return [
        r
        for r in rows
        if r["kind"] == "offload"
        and r["bytes_mean"] < split_row["bytes_mean"]
        and r["agreement"] >= split_row["agreement"]
    ]


def device_column(row: dict) -> str:
    """A row's device compute: the split encoder's MACs and share, or what offloading runs (an image codec)."""
    if "device_macs" in row:
        return f"{row['device_macs'] / 1e6:.1f} M ({100 * row['share']:.1f} %)"
    return "codec only"


def markdown(result: dict) -> str:
    lines = [
        f"{result['crops']} crops ({result['photos']} photos of the `{result['split']}` split, "
        f"{result['crops_per_image']} per photo), teacher top-1 agreement vs bytes per 224x224 crop; device "
        "compute = MACs of the device encoder counted from its exported graph, and their share of the full "
        "EfficientNet-Lite0 (385.2 M MACs)",
        "",
        "| method | kind | device MACs (share) | agreement | mean bytes | no codec matches it with fewer bytes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(result["rows"], key=lambda r: (r["kind"], r["bytes_mean"])):
        if r["kind"] == "split":
            beaten = undercut_by(result["rows"], r)
            smaller = [o for o in result["rows"] if o["kind"] == "offload" and o["bytes_mean"] < r["bytes_mean"]]
            if beaten:
                verdict = "no: " + ", ".join(b["method"] for b in beaten)
            elif smaller:
                verdict = "yes: " + ", ".join(o["method"] for o in smaller) + " smaller but agree less"
            else:
                verdict = "yes, vacuously: no codec setting is this small"
        else:
            verdict = ""
        lines.append(
            f"| {r['method']} | {r['kind']} | {device_column(r)} | {r['agreement']:.3f} | {r['bytes_mean']:.0f} "
            f"| {verdict} |"
        )
    lines.append("")
    for c in (r for r in result["rows"] if r["kind"] == "offload"):
        best = at_most_bytes(result["rows"], "split", c["bytes_mean"], key="kind")
        if best is None:
            lines.append(
                f"- {c['method']} ({c['agreement']:.3f} at {c['bytes_mean']:.0f} B): no split rate point "
                "fits in as few bytes"
            )
            continue
        verdict = "matched or beaten" if best["agreement"] >= c["agreement"] else "not matched"
        lines.append(
            f"- {c['method']} ({c['agreement']:.3f} at {c['bytes_mean']:.0f} B): {verdict} by "
            f"{best['method']} ({best['agreement']:.3f} at {best['bytes_mean']:.0f} B)"
        )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--split", type=click.Choice(["val", "heldout"]), default="val", show_default=True)
@click.option("--crops", type=int, default=2, show_default=True, help="crops per photo")
@click.option(
    "--model",
    "models",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="split-model checkpoint (repeatable; every rate point of a bottleneck-unit file)",
)
@click.option("--codec", "codecs", multiple=True, type=click.Choice(sorted(CODECS)), default=("webp", "jpeg"))
@click.option("--quality", "qualities", multiple=True, type=int, default=DEFAULT_QUALITIES)
@click.option(
    "--side",
    "sides",
    multiple=True,
    type=click.IntRange(16, 224),
    help="also offload each codec downscaled to this side (repeatable; the server upscales back to 224)",
)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None)
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False), default=None)
def main(split, crops, models, codecs, qualities, sides, threads, json_path, md_path):
    """Agreement vs bytes on a bundled split (model selection: val; final numbers only: heldout)."""
    torch.set_num_threads(threads)
    result = compare(split, crops, list(models), codecs, qualities, sides=tuple(sides))
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(result, indent=1), encoding="utf-8")
    text = markdown(result)
    if md_path:
        Path(md_path).write_text(text, encoding="utf-8")
    click.echo(text)


if __name__ == "__main__":
    main()
