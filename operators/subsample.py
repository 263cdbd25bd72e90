"""Random pixel subsampling: keep ``m`` entries of the image, drop the rest (a row-selection matrix)."""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

from .base import LinearOperator, _as_shape


def measurement_count(m, n: int, name: str = "m") -> int:
    """Number of measurements from ``m``: an int count in ``[1, n]`` or a float ratio in ``(0, 1]``.

    A ratio gives ``max(1, round(m * n))``. Note the type decides: ``1`` is one measurement,
    ``1.0`` is all ``n``.
    """
    if isinstance(m, bool) or not isinstance(m, Real):
        raise TypeError(f"{name} must be an int count or a float ratio, got {type(m).__name__}")
    if isinstance(m, Integral):
        if not 1 <= m <= n:
            raise ValueError(f"{name} must be a count in [1, {n}] (the input size), got {m}")
        return int(m)
    if not (math.isfinite(m) and 0 < m <= 1):
        raise ValueError(f"{name} must be a ratio in (0, 1] when given as a float, got {m}")
    return max(1, round(float(m) * n))


def check_seed(seed, name: str = "seed") -> int:
    """Validate an int seed (``>= 0``) and return it as a Python int."""
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"{name} must be a non-negative int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return int(seed)


class PixelSubsample(LinearOperator):
    """Keep ``m`` randomly chosen entries of the input: ``y = x.flatten()[indices]``.

    Args:
        in_shape: trailing input shape, e.g. ``(C, H, W)``.
        m: number of kept entries, an int in ``[1, n]`` or a float ratio in ``(0, 1]`` of
            ``n = prod(in_shape)``.
        seed: int seed of the (uniform, without replacement) choice.

    Input ``(..., *in_shape)`` real or complex; output ``(..., m)`` of the input's dtype, the kept
    entries in increasing flat-index order (``indices``). The adjoint scatters them back into zeros.
    ``||A|| = 1``.
    """

    def __init__(self, in_shape, m, seed: int = 0):
        in_shape = _as_shape(in_shape, "in_shape")
        n = math.prod(in_shape)
        m = measurement_count(m, n)
        generator = torch.Generator().manual_seed(check_seed(seed))
        super().__init__(in_shape, (m,))
        self.indices = torch.randperm(n, generator=generator)[:m].sort().values

    def _forward(self, x):
        return x.reshape(*x.shape[:x.ndim - len(self.in_shape)], -1)[..., self.indices]

    def _adjoint(self, y):
        flat = y.new_zeros(*y.shape[:-1], math.prod(self.in_shape))
        flat[..., self.indices] = y
        return flat.reshape(*y.shape[:-1], *self.in_shape)
