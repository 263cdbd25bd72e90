"""Products of a large dense matrix with a few vectors, in the orientation the CPU BLAS streams fastest.

A fit applies a dense measurement matrix ``M`` ``(m, n)`` to a handful of vectors at once: the
candidates of a λ sweep, the members of an ensemble. Such products are bound by reading ``M`` from
memory, so they should read it once, however many vectors there are. torch's CPU BLAS (MKL) does
that only for ``M @ V^T``; ``V @ M^T`` and ``R @ M`` cost about one pass of ``M`` per vector.
Measured here (2 threads, ``M`` 8192 × 16384 float32, the Gaussian 50 % matrix of a 128² image,
median of 7, ms; ``python -m csprior.benchmarks.dense_products``):

=========  ==========  ==========  ======  ===============================
vectors    ``V@M^T``   ``M@V^T``   ``R@M``  ``R@M`` in 32-row steps
=========  ==========  ==========  ======  ===============================
1          25.1        26.1        25.3    28.6
5          106.6       49.7        107.1   62.6
10         132.5       79.9        138.7   69.2
=========  ==========  ==========  ======  ===============================

For ``A^T`` the rows of ``M`` are accumulated a few at a time, so the partial result stays in cache
while ``M`` streams past once. Both functions return the same values as the plain products (up to
float rounding; summation order differs).

``MatrixProduct`` puts such products under autograd without autograd choosing the orientation of the
backward product or keeping the matrix, and ``real_matmul`` applies a real matrix to complex vectors
as one batch of real ones (real and imaginary parts) instead of converting the matrix to complex.
"""
from __future__ import annotations

import torch

ADJOINT_ROW_STEP = 32  # rows of M per accumulation step of R @ M on CPU (table above)


def forward_product(vectors: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``vectors @ matrix.T`` for ``vectors`` ``(b, n)`` and ``matrix`` ``(m, n)``; returns ``(b, m)``."""
    return (matrix @ vectors.T).T


def adjoint_product(vectors: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``vectors @ matrix`` for ``vectors`` ``(b, m)`` and ``matrix`` ``(m, n)``; returns ``(b, n)``.

    On CPU with more than one vector the rows of ``matrix`` are accumulated ``ADJOINT_ROW_STEP`` at a
    time; otherwise (one vector, or a GPU, where the steps were not measured) one product."""
    if vectors.shape[0] == 1 or vectors.device.type != "cpu":
        return vectors @ matrix
    out = vectors.new_zeros(vectors.shape[0], matrix.shape[1])
    for start in range(0, matrix.shape[0], ADJOINT_ROW_STEP):
        out.addmm_(vectors[:, start:start + ADJOINT_ROW_STEP], matrix[start:start + ADJOINT_ROW_STEP])
    return out


class MatrixProduct(torch.autograd.Function):
    """``apply(v, forward)``: a linear map (``forward=True``) or its adjoint, with the other as backward.

    ``apply`` takes ``v`` ``(b, n)`` (forward) or ``(b, m)`` (adjoint), real or complex. The backward
    of a map is its adjoint applied to the incoming gradient (torch's convention for complex
    tensors), computed by the same ``apply``.
    """

    @staticmethod
    def forward(ctx, v, apply, forward: bool):
        ctx.linear_map, ctx.direction = apply, forward
        with torch.no_grad():
            return apply(v, forward)

    @staticmethod
    def backward(ctx, grad):
        return MatrixProduct.apply(grad, ctx.linear_map, not ctx.direction), None, None


def real_matmul(v: torch.Tensor, apply) -> torch.Tensor:
    """Apply a real linear map ``apply`` over the last axis of ``v`` (complex: to both parts at once)."""
    batch = v.shape[:-1]
    if not v.is_complex():
        return apply(v.reshape(-1, v.shape[-1])).reshape(*batch, -1)
    parts = torch.view_as_real(v).movedim(-1, -2).reshape(-1, v.shape[-1])  # (batch*2, length)
    out = apply(parts).reshape(*batch, 2, -1).movedim(-2, -1).contiguous()
    return torch.view_as_complex(out)
