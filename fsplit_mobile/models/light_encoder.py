"""A lightweight device encoder for head distillation (FrankenSplit's shallow variational bottleneck injection).

The device runs this instead of the teacher's first layers; the server's decoder restores the teacher's features
at a shallow split and the frozen rest of the teacher runs there. The design space measured for issue 20:

- ``stem``: ``patch`` (a k x k convolution with stride k, ViT/ConvNeXt-style patchifying, one layer does the
  first 4x of downsampling) or ``strided`` (two 3x3 stride-2 convolutions, the classic CNN stem);
- ``blocks``: depthwise-separable blocks (3x3 depthwise + 1x1 pointwise, residual when shapes match), one list of
  widths per resolution; the first block of each later stage downsamples by 2 in its depthwise convolution;
- ``block``: ``separable`` (the above) or ``dense`` (a full 3x3 convolution per block: more capacity per MAC
  at 1/8 resolution, where a dense layer is affordable; the design of the shared trial in ``../shared/README.md``);
  one kind for both stages, or a list of two (one per stage: ``["separable", "dense"]``);
- ``act``: ``relu`` or ``gdn`` (generalised divisive normalisation, as in learned image codecs);
- ``latent_channels``: a final 1x1 projection to the latent that is quantised and entropy-coded;
- ``teacher_blocks``: 0, or run the teacher's own stem and its first ``teacher_blocks`` MBConv blocks first
  (pretrained ImageNet layers, frozen: their BatchNorm statistics and weights never train), then the learned
  layers on their output. EfficientNet-Lite0's stem + block 0 cost 20.9 M MACs (5.4 %) and give 16x112x112
  features at 1/2; the patch stem then covers the remaining 2x to 1/4. With a few hundred training photos the
  pretrained layers generalise where layers learned from scratch overfit.

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
    "teacher_blocks": 0,
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


# stride and channels of the teacher's output after its stem and k blocks (EfficientNet-Lite0)
TEACHER_HEAD_SHAPES = {1: (2, 16), 2: (4, 24), 3: (4, 24)}


def _teacher_head(blocks: int) -> nn.Module:
    """The pretrained EfficientNet-Lite0's stem + blocks 0..blocks-1, frozen (weights loaded here are replaced by
    a checkpoint's own when one is loaded)."""
    from .teacher import TeacherHead, load_efficientnet_lite0

    head = TeacherHead(load_efficientnet_lite0(), blocks).eval()
    for p in head.parameters():
        p.requires_grad_(False)
    return head


class LightEncoder(nn.Module):
    """image (N,3,H,W) -> latent (N, latent_channels, H/8, W/8)."""

    downsampling = 8

    def __init__(self, config: dict[str, Any] | None = None, in_channels: int = 3):
        super().__init__()
        c = {**LIGHT_DEFAULTS, **(config or {})}
        teacher_blocks = int(c["teacher_blocks"])
        if teacher_blocks and teacher_blocks not in TEACHER_HEAD_SHAPES:
            raise ValueError(
                f"teacher_blocks must be 0 or one of {sorted(TEACHER_HEAD_SHAPES)}, got {c['teacher_blocks']!r}"
            )
        if teacher_blocks and in_channels != 3:
            raise ValueError(f"teacher_blocks needs RGB input (3 channels), got {in_channels}")
        if c["stem"] not in STEMS:
            raise ValueError(f"stem must be one of {', '.join(STEMS)}, got {c['stem']!r}")
        kinds = [c["block"]] * 2 if isinstance(c["block"], str) else list(c["block"])
        if len(kinds) != 2 or any(k not in BLOCKS for k in kinds):
            raise ValueError(
                f"block must be one of {', '.join(BLOCKS)} or a list of two of them (one per stage), got {c['block']!r}"
            )
        stages = [list(map(int, s)) for s in c["stages"]]
        if len(stages) != 2 or not stages[1]:
            raise ValueError(
                f"stages must be two lists of widths (at 1/4, possibly empty, and at 1/8), got {c['stages']!r}"
            )
        s = int(c["stem_channels"])
        self.config = {**c, "stages": stages}
        self.latent_channels = int(c["latent_channels"])
        self.teacher: nn.Module | None = None
        stride = 1
        if teacher_blocks:
            stride, in_channels = TEACHER_HEAD_SHAPES[teacher_blocks]
            self.teacher = _teacher_head(teacher_blocks)
        if c["stem"] == "patch":
            k = 4 // stride
            stem: list[nn.Module] = (
                [nn.Conv2d(in_channels, s, k, stride=k), _act(c["act"], s)]
                if k > 1
                else [nn.Conv2d(in_channels, s, 1), _act(c["act"], s)]
            )
        elif stride > 1:
            raise ValueError("teacher_blocks needs the patch stem (the teacher's layers already downsample)")
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
            block = SeparableBlock if kinds[i] == "separable" else DenseBlock
            for j, w in enumerate(widths):
                layers.append(block(cin, w, 2 if (i == 1 and j == 0) else 1, c["act"]))
                cin = w
        layers.append(nn.Conv2d(cin, self.latent_channels, 1))
        self.layers = nn.Sequential(*layers)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.teacher is not None:  # the pretrained layers stay frozen, BatchNorm statistics included
            self.teacher.eval()
        return self

    def forward(self, x):
        if self.teacher is not None:
            x = self.teacher(x)
        return self.layers(x)
