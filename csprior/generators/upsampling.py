"""Fixed (not trainable) upsampling and the size schedules that make decoders land on any shape.

``FixedUpsample`` enlarges ``(B, C, h, w)`` feature maps to a requested size with a fixed
interpolating filter:

- ``"bilinear"`` (the Deep Decoder's default, ``align_corners=False`` as in the authors' code),
  ``"bicubic"`` or ``"nearest"`` via ``torch.nn.functional.interpolate(size=...)``;
- a user 2-D kernel ``(kh, kw)``, e.g. ``outer([1, 3, 3, 1], [1, 3, 3, 1]) / 16`` (the linear
  interpolation filter of Heckel & Soltanolkotabi), applied to every channel as a depthwise
  transposed convolution with stride 2; it is a buffer, never a parameter. Zero padding makes the
  border samples see only part of the kernel, as a transposed convolution does.

``halving_sizes`` chooses the intermediate sizes of a ×2 decoder: walking back from the output,
each size is ``ceil(next / 2)``. Sizes divisible by ``2**depth`` therefore double exactly (the
papers' setting), any other size still ends exactly on ``out_shape``, and each step asks for at
most twice its input, which the kernel path needs (it computes ``2h`` rows and drops the last row
when the target is odd). ``geometric_sizes`` is the ConvDecoder authors' schedule.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLE_MODES = ("bilinear", "bicubic", "nearest")


def halving_sizes(out_shape: Sequence[int], depth: int) -> list[tuple[int, int]]:
    """``depth + 1`` sizes from the coarse input size to ``out_shape``, each ``ceil(next / 2)``.

    Raises ValueError when ``min(out_shape) < 2**depth`` (the input would be below one pixel per
    ``2**depth`` block and some steps would not enlarge).
    """
    height, width = out_shape
    if min(height, width) < 2 ** depth:
        raise ValueError(f"out_shape {tuple(out_shape)} is too small for depth={depth}: "
                         f"both sides must be at least 2**depth = {2 ** depth}")
    sizes = [(height, width)]
    for _ in range(depth):
        h, w = sizes[0]
        sizes.insert(0, (math.ceil(h / 2), math.ceil(w / 2)))
    return sizes


def geometric_sizes(in_size: Sequence[int], out_shape: Sequence[int], steps: int) -> list[tuple[int, int]]:
    """``steps`` sizes growing geometrically from ``in_size`` to exactly ``out_shape``.

    Size ``n`` is ``ceil(in * (out / in) ** (n / steps))`` for ``n < steps`` and ``out_shape`` last,
    as in the ConvDecoder authors' ``convdecoder`` (MLI-lab/ConvDecoder).
    """
    ratios = [(o / i) ** (1 / steps) for i, o in zip(in_size, out_shape)]
    sizes = [tuple(math.ceil(r ** n * i) for r, i in zip(ratios, in_size)) for n in range(1, steps)]
    return [*sizes, tuple(out_shape)]


def stride2_padding(kernel_shape: Sequence[int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(padding, output_padding)`` that make a stride-2 transposed convolution with this kernel
    map ``n`` samples to exactly ``2n`` (its output is ``2(n - 1) - 2p + k + op``)."""
    return tuple((k - 1) // 2 for k in kernel_shape), tuple(k % 2 for k in kernel_shape)


class FixedUpsample(nn.Module):
    """Upsample ``(B, C, h, w)`` to ``(B, C, *size)`` with a fixed filter (see module docstring).

    Args:
        mode: ``"bilinear"``, ``"bicubic"``, ``"nearest"`` or a 2-D float kernel tensor
            ``(kh, kw)`` for a stride-2 depthwise transposed convolution.
    """

    def __init__(self, mode="bilinear"):
        super().__init__()
        if isinstance(mode, torch.Tensor):
            kernel = mode.detach().to(torch.float32).clone()
            if kernel.ndim != 2 or min(kernel.shape) < 1 or not torch.isfinite(kernel).all():
                raise ValueError(f"upsample kernel must be a finite 2-D tensor (kh, kw), got shape "
                                 f"{tuple(mode.shape)}")
            self.mode = "kernel"
            self.register_buffer("kernel", kernel)
        elif isinstance(mode, str) and mode in UPSAMPLE_MODES:
            self.mode = mode
            self.kernel = None
        else:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES} or a 2-D kernel tensor, got {mode!r}")

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        """``x`` ``(B, C, h, w)`` enlarged to ``(B, C, *size)``; the kernel path needs ``size <= 2·(h, w)``."""
        size = tuple(size)
        if self.kernel is None:
            align = False if self.mode in ("bilinear", "bicubic") else None
            return F.interpolate(x, size=size, mode=self.mode, align_corners=align)
        return self._transposed(x, size)

    def _transposed(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if size[0] > 2 * x.shape[-2] or size[1] > 2 * x.shape[-1]:
            raise ValueError(f"a stride-2 kernel enlarges {tuple(x.shape[-2:])} to at most twice, "
                             f"asked for {size}")
        kh, kw = self.kernel.shape
        padding, output_padding = stride2_padding((kh, kw))
        channels = x.shape[1]
        weight = self.kernel.to(x.dtype).expand(channels, 1, kh, kw)
        out = F.conv_transpose2d(x, weight, stride=2, padding=padding, output_padding=output_padding,
                                 groups=channels)
        return out[..., :size[0], :size[1]]

    def extra_repr(self) -> str:
        return f"mode={self.mode}" + (f", kernel={tuple(self.kernel.shape)}" if self.kernel is not None else "")
