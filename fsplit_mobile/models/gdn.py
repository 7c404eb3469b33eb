"""Generalized divisive normalisation (Ballé et al.) and its export-friendly baked form.

GDN computes its effective weights from reparameterised parameters on every call. Exporters (XNNPACK, int8
quantizers) cannot see through that, so before export every GDN is replaced by :class:`BakedGDN`, which holds
the effective weights as a constant 1x1 convolution and uses only conv, mul, sqrt and div.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.parametrizers import NonNegativeParametrizer


class GDN(nn.Module):
    """y = x / sqrt(beta + gamma * x^2) (or x * sqrt(...) when inverse). State-dict compatible with CompressAI."""

    def __init__(self, in_channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = bool(inverse)
        self.beta_reparam = NonNegativeParametrizer(minimum=beta_min)
        self.gamma_reparam = NonNegativeParametrizer()
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(in_channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(in_channels)))

    @property
    def channels(self) -> int:
        return self.beta.shape[0]

    def effective_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma as a C x C x 1 x 1 conv weight, beta as its bias) after reparameterisation."""
        c = self.channels
        return self.gamma_reparam(self.gamma).reshape(c, c, 1, 1), self.beta_reparam(self.beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.effective_weights()
        norm = torch.sqrt(F.conv2d(x * x, gamma, beta))
        return x * norm if self.inverse else x / norm


class GDN1(GDN):
    """Simplified GDN (Johnston et al. 2019), as CompressAI's GDN1: y = x / (beta + gamma * |x|) (x * (...) if inverse).

    SC2-benchmark's FPBasedResNetBottleneck uses this one; same parameters and state-dict keys as GDN.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.effective_weights()
        norm = F.conv2d(torch.abs(x), gamma, beta)
        return x * norm if self.inverse else x / norm


class BakedGDN(nn.Module):
    """GDN with constant weights: a 1x1 conv on x*x, then sqrt and div (or mul). Same output as the GDN it came from.

    Baked from a GDN1 it runs a 1x1 conv on |x| and divides (or multiplies), without the sqrt.
    """

    def __init__(self, gdn: GDN):
        super().__init__()
        gamma, beta = gdn.effective_weights()
        c = gdn.channels
        self.inverse = gdn.inverse
        self.simplified = isinstance(gdn, GDN1)
        self.norm = nn.Conv2d(c, c, kernel_size=1, bias=True)
        bias = self.norm.bias
        assert bias is not None  # built with bias=True
        with torch.no_grad():
            self.norm.weight.copy_(gamma.detach())
            bias.copy_(beta.detach())
        self.norm.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.norm(torch.abs(x)) if self.simplified else torch.sqrt(self.norm(x * x))
        return x * norm if self.inverse else x / norm


def bake_gdn(module: nn.Module) -> nn.Module:
    """Replace every GDN inside `module` (in place) by a BakedGDN; returns the module. Idempotent."""
    if isinstance(module, GDN):
        return BakedGDN(module)
    for name, child in list(module.named_children()):
        if isinstance(child, GDN):
            setattr(module, name, BakedGDN(child))
        else:
            bake_gdn(child)
    return module
