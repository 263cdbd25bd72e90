"""An explicit matrix acting on flattened images."""
from __future__ import annotations

import math

import torch

from .base import LinearOperator, _as_shape
from .dense_products import MatrixProduct, adjoint_product, forward_product, real_matmul


class MatrixOperator(LinearOperator):
    """``y = M vec(x)`` for a dense matrix ``M`` of shape ``(m, prod(in_shape))``.

    Args:
        matrix: real or complex tensor ``(m, n)``.
        in_shape: trailing input shape with ``prod(in_shape) == n``; defaults to ``(n,)``.

    Input ``(*batch, *in_shape)``, output ``(*batch, m)``. A real matrix accepts real or complex
    input (complex input is applied as its real and imaginary parts, the matrix stays real); a
    complex matrix requires complex input. Products read the matrix once per batch
    (``csprior.operators.dense_products``).
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

    @property
    def batch_amortised(self) -> bool:
        """True: each product reads the matrix once for the whole batch."""
        return True

    def _forward(self, x):
        flat = x.reshape(*x.shape[:x.ndim - len(self.in_shape)], -1)
        return MatrixProduct.apply(flat, self._product, True)

    def _adjoint(self, y):
        flat = MatrixProduct.apply(y, self._product, False)
        return flat.reshape(*y.shape[:-1], *self.in_shape)

    def _product(self, v: torch.Tensor, forward: bool) -> torch.Tensor:
        """``M v`` (forward) or ``Mᴴ v`` for ``v`` ``(*batch, n or m)``."""
        if not self.matrix.is_complex():
            return real_matmul(v, lambda parts: _dense_product(parts, self.matrix.to(parts.dtype), forward))
        batch = v.shape[:-1]
        return _dense_product(v.reshape(-1, v.shape[-1]), self.matrix.to(v.dtype), forward).reshape(*batch, -1)


def _dense_product(v: torch.Tensor, matrix: torch.Tensor, forward: bool) -> torch.Tensor:
    return forward_product(v, matrix) if forward else adjoint_product(v, matrix.conj())
