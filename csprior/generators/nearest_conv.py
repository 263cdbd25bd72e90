"""A k×k convolution of a ×2 nearest-upsampled image, computed on the coarse grid.

``conv(upsample2x(x), W)`` (zero padding ``k // 2``, odd ``k``) repeats every input row and column
twice before the convolution, so output pixel ``(2i + a, 2j + b)`` sees each coarse pixel through
the *sum* of the kernel taps that land on its copies. Per phase ``(a, b)`` that is a
``(k//2 + 1)²`` kernel on ``x`` itself: for ``k = 3``, four 2×2 kernels instead of one 3×3 on four
times the pixels, i.e. 16 instead of 36 multiply-adds per output channel and coarse pixel (2.25×
fewer). The four phase kernels are one convolution with ``4·c_out`` outputs; a strided copy then
interleaves the phases into the fine grid. The mathematics is the layer's (a test compares the
two in float64 to rounding); only the summation order differs.

``upsample_conv`` is the ConvDecoder's upsample-then-convolve step: the coarse-grid path whenever a
layer doubles its size exactly (deepinv's default ``in_size=(4, 4)`` with power-of-two images, for
instance), ``F.interpolate`` + ``F.conv2d`` for other sizes.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def doubles(in_size, out_size) -> bool:
    """Whether nearest upsampling from ``in_size`` to ``out_size`` (both ``(h, w)``) is exactly ×2."""
    return all(o == 2 * i for i, o in zip(in_size, out_size))


def _phase_matrices(kernel_size: int, like: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """``(2, k//2 + 1, k)`` 0/1 matrices summing the taps of a k-tap filter that fall on the same
    coarse sample, for output phase 0 and 1, and each phase's first coarse offset."""
    half = kernel_size // 2
    matrices = torch.zeros(2, half + 1, kernel_size, dtype=like.dtype, device=like.device)
    starts = [(phase - half) // 2 for phase in (0, 1)]
    for phase, start in enumerate(starts):
        for tap in range(-half, half + 1):
            matrices[phase, (phase + tap) // 2 - start, tap + half] = 1.0
    return matrices, starts


class _InterleavePhases(torch.autograd.Function):
    """Copy the four phase outputs ``(1, G·4·c, H1, W1)`` (channels-last, ordered group, phase row,
    phase column, channel) into the fine grid ``(1, G·c, 2h, 2w)`` (channels-last); the backward
    pass scatters the gradient back through the same strided view."""

    @staticmethod
    def forward(ctx, phases: torch.Tensor, view_size: tuple, view_stride: tuple) -> torch.Tensor:
        ctx.view_size, ctx.view_stride, ctx.phase_shape = view_size, view_stride, phases.shape
        _, h, _, w, _, groups, channels = view_size
        fine = torch.empty(1, groups * channels, 2 * h, 2 * w, dtype=phases.dtype, device=phases.device,
                           memory_format=torch.channels_last)
        fine.permute(0, 2, 3, 1).view(view_size).copy_(phases.as_strided(view_size, view_stride))
        return fine

    @staticmethod
    def backward(ctx, grad_fine: torch.Tensor):
        _, channels, height, width = ctx.phase_shape
        grad = grad_fine.new_zeros(1, height, width, channels)
        grad.as_strided(ctx.view_size, ctx.view_stride).copy_(grad_fine.permute(0, 2, 3, 1).reshape(ctx.view_size))
        return grad.permute(0, 3, 1, 2), None, None


def upsample2x_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                    groups: int = 1) -> torch.Tensor:
    """``F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=k // 2,
    groups=groups)`` computed on the coarse grid (see the module docstring).

    Args:
        x: ``(1, G·c_in, h, w)``.
        weight: ``(G·c_out, c_in, k, k)`` with odd ``k``.
        bias: ``(G·c_out,)`` or None.
        groups: ``G``, as in ``F.conv2d``.

    Returns:
        ``(1, G·c_out, 2h, 2w)`` in the channels-last memory layout.
    """
    if x.shape[0] != 1:
        raise ValueError(f"x must hold one image (1, C, h, w), got shape {tuple(x.shape)}")
    kernel_size = weight.shape[-1]
    if weight.shape[-2] != kernel_size or kernel_size % 2 == 0:
        raise ValueError(f"weight must be square with an odd size, got shape {tuple(weight.shape)}")
    out_channels = weight.shape[0] // groups
    matrices, starts = _phase_matrices(kernel_size, weight)
    # per group: output channels ordered (phase row, phase column, channel)
    phase_weight = torch.einsum("ark,gockl,bsl->gabocrs", matrices,
                                weight.unflatten(0, (groups, out_channels)), matrices)
    phase_weight = phase_weight.reshape(groups * 4 * out_channels, weight.shape[1], *phase_weight.shape[-2:])
    phase_bias = None if bias is None else bias.view(groups, 1, out_channels).expand(groups, 4, out_channels).reshape(-1)
    before, after = -min(starts), max(starts) + kernel_size // 2
    padded = F.pad(x, (before, after, before, after)).contiguous(memory_format=torch.channels_last)
    phases = F.conv2d(padded, phase_weight, phase_bias, groups=groups).contiguous(memory_format=torch.channels_last)
    return _InterleavePhases.apply(phases, *_phase_view(phases.shape, x.shape[-2:], groups, starts[1] - starts[0]))


def _phase_view(phase_shape, coarse_size, groups: int, shift: int) -> tuple[tuple, tuple]:
    """Size and strides of the view ``(1, h, 2, w, 2, G, c)`` of the channels-last phase outputs
    that reads fine pixel ``(2i + a, 2j + b)`` of channel ``(g, c)``; phase 1 reads ``shift``
    coarse positions further than phase 0 (both start at padded position 0)."""
    _, all_channels, _, padded_width = phase_shape
    channels = all_channels // (4 * groups)
    row, column = padded_width * all_channels, all_channels
    size = (1, coarse_size[0], 2, coarse_size[1], 2, groups, channels)
    stride = (0, row, shift * row + 2 * channels, column, shift * column + channels, 4 * channels, 1)
    return size, stride


def upsample_conv(x: torch.Tensor, size: Sequence[int] | None, weight: torch.Tensor,
                  bias: torch.Tensor | None, groups: int = 1) -> torch.Tensor:
    """Nearest upsampling of ``x`` ``(1, G·c_in, h, w)`` to ``size`` (None: none), then the k×k
    convolution ``weight`` ``(G·c_out, c_in, k, k)`` with zero padding; an exact doubling takes the
    coarse-grid path (``upsample2x_conv``, 2.25× fewer multiply-adds for 3×3)."""
    if size is not None and weight.shape[-1] > 1 and doubles(x.shape[-2:], size):
        return upsample2x_conv(x, weight, bias, groups)
    if size is not None:
        x = F.interpolate(x, size=tuple(size), mode="nearest")
    return F.conv2d(x, weight, bias, padding=weight.shape[-1] // 2, groups=groups)
