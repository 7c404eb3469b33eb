"""The SC2-benchmark "entropic student" bottleneck encoder (FP-based ResNet bottleneck, Matsubara et al.).

conv5x5/2 3->96, GDN, conv5x5/2 96->48, GDN, conv2x2/1 (no padding) 48->24; no biases.
A 224x224 image becomes a 24x55x55 latent. The GDN layers are the simplified GDN1, as in sc2bench's
FPBasedResNetBottleneck (its encoder has always used compressai.layers.GDN1).
"""

from torch import nn

from .gdn import GDN1


class EntropicStudentEncoder(nn.Module):
    downsampling = 4

    def __init__(self, num_channels: tuple[int, int, int] = (96, 48, 24), in_channels: int = 3):
        super().__init__()
        c1, c2, c3 = num_channels
        self.latent_channels = c3
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, stride=2, padding=2, bias=False),
            GDN1(c1),
            nn.Conv2d(c1, c2, 5, stride=2, padding=2, bias=False),
            GDN1(c2),
            nn.Conv2d(c2, c3, 2, stride=1, padding=0, bias=False),
        )

    def forward(self, x):
        return self.layers(x)
