"""The ConvDecoder (Darestani & Heckel 2021): nearest upsampling, 3×3 convolutions, ReLU, BatchNorm.

Layer order, checked against the authors' ``convdecoder`` (github MLI-lab/ConvDecoder,
``include/decoder_conv.py``) in the call of their MRI scripts (``skips=False``,
``need_sigmoid=False``, ``bias=False``, ``need_last=True``, ``need_lin_comb=False``,
``upsample_mode="nearest"``, ``kernel_size=3``)::

    z  (1, c, *in_size), uniform in [0, 0.1)
    for n in 1 .. layers - 1:  nearest upsampling to size_n → k×k conv c→c (zero padding, no bias)
                               → ReLU → BatchNorm(c)
    head:                      k×k conv c→c (no bias) → ReLU → BatchNorm(c) → 1×1 conv c→out (no bias)

with ``size_n = ceil(in_size · (out_shape / in_size) ** (n / (layers - 1)))`` and the last size
exactly ``out_shape`` (``geometric_sizes``). ``layers`` is the authors' ``num_layers``: the number
of k×k convolutions. Their MRI scripts use ``num_layers=8``, 160 or 256 channels and
``in_size=[8, 4]`` for 640×368 k-space; the paper's smaller setting is 64 channels. When
``in_size`` is not given it is 8 pixels along the longer side and ``floor(8 · shorter / longer)``
(at least 1) along the other, which gives the authors' ``[8, 4]`` for fastMRI's 640×368, and it is
capped at ``out_shape``. BatchNorm uses batch statistics in every mode (``track_running_stats=False``).
Activations are computed in the channels-last layout (faster on the CPU; the same arithmetic
up to summation order), the output is returned contiguous. A layer whose upsampling doubles the
size exactly (e.g. ``in_size=(4, 4)`` for 256², deepinv's default) convolves on the coarse grid
(``nearest_conv``: the same function, 2.25× fewer multiply-adds for 3×3).
Number of parameters: ``layers · (k²c² + 2c) + c·out_channels`` (+ ``layers · c`` with ``bias``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .base import Generator, check_int, check_shape, seeded
from .nearest_conv import upsample_conv
from .upsampling import geometric_sizes


def default_in_size(out_shape: Sequence[int]) -> tuple[int, int]:
    """8 pixels along the longer side of ``out_shape``, proportionally fewer (≥ 1) along the other."""
    longer = max(out_shape)
    return tuple(min(size, max(1, math.floor(8 * size / longer))) for size in out_shape)


class ConvBlock(nn.Module):
    """[nearest upsampling →] k×k conv (zero padding) → ReLU → BatchNorm, ``(1, c, h, w)`` →
    ``(1, c, *size)`` (``size`` None: no upsampling)."""

    def __init__(self, channels: int, kernel_size: int, bias: bool):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.norm = nn.BatchNorm2d(channels, track_running_stats=False)

    def forward(self, x: torch.Tensor, size: Sequence[int] | None = None) -> torch.Tensor:
        """``(1, c, h, w)`` → ``(1, c, *size)``, or ``(1, c, h, w)`` when ``size`` is None."""
        # the conv output is fresh and not needed for its backward: ReLU in place
        return self.norm(torch.relu_(upsample_conv(x, size, self.conv.weight, self.conv.bias)))


class ConvDecoder(Generator):
    """ConvDecoder generator (see module docstring for the exact layers).

    Args:
        out_shape: output size ``(H, W)``, any positive size.
        channels: channels ``c`` of every layer and of the input.
        layers: number of k×k convolutions (the authors' ``num_layers``), at least 2.
        out_channels: output channels (2 per complex image, ``2·coils`` for coil images).
        kernel_size: odd convolution size ``k``.
        sigmoid: map the output to [0, 1]; False (authors) for MRI.
        seed: seeds the input and the weights.
        in_size: input spatial size; default ``default_in_size(out_shape)``.
        bias: convolution biases (the authors' scripts use none).

    ``forward()`` returns ``(1, out_channels, H, W)`` float32.
    """

    def __init__(self, out_shape: Sequence[int], channels: int = 64, layers: int = 7, out_channels: int = 2,
                 kernel_size: int = 3, sigmoid: bool = False, seed: int = 0,
                 in_size: Sequence[int] | None = None, bias: bool = False):
        super().__init__(out_shape, out_channels, sigmoid)
        self.channels = check_int("channels", channels)
        if check_int("layers", layers) < 2:
            raise ValueError(f"layers must be at least 2 (one upsampling block and the head), got {layers}")
        if check_int("kernel_size", kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same-size convolutions), got {kernel_size}")
        in_size = default_in_size(self.out_shape) if in_size is None else check_shape(in_size, "in_size")
        if any(i > o for i, o in zip(in_size, self.out_shape)):
            raise ValueError(f"in_size {tuple(in_size)} must not exceed out_shape {self.out_shape}")
        self.in_size = tuple(in_size)
        self.sizes = geometric_sizes(self.in_size, self.out_shape, layers - 1)
        with seeded(seed):
            self.blocks = nn.ModuleList(ConvBlock(channels, kernel_size, bias) for _ in range(layers))
            self.output = nn.Conv2d(channels, out_channels, 1, bias=bias)
            self.set_input(channels, self.in_size)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        # channels-last activations: the CPU's (oneDNN) convolutions and BatchNorm run ~20 % faster
        # on this layout, and every layer keeps it; the weights stay as they are
        z = z.contiguous(memory_format=torch.channels_last)
        for block, size in zip(self.blocks[:-1], self.sizes):
            z = block(z, size)
        return self.output(self.blocks[-1](z)).contiguous()
