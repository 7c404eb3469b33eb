"""A lightweight device encoder for head distillation (FrankenSplit's shallow variational bottleneck injection).

The device runs this instead of the teacher's first layers; the server's decoder restores the teacher's features
at a shallow split and the frozen rest of the teacher runs there. The design space measured for issue 20:

- ``stem``: ``patch`` (a k x k convolution with stride k, ViT/ConvNeXt-style patchifying, one layer does the
  first 4x of downsampling) or ``strided`` (two 3x3 stride-2 convolutions, the classic CNN stem);
- ``blocks``: depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, residual when shapes match), one list of
  widths per resolution; the first block of each later stage downsamples by 2 in its depthwise convolution;
- ``block``: ``separable`` (the above) or ``dense`` (a full 3x3 convolution per block: more capacity per MAC
  at 1/8 resolution, where a dense layer is affordable; the design of the shared trial in ``../shared/README.md``);
- ``act``: ``relu`` or ``gdn`` (generalised divisive normalisation, as in learned image codecs);
- ``latent_channels``: a final 1x1 projection to the latent that is quantised and entropy-coded.

With the defaults a 224x224 image becomes a 48x28x28 latent for about 29 M MACs, 7.5 % of EfficientNet-Lite0's
385.2 M (MACs are counted from the exported graph by :mod:`fsplit_mobile.models.macs`).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .gdn import GDN

LIGHT_DEFAULTS: dict[str, Any] = {
    "kind": "light",
    "stem": "patch",
    "stem_channels": 32,
    "stages": [[64], [96]],
    "act": "relu",
    "block": "separable",
    "latent_channels": 48,
}
STEMS = ("patch", "strided")
BLOCKS = ("separable", "dense")
ACTS = ("relu", "gdn")


def _act(kind: str, channels: int) -> nn.Module:
    if kind == "relu":
        return nn.ReLU()
    if kind == "gdn":
        return GDN(channels)
    raise ValueError(f"act must be one of {', '.join(ACTS)}, got {kind!r}")


class SeparableBlock(nn.Module):
    """act(pointwise(depthwise(x))) [+ x when the shape is kept]."""

    def __init__(self, cin: int, cout: int, stride: int, act: str):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin)
        self.pointwise = nn.Conv2d(cin, cout, 1)
        self.act = _act(act, cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.act(self.pointwise(self.depthwise(x)))
        return x + y if self.residual else y


class DenseBlock(nn.Module):
    """act(conv3x3(x)) [+ x when the shape is kept]."""

    def __init__(self, cin: int, cout: int, stride: int, act: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.act = _act(act, cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.act(self.conv(x))
        return x + y if self.residual else y


class LightEncoder(nn.Module):
    """image (N,3,H,W) -> latent (N, latent_channels, H/8, W/8)."""

    downsampling = 8

    def __init__(self, config: dict[str, Any] | None = None, in_channels: int = 3):
        super().__init__()
        c = {**LIGHT_DEFAULTS, **(config or {})}
        if c["stem"] not in STEMS:
            raise ValueError(f"stem must be one of {', '.join(STEMS)}, got {c['stem']!r}")
        if c["block"] not in BLOCKS:
            raise ValueError(f"block must be one of {', '.join(BLOCKS)}, got {c['block']!r}")
        stages = [list(map(int, s)) for s in c["stages"]]
        if len(stages) != 2 or not stages[1]:
            raise ValueError(
                f"stages must be two lists of widths (at 1/4, possibly empty, and at 1/8), got {c['stages']!r}"
            )
        block = SeparableBlock if c["block"] == "separable" else DenseBlock
        s = int(c["stem_channels"])
        self.config = {**c, "stages": stages}
        self.latent_channels = int(c["latent_channels"])
        if c["stem"] == "patch":
            stem: list[nn.Module] = [nn.Conv2d(in_channels, s, 4, stride=4), _act(c["act"], s)]
        else:
            half = max(8, s // 2)
            stem = [
                nn.Conv2d(in_channels, half, 3, stride=2, padding=1),
                _act(c["act"], half),
                nn.Conv2d(half, s, 3, stride=2, padding=1),
                _act(c["act"], s),
            ]
        layers: list[nn.Module] = [*stem]
        cin = s
        for i, widths in enumerate(stages):
            for j, w in enumerate(widths):
                layers.append(block(cin, w, 2 if (i == 1 and j == 0) else 1, c["act"]))
                cin = w
        layers.append(nn.Conv2d(cin, self.latent_channels, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
