"""fsplit-demo: run the bundled split model once, end to end, on one image, then on the held-out photos.

device part (encoder -> int32 symbols) -> entropy coder (bytes) -> decoder -> server part (decoder + teacher tail),
printed next to the unsplit teacher's own prediction; then, for every rate point of the model, its teacher top-1
agreement and real coded bytes on the held-out photos (data/images/heldout: never used for training, calibration
or choosing between runs), next to sending the crop as WebP or JPEG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import torch

DEFAULT_IMAGE = Path(__file__).resolve().parent / "data" / "images" / "eval" / "chelsea.jpg"


class DemoError(click.ClickException):
    """A demo step failed (bad image, coder round trip mismatch)."""


@dataclass
class DemoResult:
    image: str
    latent_shape: tuple[int, int, int]
    stream_bytes: int  # the whole container (header + rANS payload)
    payload_bytes: int  # the rANS payload alone
    pixels: int
    split_top1: int
    split_prob: float
    teacher_top1: int
    teacher_prob: float
    device_macs: int = 0  # MACs of the device encoder, counted from its exported graph
    device_share: float = 0.0  # their share of the full network's MACs

    @property
    def bits(self) -> int:
        return self.stream_bytes * 8

    @property
    def bpp(self) -> float:
        return self.bits / self.pixels


def preprocess(path, size: tuple[int, int], mean, std) -> torch.Tensor:
    """Image file -> (1, 3, H, W) exactly as the artifact contract prescribes (docs/artifact.md): resize to the
    input size (bilinear), scale to [0, 1], ImageNet normalisation; the same pixels a device runner would see."""
    from .runtime.preprocess import load_rgb

    try:
        image = load_rgb(path, size)
    except (OSError, ValueError) as exc:
        raise DemoError(f"cannot read image {path}: {exc}") from exc
    x = torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)
    mean_t = torch.tensor(mean, dtype=torch.float32).reshape(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).reshape(3, 1, 1)
    return ((x - mean_t) / std_t)[None]


@torch.no_grad()
def run_demo(image_path=DEFAULT_IMAGE, model=None, teacher=None) -> DemoResult:
    """Encode, entropy code, decode and classify one image with the bundled model's default rate point (or
    `model`)."""
    from .codec import CodecTables, decode_latent, encode_latent
    from .codec.container import HEADER_SIZE
    from .models.bundled import load_rate_points
    from .models.macs import device_share
    from .models.teacher import load_efficientnet_lite0

    model = next(iter(load_rate_points().values())) if model is None else model
    teacher = load_efficientnet_lite0() if teacher is None else teacher
    x = preprocess(image_path, model.input_size, model.mean, model.std)
    symbols = model.device.symbols(x)[0].numpy()
    tables = CodecTables.from_arrays(*model.device.entropy_bottleneck.tables())
    stream = encode_latent(tables, symbols)
    decoded = decode_latent(tables, stream)
    if decoded.shape != symbols.shape or not np.array_equal(decoded, symbols):
        raise DemoError("entropy coder round trip changed the latent")
    split_probs = model.server(torch.from_numpy(decoded)[None]).softmax(1)[0]
    teacher_probs = teacher(x).softmax(1)[0]
    s, t = int(split_probs.argmax()), int(teacher_probs.argmax())
    share = device_share(model.device.encoder, model.input_size)
    return DemoResult(
        image=str(image_path),
        latent_shape=tuple(symbols.shape),
        stream_bytes=len(stream),
        payload_bytes=len(stream) - HEADER_SIZE,
        pixels=x.shape[2] * x.shape[3],
        split_top1=s,
        split_prob=float(split_probs[s]),
        teacher_top1=t,
        teacher_prob=float(teacher_probs[t]),
        device_macs=int(share["device_macs"]),
        device_share=float(share["share"]),
    )


@dataclass
class HeldoutRow:
    method: str  # rate point name, or "webp q1" / "jpeg q10"
    kind: str  # "split" or "offload"
    latent: str  # CxHxW of a rate point, "-" for a codec
    agreement: float
    bytes_mean: float
    device: str = "codec only"  # device compute: the encoder's MACs and share, or "codec only" for offloading


@torch.no_grad()
def heldout_table(
    models: dict, teacher=None, crops_per_image: int = 2, baselines=(("webp", 1), ("jpeg", 10)), batch: int = 16
) -> tuple[int, int, list[HeldoutRow]]:
    """(photos, crops, rows): every rate point's teacher top-1 agreement and mean container bytes on the held-out
    crops (real rANS streams, decoded and run through the server part), and each baseline codec's on the same
    crops. Rate points that share the device head (bottleneck units) run it once per crop."""
    from .codec import CodecTables
    from .evaluation.compare import codec_roundtrip, coded_predictions, crops_of, top1
    from .evaluation.images import bundled_images, normalize
    from .models.bottleneck_unit import HeadWithUnit
    from .models.macs import describe, device_share
    from .models.teacher import load_efficientnet_lite0

    teacher = load_efficientnet_lite0() if teacher is None else teacher
    x = crops_of("heldout", crops_per_image)
    reference = top1(teacher, x)
    encoders = [m.device.encoder for m in models.values()]
    shared = all(isinstance(e, HeadWithUnit) and e.head is encoders[0].head for e in encoders)
    hits = {name: 0 for name in models}
    sizes: dict[str, list[int]] = {name: [] for name in models}
    shapes: dict[str, str] = {}
    tables = {name: CodecTables.from_arrays(*m.device.entropy_bottleneck.tables()) for name, m in models.items()}
    for i in range(0, x.shape[0], batch):
        xb = normalize(x[i : i + batch])
        features = encoders[0].head(xb) if shared else None
        for name, model in models.items():
            eb = model.device.entropy_bottleneck
            y = model.device.encoder.unit(features) if shared else model.device.encoder(xb)
            symbols = eb.symbols(y).numpy()
            pred, batch_sizes = coded_predictions(model, symbols, tables[name])
            sizes[name].extend(batch_sizes)
            shapes[name] = "x".join(map(str, symbols.shape[1:]))
            hits[name] += int((pred == reference[i : i + batch]).sum())
    n = int(x.shape[0])
    device = {k: describe(device_share(m.device.encoder, m.input_size), short=True) for k, m in models.items()}
    rows = [HeldoutRow(k, "split", shapes[k], hits[k] / n, float(np.mean(sizes[k])), device[k]) for k in models]
    for codec, quality in baselines:
        decoded, codec_sizes = codec_roundtrip(x, codec, quality)
        agree = float((top1(teacher, decoded) == reference).float().mean())
        rows.append(HeldoutRow(f"{codec} q{quality}", "offload", "-", agree, float(np.mean(codec_sizes))))
    return len(bundled_images("heldout")), n, rows


def format_heldout(photos: int, crops: int, rows: list[HeldoutRow]) -> str:
    lines = [
        f"held-out     {photos} photos x {crops // max(photos, 1)} crops = {crops} crops (data/images/heldout: never "
        "trained on, calibrated on or used to choose runs); agreement = same top-1 as the unsplit teacher",
        "",
        "device = MACs the device computes (counted from the exported encoder graph) and their share of the full",
        "EfficientNet-Lite0; offloading runs only an image codec on the device",
        "",
        f"  {'rate point':<12} {'kind':<8} {'latent':<10} {'device':<26} {'agreement':>9} {'bytes/crop':>10}",
    ]
    for r in rows:
        lines.append(
            f"  {r.method:<12} {r.kind:<8} {r.latent:<10} {r.device:<26} {r.agreement:>9.3f} {r.bytes_mean:>10.0f}"
        )
    offload = [r for r in rows if r.kind == "offload"]
    for r in (r for r in rows if r.kind == "split"):
        beaten = [o.method for o in offload if r.agreement >= o.agreement and r.bytes_mean <= o.bytes_mean]
        if beaten:
            lines.append(f"  {r.method}: agreement >= {' and '.join(beaten)} with fewer bytes")
    return "\n".join(lines)


def format_result(result: DemoResult, labels: list[str], model_id: str) -> str:
    c, h, w = result.latent_shape
    short = lambda i: labels[i].split(",")[0]  # noqa: E731
    agree = "yes" if result.split_top1 == result.teacher_top1 else "no"
    return "\n".join(
        [
            f"model        {model_id}",
            f"image        {result.image}",
            f"device       {result.device_macs / 1e6:.1f} M MACs = {100 * result.device_share:.1f} % of the full "
            "network's (counted from the exported encoder graph)",
            f"latent       {c}x{h}x{w} int32 symbols",
            f"stream       {result.stream_bytes} bytes = {result.bits} bits "
            f"({result.payload_bytes} bytes rANS payload + {result.stream_bytes - result.payload_bytes} bytes header)",
            f"bpp          {result.bpp:.4f} bits per input pixel ({result.pixels} pixels)",
            "round trip   decoded symbols == encoded symbols",
            f"split top-1  {result.split_top1} {short(result.split_top1)} (p={result.split_prob:.3f})",
            f"teacher      {result.teacher_top1} {short(result.teacher_top1)} (p={result.teacher_prob:.3f})",
            f"agree        {agree}",
        ]
    )


@click.command()
@click.option(
    "--image",
    "image_path",
    type=click.Path(exists=True, dir_okay=False),
    default=str(DEFAULT_IMAGE),
    show_default=True,
    help="image file to encode",
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="checkpoint file (default: the bundled model; a bottleneck-unit file: every rate point)",
)
@click.option(
    "--heldout-crops",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="crops per held-out photo for the per-rate-point table (0: skip it)",
)
def main(image_path, checkpoint, heldout_crops):
    """Run the bundled split model on one image (latent shape, bits, bpp and top-1 next to the teacher's), then
    print every rate point's held-out agreement and bytes next to WebP and JPEG."""
    from .models.bundled import load_rate_points
    from .models.checkpoint import CheckpointError
    from .models.frankensplit_lite0 import imagenet_labels
    from .models.teacher import load_efficientnet_lite0

    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        models = load_rate_points(checkpoint)
    except CheckpointError as exc:
        raise DemoError(str(exc)) from exc
    name, model = next(iter(models.items()))
    teacher = load_efficientnet_lite0()
    result = run_demo(image_path, model, teacher)
    label = model.model_id if len(models) == 1 else f"{model.model_id} (rate point {name} of {', '.join(models)})"
    click.echo(format_result(result, imagenet_labels(), label))
    if heldout_crops:
        click.echo("")
        click.echo(format_heldout(*heldout_table(models, teacher, heldout_crops)))


if __name__ == "__main__":
    main()
