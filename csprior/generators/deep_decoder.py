"""The Deep Decoder (Heckel & Hand, ICLR 2019): 1×1 convolutions, fixed upsampling, ReLU, BatchNorm.

Layer order, checked against the authors' ``decodernw`` (github reinhardh/supplement_deep_decoder,
``include/decoder.py``, defaults ``upsample_first=True``, ``bn_before_act=False``, ``bn_affine=True``)::

    z  (1, k, h0, w0), uniform in [0, 0.1)
    for i in 0 .. depth - 1:   1×1 conv k→k (no bias) → upsample ×2 → ReLU → BatchNorm(k)
    once, at full size:        1×1 conv k→k (no bias) → ReLU → BatchNorm(k)
    output:                    1×1 conv k→out_channels (no bias) → sigmoid (optional)

so ``num_channels_up=[k] * depth`` in the authors' call is ``DeepDecoder(channels=k, depth=depth)``:
``depth`` ×2 upsamplings and ``depth + 1`` blocks. The authors' ``conv`` has no bias and its
reflection padding is void for 1×1 kernels. BatchNorm uses the statistics of the current batch (the
authors never leave training mode); here ``track_running_stats=False`` makes that hold in
``eval()`` mode too. The authors' input is ``floor(H / 2**depth)`` pixels and doubles exactly;
here sizes follow ``halving_sizes`` (identical when ``2**depth`` divides ``H`` and ``W``, and exact
on ``out_shape`` otherwise). On the CPU, for outputs of 64×64 pixels and more, the activations are
kept in channels-last layout, which runs the 1×1 convolutions and BatchNorm faster there (measured
with ``csprior.benchmarks.speed``; below that size the layout change costs more than it saves); the
arithmetic is the same, only the summation order may differ.
Number of parameters: ``(depth + 1)(k² + 2k) + k·out_channels``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import Generator, check_int, seeded
from .upsampling import FixedUpsample, halving_sizes

_CHANNELS_LAST_MIN_PIXELS = 64 * 64


class DeepDecoderBlock(nn.Module):
    """1×1 conv (no bias) → optional fixed upsampling → ReLU → BatchNorm on ``(1, k, h, w)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.norm = nn.BatchNorm2d(channels, track_running_stats=False)

    def forward(self, x: torch.Tensor, upsample: FixedUpsample | None = None,
                size: tuple[int, int] | None = None) -> torch.Tensor:
        x = self.conv(x)
        if upsample is not None:
            x = upsample(x, size)
        # x is a fresh tensor that neither conv nor upsampling needs for backward: ReLU in place
        return self.norm(torch.relu_(x))


class DeepDecoder(Generator):
    """Deep Decoder generator (see module docstring for the exact layers).

    Args:
        out_shape: output size ``(H, W)``; any size with ``min(H, W) >= 2**depth``.
        channels: channels ``k`` of every layer (the input has ``k`` channels too).
        depth: number of ×2 upsamplings (``depth + 1`` blocks); 0 gives a per-pixel network.
        out_channels: output channels (1 gray, 3 RGB, 2 per complex image).
        upsample: ``"bilinear"`` (authors), ``"nearest"``, ``"bicubic"`` or a fixed 2-D kernel tensor.
        sigmoid: map the output to [0, 1] (natural images); False for complex/MRI outputs.
        seed: seeds the input and the weights.

    ``forward()`` returns ``(1, out_channels, H, W)`` float32.
    """

    def __init__(self, out_shape: Sequence[int], channels: int = 64, depth: int = 5, out_channels: int = 1,
                 upsample="bilinear", sigmoid: bool = True, seed: int = 0):
        super().__init__(out_shape, out_channels, sigmoid)
        self.channels = check_int("channels", channels)
        self.depth = check_int("depth", depth, least=0)
        self.upsample = FixedUpsample(upsample)
        self.sizes = halving_sizes(self.out_shape, depth)
        with seeded(seed):
            self.blocks = nn.ModuleList(DeepDecoderBlock(channels) for _ in range(depth + 1))
            self.output = nn.Conv2d(channels, out_channels, 1, bias=False)
            self.set_input(channels, self.sizes[0])

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        if z.device.type == "cpu" and self.out_shape[0] * self.out_shape[1] >= _CHANNELS_LAST_MIN_PIXELS:
            z = z.contiguous(memory_format=torch.channels_last)
        for block, size in zip(self.blocks[:-1], self.sizes[1:]):
            z = block(z, self.upsample, size)
        return self.output(self.blocks[-1](z)).contiguous()
