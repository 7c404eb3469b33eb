"""The split model: what runs on the device (encoder + entropy model) and what runs on the server.

Device graph (what gets exported): image -> encoder -> y -> round(y - median) as int32 symbols.
Server graph: int32 symbols -> + median -> decoder -> rest of the network -> logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..entropy.bottleneck import EntropyBottleneck
from .gdn import bake_gdn


class DeviceModel(nn.Module):
    """Encoder plus its entropy bottleneck. `forward` returns the float latent y."""

    def __init__(self, encoder: nn.Module, entropy_bottleneck: EntropyBottleneck):
        super().__init__()
        self.encoder = encoder
        self.entropy_bottleneck = entropy_bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def symbols(self, x: torch.Tensor) -> torch.Tensor:
        return self.entropy_bottleneck.symbols(self.encoder(x))

    def export_module(self, output: str = "symbols", normalization: tuple | None = None) -> nn.Module:
        """A self-contained, GDN-baked copy for export. output: 'symbols' (int32) or 'latent' (float)."""
        import copy

        encoder = bake_gdn(copy.deepcopy(self.encoder)).eval()
        return ExportableEncoder(encoder, self.entropy_bottleneck.medians().clone(), output, normalization)


class Normalize(nn.Module):
    """(x - mean) / std per channel, as a module of its own: export recipes can name it (keep_float "normalize")."""

    mean: torch.Tensor
    inv_std: torch.Tensor

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("inv_std", 1.0 / torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) * self.inv_std


class ExportableEncoder(nn.Module):
    """Export wrapper: optional in-graph normalisation (`normalize`), encoder, optional symbol rounding."""

    medians: torch.Tensor

    def __init__(self, encoder: nn.Module, medians: torch.Tensor, output: str = "symbols", normalization=None):
        super().__init__()
        if output not in ("symbols", "latent"):
            raise ValueError(f"output must be 'symbols' or 'latent', got {output!r}")
        self.encoder = encoder
        self.output = output
        self.register_buffer("medians", medians.reshape(1, -1, 1, 1).float())
        self.normalize = Normalize(*normalization) if normalization is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize is not None:
            x = self.normalize(x)
        y = self.encoder(x)
        if self.output == "latent":
            return y
        return torch.round(y - self.medians).to(torch.int32)


class ServerModel(nn.Module):
    """int32 symbols -> logits: dequantize with the medians, decode, run the tail of the task network."""

    medians: torch.Tensor

    def __init__(self, decoder: nn.Module, tail: nn.Module | None, medians: torch.Tensor):
        super().__init__()
        self.decoder = decoder
        self.tail = tail if tail is not None else nn.Identity()
        self.register_buffer("medians", medians.reshape(1, -1, 1, 1).float().clone())

    def forward(self, symbols: torch.Tensor) -> torch.Tensor:
        y_hat = symbols.to(torch.float32) + self.medians
        return self.tail(self.decoder(y_hat))


@dataclass
class SplitModel:
    """A loaded split-computing model: device part, optional server part, and what it was made from."""

    model_id: str
    architecture: str
    device: DeviceModel
    server: ServerModel | None = None
    input_size: tuple[int, int] = (224, 224)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    meta: dict = field(default_factory=dict)

    def latent_shape(self) -> tuple[int, int, int]:
        with torch.no_grad():
            y = self.device.encoder(torch.zeros(1, 3, *self.input_size))
        return tuple(y.shape[1:])
