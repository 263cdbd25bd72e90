"""The ablations of the fixed-upsampling decoder (Heckel & Soltanolkotabi, ICLR 2020).

Both keep the Deep Decoder's interface and its ReLU → BatchNorm blocks but drop its key
ingredient, the fixed interpolating upsampling:

- ``TransposedConvDecoder``: each "1×1 conv → fixed ×2 upsampling" becomes a learned stride-2
  transposed convolution (k×k, k→k channels, no bias, as in DCGAN-style generators), cropped to
  the next size of ``halving_sizes``; then the Deep Decoder's full-size 1×1 block and output conv.
- ``ConvNet3x3``: no upsampling at all; the input is noise at full size and ``layers`` learned
  k×k convolutions (zero padding, no bias) → ReLU → BatchNorm precede the output 1×1 conv.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import Generator, check_int, seeded
from .conv_decoder import ConvBlock
from .deep_decoder import DeepDecoderBlock
from .upsampling import halving_sizes, stride2_padding


class TransposedUpBlock(nn.Module):
    """Learned stride-2 transposed conv → crop to ``size`` → ReLU → BatchNorm, ``(1, k, h, w)``."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        padding, output_padding = stride2_padding((kernel_size, kernel_size))
        self.conv = nn.ConvTranspose2d(channels, channels, kernel_size, stride=2, padding=padding,
                                       output_padding=output_padding, bias=False)
        self.norm = nn.BatchNorm2d(channels, track_running_stats=False)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """``(1, k, h, w)`` → ``(1, k, *size)`` with ``size`` at most ``(2h, 2w)``."""
        return self.norm(torch.relu(self.conv(x)[..., :size[0], :size[1]]))


class TransposedConvDecoder(Generator):
    """Deep Decoder with learned transposed convolutions instead of fixed upsampling.

    Args:
        out_shape: output size ``(H, W)`` with ``min(H, W) >= 2**depth``.
        channels: channels of every layer and of the input.
        depth: number of stride-2 transposed convolutions.
        out_channels: output channels.
        kernel_size: transposed-convolution size (4 gives exact doubling without overlap gaps).
        sigmoid: map the output to [0, 1].
        seed: seeds the input and the weights.

    ``forward()`` returns ``(1, out_channels, H, W)`` float32. Parameters:
    ``depth·(k²·kernel_size² + 2k) + k² + 2k + k·out_channels``.
    """

    def __init__(self, out_shape: Sequence[int], channels: int = 64, depth: int = 5, out_channels: int = 1,
                 kernel_size: int = 4, sigmoid: bool = True, seed: int = 0):
        super().__init__(out_shape, out_channels, sigmoid)
        check_int("channels", channels)
        check_int("kernel_size", kernel_size)
        check_int("depth", depth, least=0)
        self.sizes = halving_sizes(self.out_shape, depth)
        with seeded(seed):
            self.up_blocks = nn.ModuleList(TransposedUpBlock(channels, kernel_size) for _ in range(depth))
            self.last = DeepDecoderBlock(channels)
            self.output = nn.Conv2d(channels, out_channels, 1, bias=False)
            self.set_input(channels, self.sizes[0])

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        for block, size in zip(self.up_blocks, self.sizes[1:]):
            z = block(z, size)
        return self.output(self.last(z))


class ConvNet3x3(Generator):
    """Convolutional network without upsampling: full-size noise → k×k conv blocks → 1×1 conv.

    Args:
        out_shape: output size ``(H, W)``.
        channels: channels of every layer and of the input.
        layers: number of k×k conv → ReLU → BatchNorm blocks.
        out_channels: output channels.
        kernel_size: odd convolution size.
        sigmoid: map the output to [0, 1].
        seed: seeds the input and the weights.

    ``forward()`` returns ``(1, out_channels, H, W)`` float32. Parameters:
    ``layers·(k²·kernel_size² + 2k) + k·out_channels``.
    """

    def __init__(self, out_shape: Sequence[int], channels: int = 64, layers: int = 6, out_channels: int = 1,
                 kernel_size: int = 3, sigmoid: bool = True, seed: int = 0):
        super().__init__(out_shape, out_channels, sigmoid)
        check_int("channels", channels)
        check_int("layers", layers)
        if check_int("kernel_size", kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same-size convolutions), got {kernel_size}")
        with seeded(seed):
            self.blocks = nn.Sequential(*(ConvBlock(channels, kernel_size, bias=False) for _ in range(layers)))
            self.output = nn.Conv2d(channels, out_channels, 1, bias=False)
            self.set_input(channels, self.out_shape)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.output(self.blocks(z))
