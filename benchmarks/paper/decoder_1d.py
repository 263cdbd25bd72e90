"""A 1-D Deep Decoder for the paper's signal experiments (``csprior.generators`` is 2-D only).

The layers are the 2-D ``DeepDecoder``'s with 1-D modules (Heckel & Hand 2019)::

    z  (1, k, n / 2**depth), uniform in [0, 0.1)
    depth times:  1×1 conv k→k (no bias) → linear upsampling ×2 → ReLU → BatchNorm(k)
    once:         1×1 conv k→k (no bias) → ReLU → BatchNorm(k)
    output:       1×1 conv k→1 (no bias), no sigmoid (signals are not confined to [0, 1])

BatchNorm uses the current batch's statistics in every mode, as the 2-D decoder does.
Parameters: ``(depth + 1)(k² + 2k) + k``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csprior.generators.base import check_int, seeded


class DeepDecoder1d(nn.Module):
    """1-D Deep Decoder mapping a fixed seeded input to a signal ``(1, 1, n)`` float32.

    Args:
        n: output length; ``2**depth`` must divide it.
        channels: channels ``k`` of every layer.
        depth: number of ×2 linear upsamplings.
        seed: seeds the input and the weights.
    """

    def __init__(self, n: int, channels: int = 64, depth: int = 5, seed: int = 0):
        super().__init__()
        self.n = check_int("n", n)
        check_int("channels", channels)
        self.depth = check_int("depth", depth, least=0)
        if n % 2 ** depth:
            raise ValueError(f"n must be divisible by 2**depth = {2 ** depth}, got n = {n}")
        with seeded(seed):
            self.convs = nn.ModuleList(nn.Conv1d(channels, channels, 1, bias=False) for _ in range(depth + 1))
            self.norms = nn.ModuleList(nn.BatchNorm1d(channels, track_running_stats=False)
                                       for _ in range(depth + 1))
            self.output = nn.Conv1d(channels, 1, 1, bias=False)
            self.register_buffer("net_input", 0.1 * torch.rand(1, channels, n // 2 ** depth))

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self) -> torch.Tensor:
        """The signal ``(1, 1, n)`` float32."""
        x = self.net_input
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = conv(x)
            if index < self.depth:
                x = F.interpolate(x, scale_factor=2, mode="linear", align_corners=False)
            x = norm(torch.relu(x))
        return self.output(x)
