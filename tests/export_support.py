"""Helpers for the export tests: small checkpoints of the registry architectures with non-trivial latents."""

import contextlib
from pathlib import Path

import numpy as np
import torch

from fsplit_mobile.models import registry
from fsplit_mobile.models.checkpoint import save_checkpoint
from repo_paths import PACKAGE

PACKAGE_DIR = PACKAGE
CALIB_DIR = PACKAGE_DIR / "data" / "images" / "calib"
EVAL_DIR = PACKAGE_DIR / "data" / "images" / "eval"
RECIPES = PACKAGE_DIR / "recipes"  # package data (shipped in the wheel)

SMALL_CONFIGS = {
    "frankensplit-fp": {"channels": [16, 24, 16]},
    "entropic-student": {"num_channels": [24, 16, 8]},
    "bmshj2018-factorized": {"N": 16, "M": 24},
}


def _final_layers(arch: str, encoder: torch.nn.Module) -> list[torch.nn.Module]:
    """Layers whose outputs add up to the latent (scaling them scales the latent)."""
    if arch == "frankensplit-fp":
        last = encoder.layers[-1]
        return [last.conv2, last.skip]
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    return [convs[-1]]


def make_checkpoint(path: Path, arch: str, latent_std: float = 4.0, seed: int = 0, size=(64, 64)) -> Path:
    """An fsplit-checkpoint/1 file of `arch` (small config) with random weights scaled so that the latent has
    about `latent_std` standard deviation on real images (so symbols are not all zero)."""
    from PIL import Image

    torch.manual_seed(seed)
    config = SMALL_CONFIGS[arch]
    device = registry.build_device_model(arch, config).eval()
    images = sorted(CALIB_DIR.iterdir())[:3]
    x = torch.stack(
        [
            torch.from_numpy(
                np.asarray(Image.open(p).convert("RGB").resize(size[::-1]), dtype=np.float32).transpose(2, 0, 1) / 255.0
            )
            for p in images
        ]
    )
    with torch.no_grad():
        std = float(device.encoder(x).std())
        for layer in _final_layers(arch, device.encoder):
            layer.weight.mul_(latent_std / std)
            if layer.bias is not None:
                layer.bias.mul_(latent_std / std)
    device.entropy_bottleneck.update(force=True)
    decoder = registry.build_decoder(arch, config)
    return save_checkpoint(path, arch, config, device, decoder, meta={"made_by": "tests/export_support.py"})


def noisy_image(seed: int, size=(64, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)


@contextlib.contextmanager
def one_torch_thread():
    """Eager references as the export computes them (fsplit_mobile.export: torch_threads=1), so a comparison does
    not depend on how many cores the test machine has."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def eager_unrounded(encoder: torch.nn.Module, medians: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    """y - median before rounding, (C, H, W) float32 for a batch of one: what runtime.symbol_check compares
    against. `encoder` maps the (normalised) input to the latent y; `medians` is per channel, shape (C,)."""
    with torch.no_grad(), one_torch_thread():
        return (encoder(x) - medians.reshape(1, -1, 1, 1))[0].numpy()
