"""A fast structured random operator: randomly signed, subsampled orthonormal DCT.

``A = sqrt(n/m) · P · C · D`` acting on ``vec(x)`` of length ``n``: ``D`` flips signs at random
(±1), ``C`` is the orthonormal 1-D DCT-II of length ``n`` and ``P`` keeps ``m`` of its ``n``
outputs chosen uniformly without replacement. The sign flips spread any image's energy evenly over
the DCT coefficients, so ``A`` behaves like a Gaussian matrix for recovery, at ``O(n log n)`` cost
and ``O(n)`` memory instead of ``O(mn)``.

Scaling: the factor ``sqrt(n/m)`` makes it comparable to ``GaussianMatrix`` (entries
``N(0, 1/m)``): ``E[A^T A] = I`` over the random row choice, rows have squared norm ``n/m`` and
``||A x|| ≈ ||x||``. Its rows are orthogonal, so every singular value is exactly ``sqrt(n/m)``
(the Gaussian's spread around ``1 ± sqrt(n/m)``).
"""
from __future__ import annotations

import math

import torch

from .base import LinearOperator, _as_shape
from .dense_products import real_matmul
from .subsample import check_seed, measurement_count


class RandomizedDCT(LinearOperator):
    """``y = sqrt(n/m) · (DCT(signs ⊙ vec(x)))[indices]``, the fast alternative to ``GaussianMatrix``.

    Args:
        in_shape: trailing input shape, e.g. ``(C, H, W)``; ``n = prod(in_shape)``.
        m: number of measurements, an int in ``[1, n]`` or a float ratio in ``(0, 1]`` of ``n``.
        seed: int seed of the signs and the kept coefficients.

    Input ``(..., *in_shape)`` real or complex (the operator is real); output ``(..., m)`` of the
    input's dtype. ``||A|| = sqrt(n/m)``. Built from torch FFTs, so it runs on any device and
    gradients flow through it.
    """

    def __init__(self, in_shape, m, seed: int = 0):
        in_shape = _as_shape(in_shape, "in_shape")
        n = math.prod(in_shape)
        m = measurement_count(m, n)
        super().__init__(in_shape, (m,))
        generator = torch.Generator().manual_seed(check_seed(seed))
        self.signs = torch.randint(0, 2, (n,), generator=generator).to(torch.float32) * 2 - 1
        self.indices = torch.randperm(n, generator=generator)[:m].sort().values
        self.scale = math.sqrt(n / m)

    def _forward(self, x):
        flat = x.reshape(*x.shape[:x.ndim - len(self.in_shape)], -1)
        return real_matmul(flat, lambda v: dct_ortho(v * self.signs)[..., self.indices] * self.scale)

    def _adjoint(self, y):
        n = self.signs.shape[0]

        def apply(v):
            full = v.new_zeros(*v.shape[:-1], n)
            full[..., self.indices] = v * self.scale
            return idct_ortho(full) * self.signs

        return real_matmul(y, apply).reshape(*y.shape[:-1], *self.in_shape)


def dct_ortho(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal DCT-II over the last axis of real ``x`` (``scipy.fft.dct(x, norm="ortho")``).

    Makhoul's algorithm: one length-``N`` FFT of the even samples followed by the reversed odd ones.
    """
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    twiddle = torch.exp(-0.5j * math.pi * torch.arange(n, device=x.device, dtype=x.dtype) / n)
    out = 2 * (torch.fft.fft(v) * twiddle).real
    return out * _ortho_weights(n, x.device, x.dtype)


def idct_ortho(y: torch.Tensor) -> torch.Tensor:
    """Inverse (= transpose) of ``dct_ortho`` over the last axis of real ``y`` (an orthonormal DCT-III)."""
    n = y.shape[-1]
    z = y / _ortho_weights(n, y.device, y.dtype) / 2
    # V_k = (Z_k - i Z_{N-k}) e^{iπk/2N}, with Z_N = 0: the FFT of the reordered samples
    shifted = torch.cat([torch.zeros_like(z[..., :1]), z[..., 1:].flip(-1)], dim=-1)
    twiddle = torch.exp(0.5j * math.pi * torch.arange(n, device=y.device, dtype=y.dtype) / n)
    v = torch.fft.ifft((z - 1j * shifted) * twiddle).real
    half = (n + 1) // 2
    out = torch.empty_like(v)
    out[..., ::2] = v[..., :half]
    out[..., 1::2] = v[..., half:].flip(-1)
    return out


def _ortho_weights(n: int, device, dtype) -> torch.Tensor:
    weights = torch.full((n,), math.sqrt(1 / (2 * n)), device=device, dtype=dtype)
    weights[0] = math.sqrt(1 / (4 * n))
    return weights
