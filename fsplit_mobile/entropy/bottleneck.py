"""Factorized-prior entropy bottleneck (Ballé et al. 2018), state-dict compatible with CompressAI's
`EntropyBottleneck` (current `matrices.i`/`biases.i`/`factors.i` names and the pre-1.2.6 `_matrix{i}` names).

Training: `forward` adds uniform noise and returns likelihoods; `loss()` fits the quantiles.
Deployment: `update()` builds the integer CDF tables (`_quantized_cdf`, `_cdf_length`, `_offset`) that the
entropy coder uses; `symbols(y)` = round(y - median) as int32 (round half to even, like torch.round).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..ops.parametrizers import LowerBound
from .cdf import pmf_to_quantized_cdf
from .keys import current_name


class EntropyBottleneck(nn.Module):
    """Factorized density per channel, its quantile fit, and the integer tables built from it."""

    target: torch.Tensor
    _offset: torch.Tensor
    _quantized_cdf: torch.Tensor
    _cdf_length: torch.Tensor

    def __init__(
        self,
        channels: int,
        tail_mass: float = 1e-9,
        init_scale: float = 10.0,
        filters: tuple[int, ...] = (3, 3, 3, 3),
        likelihood_bound: float = 1e-9,
        precision: int = 16,
    ):
        super().__init__()
        self.channels = int(channels)
        self.filters = tuple(int(f) for f in filters)
        self.init_scale = float(init_scale)
        self.tail_mass = float(tail_mass)
        self.precision = int(precision)
        self.likelihood_lower_bound = LowerBound(likelihood_bound)

        dims = (1,) + self.filters + (1,)
        scale = self.init_scale ** (1 / (len(self.filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(self.filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(self.filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

        init_quantiles = torch.tensor([-self.init_scale, 0.0, self.init_scale])
        self.quantiles = nn.Parameter(init_quantiles.repeat(channels, 1, 1))
        target = math.log(2 / self.tail_mass - 1)
        self.register_buffer("target", torch.tensor([-target, 0.0, target]))
        self.register_buffer("_offset", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("_quantized_cdf", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("_cdf_length", torch.zeros(0, dtype=torch.int32))

    # ---- density model -------------------------------------------------------------------------------------
    def _logits_cumulative(self, inputs: torch.Tensor, stop_gradient: bool) -> torch.Tensor:
        logits = inputs
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            if stop_gradient:
                matrix, bias = matrix.detach(), bias.detach()
            logits = torch.matmul(F.softplus(matrix), logits) + bias
            if i < len(self.factors):
                factor = self.factors[i].detach() if stop_gradient else self.factors[i]
                logits = logits + torch.tanh(factor) * torch.tanh(logits)
        return logits

    def _likelihood(self, inputs: torch.Tensor) -> torch.Tensor:
        lower = self._logits_cumulative(inputs - 0.5, stop_gradient=False)
        upper = self._logits_cumulative(inputs + 0.5, stop_gradient=False)
        sign = -torch.sign(lower + upper)
        return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))

    def medians(self) -> torch.Tensor:
        """Per-channel median, shape (C,)."""
        return self.quantiles[:, 0, 1].detach()

    def loss(self) -> torch.Tensor:
        """Auxiliary loss that moves `quantiles` to the tail_mass/2 quantiles and the median."""
        logits = self._logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target).sum()

    def forward(self, y: torch.Tensor, training: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(y_hat, likelihoods). Training: y + U(-0.5, 0.5); eval: round(y - median) + median."""
        if training is None:
            training = self.training
        c = y.shape[1]
        perm = (1, 0) + tuple(range(2, y.dim()))
        values = y.permute(*perm).reshape(c, 1, -1)
        if training:
            y_hat = values + torch.empty_like(values).uniform_(-0.5, 0.5)
        else:
            med = self.quantiles[:, :, 1:2].detach()
            y_hat = torch.round(values - med) + med
        likelihood = self.likelihood_lower_bound(self._likelihood(y_hat))
        shape = (c, y.shape[0]) + tuple(y.shape[2:])
        y_hat = y_hat.reshape(shape).permute(*perm).contiguous()
        likelihood = likelihood.reshape(shape).permute(*perm).contiguous()
        return y_hat, likelihood

    # ---- integer tables and symbols --------------------------------------------------------------------------
    @torch.no_grad()
    def update(self, force: bool = False) -> bool:
        """Build the integer CDF tables from the learned density. Returns False if tables exist and not force."""
        if self._offset.numel() > 0 and not force:
            return False
        q = self.quantiles.detach()
        medians = q[:, 0, 1]
        minima = torch.clamp(torch.ceil(medians - q[:, 0, 0]).int(), min=0)
        maxima = torch.clamp(torch.ceil(q[:, 0, 2] - medians).int(), min=0)
        pmf_start = medians - minima
        pmf_length = maxima + minima + 1
        max_length = int(pmf_length.max().item())
        samples = torch.arange(max_length, device=q.device)[None, :] + pmf_start[:, None, None]
        lower = self._logits_cumulative(samples - 0.5, stop_gradient=True)
        upper = self._logits_cumulative(samples + 0.5, stop_gradient=True)
        # CompressAI >= 1.2.5 takes the plain difference here (no sign trick): float32 results, hence the
        # integer tables, differ from the sign-trick form in some channels.
        pmf = (torch.sigmoid(upper) - torch.sigmoid(lower))[:, 0, :]
        tail_mass = torch.sigmoid(lower[:, 0, :1]) + torch.sigmoid(-upper[:, 0, -1:])

        cdf = np.zeros((self.channels, max_length + 2), dtype=np.int32)
        pmf_np, tail_np, lengths = pmf.cpu().numpy(), tail_mass.cpu().numpy(), pmf_length.cpu().numpy()
        for ch in range(self.channels):
            probs = np.concatenate([pmf_np[ch, : lengths[ch]], tail_np[ch]])
            row = pmf_to_quantized_cdf(probs, self.precision)
            cdf[ch, : row.size] = row
        self._offset = (-minima).to(torch.int32)
        self._quantized_cdf = torch.from_numpy(cdf)
        self._cdf_length = (pmf_length + 2).to(torch.int32)
        return True

    def has_tables(self) -> bool:
        return self._quantized_cdf.numel() > 0

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(quantized_cdf (C, Lmax) int32, cdf_length (C,) int32, offset (C,) int32) as numpy arrays."""
        if not self.has_tables():
            raise RuntimeError("entropy bottleneck has no CDF tables: call update() first")
        return (
            self._quantized_cdf.cpu().numpy().astype(np.int32),
            self._cdf_length.cpu().numpy().astype(np.int32),
            self._offset.cpu().numpy().astype(np.int32),
        )

    def symbols(self, y: torch.Tensor) -> torch.Tensor:
        """round(y - median) as int32, per channel (dim 1)."""
        med = self.medians().reshape((1, -1) + (1,) * (y.dim() - 2))
        return torch.round(y - med).to(torch.int32)

    def dequantize(self, symbols: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        med = self.medians().reshape((1, -1) + (1,) * (symbols.dim() - 2))
        return symbols.to(dtype) + med.to(dtype)

    # ---- state dict compatibility ----------------------------------------------------------------------------
    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        for key in list(state_dict.keys()):
            if not key.startswith(prefix):
                continue
            new = prefix + current_name(key[len(prefix) :])
            if new != key:
                state_dict[new] = state_dict.pop(key)
        # Table buffers are variable-sized: resize ours to the incoming shapes so they load verbatim.
        for name in ("_offset", "_quantized_cdf", "_cdf_length"):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, torch.zeros_like(state_dict[key], dtype=torch.int32))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
