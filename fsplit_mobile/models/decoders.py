"""Server-side synthesis networks that turn a decoded latent back into a teacher's intermediate features.

`FeatureSynthesis` is the FrankenSplit-style decoder of the bundled default model: latent 48xHxW -> conv3x3 ->
residual blocks -> conv3x3 -> teacher features (40xHxW for EfficientNet-Lite0 at its 28x28 stage). It keeps the
spatial size; all the downsampling happened on the device.
"""

from torch import nn


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(x))), 3x3 convolutions, same width."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return x + self.conv2(self.act(self.conv1(x)))


class FeatureSynthesis(nn.Module):
    """latent (N, in_channels, H, W) -> features (N, out_channels, H, W)."""

    def __init__(self, in_channels: int = 48, out_channels: int = 40, width: int = 96, blocks: int = 1):
        super().__init__()
        self.in_channels, self.out_channels, self.width, self.num_blocks = in_channels, out_channels, width, blocks
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.act = nn.ReLU()
        self.head = nn.Conv2d(width, out_channels, 3, padding=1)

    def forward(self, y):
        return self.head(self.act(self.blocks(self.stem(y))))

    def config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "width": self.width,
            "blocks": self.num_blocks,
        }
