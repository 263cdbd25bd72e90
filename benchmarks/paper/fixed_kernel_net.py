"""The paper's "fixed convolutions without upsampling" ablation of the Deep Decoder.

Heckel & Soltanolkotabi (2020) separate the Deep Decoder's two ingredients: here the input is noise
at full size and each block is ``1×1 conv k→k (no bias) → fixed depthwise convolution → ReLU →
BatchNorm``, so the only spatial operation is a FIXED interpolating filter, as in the decoder, but
nothing is upsampled. The default filter is the 3×3 linear-interpolation kernel
``outer([1, 2, 1], [1, 2, 1]) / 16`` with zero padding (the same size in and out).
Parameters: ``layers·(k² + 2k) + k·out_channels``, the Deep Decoder's count for ``layers = depth + 1``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from csprior.generators.base import Generator, check_int, seeded


def linear_interpolation_kernel() -> torch.Tensor:
    """``outer([1, 2, 1], [1, 2, 1]) / 16``, ``(3, 3)`` float32."""
    taps = torch.tensor([1.0, 2.0, 1.0])
    return torch.outer(taps, taps) / 16


class FixedKernelBlock(nn.Module):
    """1×1 conv (no bias) → fixed depthwise ``kernel`` → ReLU → BatchNorm on ``(1, k, H, W)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.norm = nn.BatchNorm2d(channels, track_running_stats=False)

    def forward(self, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        weight = kernel.expand(channels, 1, *kernel.shape)
        x = F.conv2d(self.conv(x), weight, padding=(kernel.shape[0] // 2, kernel.shape[1] // 2), groups=channels)
        return self.norm(torch.relu(x))


class FixedKernelNet(Generator):
    """Full-size noise → ``layers`` × (1×1 conv → fixed interpolating filter → ReLU → BN) → 1×1 conv.

    Args:
        out_shape: output size ``(H, W)``.
        channels: channels ``k`` of every layer and of the input.
        layers: number of blocks.
        out_channels: output channels.
        kernel: fixed odd-sized 2-D filter (default ``linear_interpolation_kernel()``).
        sigmoid: map the output to [0, 1].
        seed: seeds the input and the weights.

    ``forward()`` returns ``(1, out_channels, H, W)`` float32.
    """

    def __init__(self, out_shape: Sequence[int], channels: int = 64, layers: int = 6, out_channels: int = 1,
                 kernel: torch.Tensor | None = None, sigmoid: bool = True, seed: int = 0):
        super().__init__(out_shape, out_channels, sigmoid)
        check_int("channels", channels)
        check_int("layers", layers)
        kernel = linear_interpolation_kernel() if kernel is None else kernel.detach().to(torch.float32)
        if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
            raise ValueError(f"kernel must be a 2-D tensor of odd sizes, got shape {tuple(kernel.shape)}")
        self.register_buffer("kernel", kernel)
        with seeded(seed):
            self.blocks = nn.ModuleList(FixedKernelBlock(channels) for _ in range(layers))
            self.output = nn.Conv2d(channels, out_channels, 1, bias=False)
            self.set_input(channels, self.out_shape)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            z = block(z, self.kernel)
        return self.output(z)
