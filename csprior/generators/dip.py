"""Deep Image Prior (Ulyanov, Vedaldi & Lempitsky 2018): the encoder-decoder "skip" network.

Layers, after the authors' ``skip`` (github DmitryUlyanov/deep-image-prior, ``models/skip.py``,
``models/common.py``) called as in their denoising notebook (``get_net(32, "skip", "reflection",
upsample_mode="bilinear", skip_n33d=128, skip_n33u=128, skip_n11=4, num_scales=5)``). Every
convolution has a bias and reflection padding ``(k - 1) // 2``, every activation is
``LeakyReLU(0.2)``; level ``i`` (input ``x`` with ``c_in`` channels, size ``(h, w)``) is::

    skip  = [1×1 conv c_in→skip_i → BN → act]                      (absent when skip_i = 0)
    down  = 3×3 conv c_in→down_i, stride 2 → BN → act → 3×3 conv down_i→down_i → BN → act
            → level i + 1 (absent at the deepest level) → upsample to (h, w)
    out   = BN(cat(skip, down)) → 3×3 conv →up_i → BN → act → 1×1 conv up_i→up_i → BN → act

and the network is level 0 followed by a 1×1 conv ``up_0→out_channels`` and a sigmoid (optional
here). The input is uniform noise in [0, 0.1) with ``in_channels`` channels at full size.

Sizes that 2**scales does not divide: a stride-2 convolution of a side ``n`` gives ``ceil(n / 2)``,
and each level upsamples its deeper result to exactly its own input size, so nothing is cropped and
the output is ``out_shape`` (the authors upsample by exactly 2 and centre-crop in ``Concat``, which
equals this when 2**scales divides the sizes). Reflection padding needs at least 2 pixels at the
deepest level: ``min(out_shape) > 2**scales``. BatchNorm uses batch statistics in every mode.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import Generator, check_int, seeded

_ACTIVATION_SLOPE = 0.2


def _conv_bn_act(c_in: int, c_out: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """Reflection pad → conv (bias) → BatchNorm → LeakyReLU(0.2)."""
    return nn.Sequential(nn.ReflectionPad2d((kernel_size - 1) // 2),
                         nn.Conv2d(c_in, c_out, kernel_size, stride, bias=True),
                         nn.BatchNorm2d(c_out, track_running_stats=False),
                         nn.LeakyReLU(_ACTIVATION_SLOPE))


class SkipLevel(nn.Module):
    """One scale of the skip network: ``(1, c_in, h, w)`` → ``(1, up, h, w)``."""

    def __init__(self, c_in: int, down: int, up: int, skip: int, deeper: "SkipLevel | None", deeper_out: int,
                 kernel_down: int, kernel_up: int, kernel_skip: int, upsample: str):
        super().__init__()
        self.skip = _conv_bn_act(c_in, skip, kernel_skip) if skip else None
        self.down = nn.Sequential(_conv_bn_act(c_in, down, kernel_down, stride=2),
                                  _conv_bn_act(down, down, kernel_down))
        self.deeper = deeper
        self.upsample = upsample
        merged = skip + (deeper_out if deeper is not None else down)
        self.up = nn.Sequential(nn.BatchNorm2d(merged, track_running_stats=False),
                                _conv_bn_act(merged, up, kernel_up), _conv_bn_act(up, up, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(1, c_in, h, w)`` → ``(1, up, h, w)``: down a scale, the deeper levels, back up, merged with the skip."""
        d = self.down(x)
        if self.deeper is not None:
            d = self.deeper(d)
        align = False if self.upsample in ("bilinear", "bicubic") else None
        d = F.interpolate(d, size=x.shape[-2:], mode=self.upsample, align_corners=align)
        if self.skip is not None:
            d = torch.cat([self.skip(x), d], dim=1)
        return self.up(d)


class DeepImagePrior(Generator):
    """The Deep Image Prior "skip" encoder-decoder (see module docstring for the exact layers).

    Args:
        out_shape: output size ``(H, W)`` with ``min(H, W) > 2**scales``.
        in_channels: channels of the fixed noise input (authors: 32).
        out_channels: output channels.
        channels_down, channels_up, channels_skip: per-scale channels, equal lengths = number of
            scales (authors' denoising: ``[128] * 5``, ``[128] * 5``, ``[4] * 5``); a skip count
            of 0 drops that skip branch.
        kernel_down, kernel_up, kernel_skip: odd convolution sizes (3, 3, 1).
        upsample: ``"bilinear"`` (denoising notebook), ``"nearest"`` or ``"bicubic"``.
        sigmoid: map the output to [0, 1].
        seed: seeds the input and the weights.

    ``forward()`` returns ``(1, out_channels, H, W)`` float32.
    """

    def __init__(self, out_shape: Sequence[int], in_channels: int = 32, out_channels: int = 1,
                 channels_down: Sequence[int] = (128,) * 5, channels_up: Sequence[int] = (128,) * 5,
                 channels_skip: Sequence[int] = (4,) * 5, kernel_down: int = 3, kernel_up: int = 3,
                 kernel_skip: int = 1, upsample: str = "bilinear", sigmoid: bool = True, seed: int = 0):
        super().__init__(out_shape, out_channels, sigmoid)
        check_int("in_channels", in_channels)
        down, up, skip = (tuple(channels_down), tuple(channels_up), tuple(channels_skip))
        self._check_channels(down, up, skip)
        for name, k in (("kernel_down", kernel_down), ("kernel_up", kernel_up), ("kernel_skip", kernel_skip)):
            if check_int(name, k) % 2 == 0:
                raise ValueError(f"{name} must be odd, got {k}")
        if upsample not in ("bilinear", "nearest", "bicubic"):
            raise ValueError(f'upsample must be "bilinear", "nearest" or "bicubic", got {upsample!r}')
        scales = len(down)
        if min(self.out_shape) <= 2 ** scales:
            raise ValueError(f"out_shape {self.out_shape} is too small for {scales} scales: the deepest "
                             f"level needs 2 pixels, i.e. min(out_shape) > 2**scales = {2 ** scales}")
        with seeded(seed):
            level = None
            for i in reversed(range(scales)):
                c_in = in_channels if i == 0 else down[i - 1]
                deeper_out = up[i + 1] if i + 1 < scales else 0
                level = SkipLevel(c_in, down[i], up[i], skip[i], level, deeper_out,
                                  kernel_down, kernel_up, kernel_skip, upsample)
            self.levels = level
            self.output = nn.Conv2d(up[0], out_channels, 1, bias=True)
            self.set_input(in_channels, self.out_shape)

    @staticmethod
    def _check_channels(down, up, skip) -> None:
        if not (len(down) == len(up) == len(skip)) or not down:
            raise ValueError("channels_down, channels_up and channels_skip must be non-empty and of equal "
                             f"length, got {len(down)}, {len(up)}, {len(skip)}")
        for name, values, least in (("channels_down", down, 1), ("channels_up", up, 1), ("channels_skip", skip, 0)):
            if any(isinstance(v, bool) or not isinstance(v, int) or v < least for v in values):
                raise ValueError(f"{name} must hold ints >= {least}, got {values}")

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.output(self.levels(z))
