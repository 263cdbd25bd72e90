"""An explicit matrix acting on flattened images."""
from __future__ import annotations

import math

import torch

from .base import LinearOperator, _as_shape


class MatrixOperator(LinearOperator):
    """``y = M vec(x)`` for a dense matrix ``M`` of shape ``(m, prod(in_shape))``.

    Args:
        matrix: real or complex tensor ``(m, n)``.
        in_shape: trailing input shape with ``prod(in_shape) == n``; defaults to ``(n,)``.

    Input ``(*batch, *in_shape)``, output ``(*batch, m)``. A real matrix accepts real or complex
    input; a complex matrix requires complex input.
    """

    def __init__(self, matrix: torch.Tensor, in_shape=None):
        if not isinstance(matrix, torch.Tensor) or matrix.ndim != 2:
            raise TypeError("matrix must be a 2-D torch.Tensor (m, n)")
        if not (matrix.is_floating_point() or matrix.is_complex()):
            raise TypeError(f"matrix must be a floating or complex tensor, got {matrix.dtype}")
        if matrix.numel() == 0:
            raise ValueError(f"matrix must have at least one row and one column, got shape {tuple(matrix.shape)}")
        if not bool(torch.isfinite(matrix).all()):
            raise ValueError("matrix contains NaN or Inf values")
        in_shape = _as_shape(in_shape, "in_shape") if in_shape is not None else (matrix.shape[1],)
        if math.prod(in_shape) != matrix.shape[1]:
            raise ValueError(f"in_shape {in_shape} has {math.prod(in_shape)} entries but matrix has "
                             f"{matrix.shape[1]} columns")
        dtype = torch.complex64 if matrix.is_complex() else None
        super().__init__(in_shape, (matrix.shape[0],), dtype, dtype)
        self.matrix = matrix

    def _forward(self, x):
        flat = x.reshape(*x.shape[:x.ndim - len(self.in_shape)], -1)
        return flat @ self.matrix.to(flat.dtype).T

    def _adjoint(self, y):
        flat = y @ self.matrix.to(y.dtype).conj()
        return flat.reshape(*y.shape[:-1], *self.in_shape)
