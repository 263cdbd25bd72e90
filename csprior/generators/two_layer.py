"""The two-layer generator of Heckel & Soltanolkotabi (ICLR 2020): ``G(C) = ReLU(U C) v``.

``U`` is the circulant convolution with a fixed filter ``u`` (1-D signals of length ``n`` or 2-D
``n1×n2`` images, circular boundary, computed by FFT), ``C`` holds the trainable ``k`` channels and
``v`` is fixed with entries ``+1/sqrt(k)`` on the first ``ceil(k/2)`` channels and ``-1/sqrt(k)``
on the others. The paper's analysis is about this model's Jacobian ``J = ∂G/∂C`` (its singular
vectors are smooth, low-frequency signals), which ``jacobian`` returns densely for small ``n``.

Conventions: the trainable ``C`` is stored as ``weight`` ``(k, *shape)`` (channel ``j`` is column
``c_j`` of the paper's ``n×k`` matrix), so ``(U C)_j = u ⊛ c_j``. A filter shorter than the signal
is zero-padded and rolled so that its centre tap ``m // 2`` sits at index 0; symmetric filters then
do not shift the signal. ``C`` starts with i.i.d. ``N(0, init_std²)`` entries.
"""
from __future__ import annotations

import math
import torch
from torch import nn

from .base import check_int, check_shape


def centred_filter(filter: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``filter`` (``(m,)`` or ``(m1, m2)``) zero-padded to ``shape`` (``(n,)`` or ``(n1, n2)``) with its
    centre tap rolled to index 0; float64 of ``shape``."""
    padded = torch.zeros(shape, dtype=torch.float64)
    padded[tuple(slice(0, m) for m in filter.shape)] = filter.to(torch.float64)
    return torch.roll(padded, tuple(-(m // 2) for m in filter.shape), dims=tuple(range(len(shape))))


class TwoLayerGenerator(nn.Module):
    """``G(C) = ReLU(U C) v`` for 1-D signals (``n_or_shape`` int) or 2-D images (``(n1, n2)``).

    Args:
        n_or_shape: signal length ``n`` or image shape ``(n1, n2)``.
        k: number of channels (columns of ``C``).
        filter: the fixed convolution filter, 1-D ``(m,)`` or 2-D ``(m1, m2)`` with ``m ≤ n`` per axis.
        seed: seeds the initial ``C``.
        init_std: standard deviation of the initial entries of ``C``.

    ``forward()`` returns ``(1, 1, n)`` or ``(1, 1, n1, n2)`` float32.

    Attributes:
        out_shape: ``(n,)`` or ``(n1, n2)``; ``out_channels``: 1.
        weight: the trainable ``C``, ``(k, *out_shape)``.
        v: the fixed output weights ``(k,)``.
    """

    def __init__(self, n_or_shape, k: int, filter: torch.Tensor, seed: int = 0, init_std: float = 1.0):
        super().__init__()
        shape = (n_or_shape,) if isinstance(n_or_shape, int) and not isinstance(n_or_shape, bool) else n_or_shape
        self.out_shape = check_shape(shape, "n_or_shape", ndims=(1, 2))
        self.out_channels = 1
        self.k = check_int("k", k)
        if not isinstance(filter, torch.Tensor) or filter.ndim != len(self.out_shape) or filter.is_complex():
            raise ValueError(f"filter must be a real {len(self.out_shape)}-D tensor for signals of shape "
                             f"{self.out_shape}, got {getattr(filter, 'shape', type(filter).__name__)}")
        if any(m > n for m, n in zip(filter.shape, self.out_shape)) or filter.numel() == 0 \
                or not torch.isfinite(filter).all():
            raise ValueError(f"filter must be finite and non-empty with at most {self.out_shape} taps, got "
                             f"shape {tuple(filter.shape)}")
        if not init_std > 0:
            raise ValueError(f"init_std must be positive, got {init_std}")
        self.register_buffer("filter", centred_filter(filter, self.out_shape).to(torch.float32))
        signs = torch.where(torch.arange(k) < math.ceil(k / 2), 1.0, -1.0)
        self.register_buffer("v", signs / math.sqrt(k))
        generator = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(init_std * torch.randn(k, *self.out_shape, generator=generator))

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars, ``k·n``."""
        return self.weight.numel()

    def convolve(self, channels: torch.Tensor) -> torch.Tensor:
        """``U`` applied to each of ``channels`` ``(k, *out_shape)``: circular convolution by FFT."""
        dims = tuple(range(1, 1 + len(self.out_shape)))
        spectrum = torch.fft.rfftn(self.filter, dim=[d - 1 for d in dims])
        return torch.fft.irfftn(torch.fft.rfftn(channels, dim=dims) * spectrum, s=self.out_shape, dim=dims)

    def forward(self, weight: torch.Tensor | None = None) -> torch.Tensor:
        """``G(C)`` as ``(1, 1, *out_shape)``; ``weight`` replaces ``C`` when given (same shape)."""
        C = self.weight if weight is None else weight
        if tuple(C.shape) != tuple(self.weight.shape):
            raise ValueError(f"weight must have shape {tuple(self.weight.shape)}, got {tuple(C.shape)}")
        hidden = torch.relu(self.convolve(C))
        return torch.tensordot(self.v, hidden, dims=1)[None, None]

    def circulant(self) -> torch.Tensor:
        """The dense ``U`` ``(N, N)``, ``N = prod(out_shape)``, acting on flattened signals."""
        n = math.prod(self.out_shape)
        basis = torch.eye(n, dtype=self.filter.dtype, device=self.filter.device).reshape(n, *self.out_shape)
        return self.convolve(basis).reshape(n, n).T

    @torch.no_grad()
    def jacobian(self) -> torch.Tensor:
        """Dense ``∂ vec(G) / ∂ vec(C)`` at the current ``C``, ``(N, k·N)``, ``N = prod(out_shape)``.

        Column ``j·N + i`` is the derivative with respect to ``weight[j].flatten()[i]``; block ``j``
        is ``v_j · diag(1[U c_j > 0]) · U``.
        """
        n = math.prod(self.out_shape)
        U = self.circulant()
        active = (self.convolve(self.weight) > 0).reshape(self.k, n).to(U.dtype)
        blocks = self.v[:, None, None] * active[:, :, None] * U[None]
        return blocks.permute(1, 0, 2).reshape(n, self.k * n)
