"""FrankenSplit's shallow analysis network (the FP encoder of Furutanpey et al.).

Three residual blocks with stride 2; each block runs a strided 3x3 conv, a 3x3 conv and a ReLU, and adds a
strided 1x1 conv of its input. Channels 3 -> 48 -> 64 -> 48, no normalisation. A 224x224 image becomes a
48x28x28 latent; 141,696 parameters.
"""

from torch import nn


class ResidualBlockWithStride(nn.Module):
    """relu(conv2(conv1(x))) + skip(x), downsampling by `stride`."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.relu = nn.ReLU(inplace=False)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=stride)

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x))) + self.skip(x)


class FrankenSplitEncoder(nn.Module):
    """g_a of FrankenSplit-FP: image (N,3,H,W) -> latent (N,48,H/8,W/8)."""

    latent_channels = 48
    downsampling = 8

    def __init__(self, channels: tuple[int, int, int] = (48, 64, 48), in_channels: int = 3):
        super().__init__()
        c1, c2, c3 = channels
        self.latent_channels = c3
        self.layers = nn.Sequential(
            ResidualBlockWithStride(in_channels, c1),
            ResidualBlockWithStride(c1, c2),
            ResidualBlockWithStride(c2, c3),
        )

    def forward(self, x):
        return self.layers(x)
