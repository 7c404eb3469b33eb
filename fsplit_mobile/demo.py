"""fsplit-demo: run the bundled split model once, end to end, on one image.

device part (encoder -> int32 symbols) -> entropy coder (bytes) -> decoder -> server part (decoder + teacher tail),
printed next to the unsplit teacher's own prediction.
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
    """Encode, entropy code, decode and classify one image with the bundled model (or `model`)."""
    from .codec import CodecTables, decode_latent, encode_latent
    from .codec.container import HEADER_SIZE
    from .models.default_model import load_default_model
    from .models.teacher import load_efficientnet_lite0

    model = load_default_model() if model is None else model
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
    )


def format_result(result: DemoResult, labels: list[str], model_id: str) -> str:
    c, h, w = result.latent_shape
    short = lambda i: labels[i].split(",")[0]  # noqa: E731
    agree = "yes" if result.split_top1 == result.teacher_top1 else "no"
    return "\n".join(
        [
            f"model        {model_id}",
            f"image        {result.image}",
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
    help="fsplit-checkpoint/1 file (default: the bundled model)",
)
def main(image_path, checkpoint):
    """Run the bundled split model on one image: latent shape, bits, bpp and top-1 next to the teacher's."""
    from .models.default_model import CheckpointFormatError, imagenet_labels, load_default_model

    torch.set_num_threads(min(2, torch.get_num_threads()))
    try:
        model = load_default_model(checkpoint)
    except CheckpointFormatError as exc:
        raise DemoError(str(exc)) from exc
    result = run_demo(image_path, model)
    click.echo(format_result(result, imagenet_labels(), model.model_id))


if __name__ == "__main__":
    main()
