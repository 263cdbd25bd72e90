"""The one place where a generator's real output channels become an operator's input.

A generator returns ``(1, C, H, W)`` real channels. An operator takes ``(*lead, H, W)`` with
``in_shape = (*lead, H, W)``; let ``P = prod(lead)`` (1 for ``(H, W)``).

- real operators: ``C = P``; channel ``p`` is entry ``p`` of ``lead`` (e.g. an RGB image
  ``(3, H, W)`` takes three channels; a gray ``(H, W)`` or ``(1, H, W)`` image takes one);
- complex operators: ``C = 2P``; channels ``2p`` and ``2p + 1`` are the real and imaginary parts of
  entry ``p``, so a single complex MR image takes two channels and ``coils`` complex coil images
  take ``2 * coils`` channels.
"""
from __future__ import annotations

import math

import torch

from csprior.operators import LinearOperator


def channels_for(A: LinearOperator) -> int:
    """Number of real generator channels that make one input of ``A``."""
    planes = math.prod(A.in_shape[:-2])
    return 2 * planes if A.is_complex else planes


def channels_to_input(channels: torch.Tensor, A: LinearOperator) -> torch.Tensor:
    """Map generator output ``(1, C, H, W)`` to an input of ``A`` shaped ``A.in_shape``.

    Raises ValueError when the generator's output does not fit ``A.in_shape`` (wrong spatial size
    or channel count), naming both shapes.
    """
    expected = channels_for(A)
    spatial = A.in_shape[-2:]
    if channels.ndim != 4 or channels.shape[0] != 1 or tuple(channels.shape[1:]) != (expected, *spatial):
        kind = "complex" if A.is_complex else "real"
        raise ValueError(f"generator output {tuple(channels.shape)} does not fit the operator: its "
                         f"{kind} input {A.in_shape} needs (1, {expected}, {spatial[0]}, {spatial[1]})")
    planes = channels[0]
    if A.is_complex:
        planes = torch.complex(planes[0::2], planes[1::2])
    return planes.reshape(A.in_shape)

