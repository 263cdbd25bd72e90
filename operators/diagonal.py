"""Element-wise multiplication by fixed weights: masks, diagonal weightings."""
from __future__ import annotations

import torch

from .base import LinearOperator


class Diagonal(LinearOperator):
    """``y = w * x`` element-wise, for weights ``w`` of shape ``in_shape`` (= ``out_shape``).

    Real weights (a boolean mask is turned into 0/1 float32) accept real or complex input;
    complex weights require complex input. Input and output ``(*batch, *w.shape)``.
    """

    def __init__(self, weights: torch.Tensor):
        if not isinstance(weights, torch.Tensor):
            raise TypeError(f"weights must be a torch.Tensor, got {type(weights).__name__}")
        if weights.dtype == torch.bool:
            weights = weights.to(torch.float32)
        if not (weights.is_floating_point() or weights.is_complex()):
            raise TypeError(f"weights must be a boolean, floating or complex tensor, got {weights.dtype}")
        if weights.ndim == 0 or weights.numel() == 0:
            raise ValueError(f"weights must have at least one dimension and one entry, got shape {tuple(weights.shape)}")
        if not bool(torch.isfinite(weights).all()):
            raise ValueError("weights contains NaN or Inf values")
        dtype = torch.complex64 if weights.is_complex() else None
        super().__init__(weights.shape, weights.shape, dtype, dtype)
        self.weights = weights

    @property
    def measured(self) -> torch.Tensor:
        return self.weights != 0

    def _forward(self, x):
        return x * self.weights

    def _adjoint(self, y):
        return y * self.weights.conj()
