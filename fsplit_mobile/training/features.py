"""Cached teacher features: the frozen head run once per crop, so a bottleneck unit trains without re-running it.

Why: the head is frozen, so its output for a given crop never changes. On a shared 2-core CPU the head costs more
than the unit itself; caching it (with the augmentations drawn once, `crops_per_image` per photo) makes thousands
of unit steps affordable. The cache holds, per crop, the teacher's features after each requested split block
(float16) and the teacher's logits (float32).

    python -m fsplit_mobile.training.features --split train --crops 40 --out .cache/features/train.pt
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import click
import numpy as np
import torch

from ..evaluation.images import CropSampler, bundled_images, eval_crops, normalize, open_rgb

DEFAULT_BLOCKS = (5, 11, 15, 16)


@torch.no_grad()
def teacher_features(model, x: torch.Tensor, blocks: tuple[int, ...]) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """({split_block: features after that many blocks}, logits) of the full teacher on normalised images `x`."""
    from ..models.teacher import TeacherTail, _drop_connect_rates

    rates = _drop_connect_rates(model)
    out = {}
    h = model._swish(model._bn0(model._conv_stem(x)))
    for i, block in enumerate(model._blocks):
        h = block(h, drop_connect_rate=rates[i])
        if i + 1 in blocks:
            out[i + 1] = h
    logits = TeacherTail(model, len(model._blocks))(h)
    return out, logits


def build_cache(
    split: str,
    crops_per_image: int,
    blocks=DEFAULT_BLOCKS,
    size: int = 224,
    seed: int = 0,
    augment: bool = True,
    batch: int = 16,
    mix: float = 0.0,
    log=print,
    keep_images: bool = False,
    paths: list[Path] | None = None,
) -> dict:
    """Features of `crops_per_image` crops of every photo of a bundled split.

    augment=True: random-scale crops with flips and colour jitter (training); False: the evaluation crops
    (center + seeded random, by photo name) that evaluation/evaluate.py uses.
    mix > 0 (training only): that fraction of each photo's crops is blended with a crop of another photo of the
    same split (weight uniform in [0.3, 0.7]), and the teacher labels the blend: distillation needs no labels, so
    blends add inputs the teacher can be matched on ("patient and consistent" function matching) without using
    any image outside the split.
    keep_images=True also stores the crops themselves (uint8, N x 3 x size x size; the features are computed from
    exactly these uint8 pixels), for encoders that see images (the lightweight encoder of issue 20).
    paths: these image files instead of the bundled split (e.g. the training-only extra pool that
    scripts/build_extra_pool.py writes); `split` then only names the cache.
    """
    from ..models.teacher import load_efficientnet_lite0

    model = load_efficientnet_lite0()
    given = paths
    paths = bundled_images(split) if paths is None else paths
    rng = np.random.default_rng(seed)
    feats: dict[int, list[torch.Tensor]] = {b: [] for b in blocks}
    logits, names, images = [], [], []
    started = time.time()
    partners = None
    if augment and mix > 0:
        partners = CropSampler([open_rgb(p) for p in paths], size, min_area=0.15, jitter=0.2, flip=True)
    for n, path in enumerate(paths):
        image = open_rgb(path)
        if augment:
            sampler = CropSampler([image], size, min_area=0.15, jitter=0.2, flip=True)
            x = sampler.batch(rng, crops_per_image)
            if partners is not None:
                k = int(round(mix * crops_per_image))
                w = torch.from_numpy(rng.uniform(0.3, 0.7, (k, 1, 1, 1)).astype(np.float32))
                x[:k] = w * x[:k] + (1 - w) * partners.batch(rng, k)
        else:
            x = eval_crops(image, size, crops_per_image, seed + zlib.crc32(path.stem.encode()))
        if keep_images:
            pixels = (x.clamp(0, 1) * 255).round().to(torch.uint8)
            images.append(pixels)
            x = pixels.float() / 255
        x = normalize(x)
        for i in range(0, x.shape[0], batch):
            f, lg = teacher_features(model, x[i : i + batch], tuple(blocks))
            for b in blocks:
                feats[b].append(f[b].to(torch.float16))
            logits.append(lg)
        names += [path.stem] * x.shape[0]
        if (n + 1) % 10 == 0 or n + 1 == len(paths):
            log(f"features {split}: {n + 1}/{len(paths)} photos, {time.time() - started:.0f}s")
    cache = {
        "split": split,
        "source": f"bundled {split} split" if given is None else f"{len(paths)} files of {paths[0].parent}",
        "size": size,
        "seed": seed,
        "augment": augment,
        "mix": mix,
        "names": names,
        "features": {b: torch.cat(v) for b, v in feats.items()},
        "logits": torch.cat(logits),
    }
    if keep_images:
        cache["images"] = torch.cat(images)
    return cache


def image_files(folder: str) -> list[Path]:
    """The image files of a folder (sorted), or a usage error naming the folder."""
    files = sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise click.BadParameter(f"no .jpg/.jpeg/.png images in {folder}", param_hint="--dir")
    return files


@click.command()
@click.option("--split", type=click.Choice(["train", "val", "heldout"]), required=True)
@click.option(
    "--dir",
    "folder",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="with --split train: the images of this folder (e.g. .cache/extra_pool) instead of the bundled split",
)
@click.option("--crops", type=int, default=40, show_default=True, help="crops per photo")
@click.option(
    "--blocks",
    default=",".join(map(str, DEFAULT_BLOCKS)),
    show_default=True,
    help="split blocks whose features are stored",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--mix",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="fraction of training crops blended with a crop of another training photo",
)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--images/--no-images", default=False, show_default=True, help="also store the crops (uint8)")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def main(split, folder, crops, blocks, seed, mix, threads, images, out):
    """Write the feature cache of one bundled split (augmented crops for train, evaluation crops otherwise)."""
    if mix and split != "train":
        raise click.BadParameter("blending is for the training split only", param_hint="--mix")
    if folder and split != "train":
        raise click.BadParameter(
            "an image folder is for training only (never validation or held-out)", param_hint="--dir"
        )
    paths = image_files(folder) if folder else None
    torch.set_num_threads(threads)
    blocks_t = tuple(int(b) for b in blocks.split(","))
    cache = build_cache(
        split, crops, blocks_t, seed=seed, augment=split == "train", mix=mix, keep_images=images, paths=paths
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(cache, out)
    click.echo(f"wrote {out}: {len(cache['names'])} crops")


if __name__ == "__main__":
    main()
