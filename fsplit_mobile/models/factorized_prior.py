"""Analysis/synthesis transforms of CompressAI's FactorizedPrior (bmshj2018-factorized, Ballé et al. 2018).

g_a: four 5x5 stride-2 convs with GDN between them (N channels inside, M in the latent): 16x downsampling.
"""

from torch import nn

from .gdn import GDN


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=2, padding=2)


def _deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class FactorizedPriorEncoder(nn.Module):
    """g_a of bmshj2018-factorized: image (B,3,H,W) -> latent (B,M,H/16,W/16)."""

    downsampling = 16

    def __init__(self, N: int = 128, M: int = 192, in_channels: int = 3):
        super().__init__()
        self.N, self.M = N, M
        self.latent_channels = M
        self.g_a = nn.Sequential(_conv(in_channels, N), GDN(N), _conv(N, N), GDN(N), _conv(N, N), GDN(N), _conv(N, M))

    def forward(self, x):
        return self.g_a(x)


class FactorizedPriorDecoder(nn.Module):
    """g_s of bmshj2018-factorized: latent (B,M,h,w) -> image (B,3,16h,16w)."""

    def __init__(self, N: int = 128, M: int = 192, out_channels: int = 3):
        super().__init__()
        self.g_s = nn.Sequential(
            _deconv(M, N),
            GDN(N, inverse=True),
            _deconv(N, N),
            GDN(N, inverse=True),
            _deconv(N, N),
            GDN(N, inverse=True),
            _deconv(N, out_channels),
        )

    def forward(self, y):
        return self.g_s(y)
