"""Reference Deep Decoder and ConvDecoder written as the papers' code writes them.

Plain ``nn.Sequential`` stacks of ``Conv2d``/``Upsample``/``ReLU``/``BatchNorm2d`` in the layer
order of the authors' ``decodernw`` (reinhardh/supplement_deep_decoder) and ``convdecoder``
(MLI-lab/ConvDecoder), used by ``csprior.benchmarks.speed`` as the baseline and by the tests to
check that ``csprior.generators`` computes the same function. The Deep Decoder reference upsamples
with ``scale_factor=2`` as the authors do, so its output side is the input side times
``2**depth``. ``copy_parameters`` moves weights between a csprior generator and a reference:
both register their trainable tensors in the same order.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from csprior.generators import ConvDecoder


def reference_deep_decoder(channels: int, depth: int, out_channels: int = 1, sigmoid: bool = True,
                           upsample_mode: str = "bilinear") -> nn.Sequential:
    """The authors' ``decodernw(num_channels_up=[channels] * depth)``: maps ``(1, k, h, w)`` to
    ``(1, out_channels, h·2**depth, w·2**depth)``."""
    layers: list[nn.Module] = []
    for i in range(depth + 1):
        layers.append(nn.Conv2d(channels, channels, 1, bias=False))
        if i < depth:
            layers.append(nn.Upsample(scale_factor=2, mode=upsample_mode))
        layers += [nn.ReLU(), nn.BatchNorm2d(channels)]
    layers.append(nn.Conv2d(channels, out_channels, 1, bias=False))
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def reference_conv_decoder(sizes: Sequence[Sequence[int]], channels: int, out_channels: int = 2,
                           kernel_size: int = 3, sigmoid: bool = False, bias: bool = False) -> nn.Sequential:
    """The authors' ``convdecoder(..., skips=False, need_last=True, bias=False,
    upsample_mode="nearest")`` with the upsampling sizes ``sizes`` (``layers - 1`` of them);
    ``bias=True`` gives deepinv's ``ConvDecoder`` layers (every convolution with a bias)."""
    layers: list[nn.Module] = []
    for size in sizes:
        layers += [nn.Upsample(size=tuple(size), mode="nearest"),
                   nn.Conv2d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2, bias=bias),
                   nn.ReLU(), nn.BatchNorm2d(channels)]
    layers += [nn.Conv2d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2, bias=bias),
               nn.ReLU(), nn.BatchNorm2d(channels), nn.Conv2d(channels, out_channels, 1, bias=bias)]
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def deepinv_architecture(out_shape: Sequence[int], channels: int) -> ConvDecoder:
    """csprior's ConvDecoder with deepinv's ``ConvDecoder`` defaults: 7 layers, input 4×4, biases,
    one output channel."""
    return ConvDecoder(out_shape, channels=channels, layers=7, out_channels=1, in_size=(4, 4), bias=True)


def deepinv_conv_decoder(ours: ConvDecoder) -> nn.Module:
    """deepinv's own ``ConvDecoder`` with ``ours``'s shape when deepinv is installed, else the same
    layers as an ``nn.Sequential`` (both register their parameters in csprior's order)."""
    try:
        from deepinv.models import ConvDecoder as DeepinvConvDecoder
    except ImportError:
        return reference_conv_decoder(ours.sizes, ours.channels, ours.out_channels, bias=True)
    return DeepinvConvDecoder((ours.out_channels, *ours.out_shape), in_size=ours.in_size,
                              layers=len(ours.blocks), channels=ours.channels)


@torch.no_grad()
def copy_parameters(source: nn.Module, target: nn.Module) -> None:
    """Copy every trainable tensor of ``source`` into ``target``, in registration order.

    Raises ValueError when the two do not hold the same number and shapes of parameters.
    """
    pairs = list(zip(source.parameters(), target.parameters()))
    if len(pairs) != len(list(source.parameters())) or len(pairs) != len(list(target.parameters())):
        raise ValueError("source and target must have the same number of parameters")
    for src, dst in pairs:
        if src.shape != dst.shape:
            raise ValueError(f"parameter shapes differ: {tuple(src.shape)} vs {tuple(dst.shape)}")
        dst.copy_(src)
