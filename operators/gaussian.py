"""A dense i.i.d. Gaussian measurement matrix that is stored while small and regenerated when not.

The matrix ``A`` (``m × n``, entries ``N(0, 1/m)``, so that ``E[A^T A] = I``) is defined row chunk by
row chunk: chunk ``k`` (rows ``16k ... 16k + 15``) is drawn by a CPU ``torch.Generator`` seeded from
``(seed, k)`` through numpy's ``SeedSequence``. The same ``seed`` therefore gives the same matrix
whatever the memory budget or device, and forward and adjoint regenerate identical blocks.

While ``m·n·4`` bytes fit ``memory_budget`` the matrix is stored; otherwise each application
regenerates it in blocks of rows of at most ``memory_budget`` bytes (at least one chunk), so memory
stays near the budget at the cost of drawing ``m·n`` normal numbers per application (10 to 20 s for a
256×256 image at ``m = n/2`` on one CPU core, almost all of it drawing; see
``csprior.benchmarks.gaussian_memory``).
``RandomizedDCT`` is the fast structured alternative for large images.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .base import LinearOperator, _as_shape
from .dense_products import MatrixProduct, adjoint_product, forward_product, real_matmul
from .subsample import check_seed, measurement_count

CHUNK_ROWS = 16  # rows drawn from one seed: the unit the matrix is defined in
# bytes: stores the matrix of a 128² image at any m (cs-natural's 50 % cell is 512 MiB); regenerated,
# that matrix took 1 s per application on one core here, hours over one fit's 6000 iterations
DEFAULT_MEMORY_BUDGET = 2 ** 30


class GaussianMatrix(LinearOperator):
    """``y = A vec(x)`` for an ``m × n`` matrix of i.i.d. ``N(0, 1/m)`` entries, ``n = prod(in_shape)``.

    Args:
        in_shape: trailing input shape, e.g. ``(C, H, W)``.
        m: number of measurements, an int in ``[1, n]`` or a float ratio in ``(0, 1]`` of ``n``.
        seed: int seed defining the matrix (independent of ``memory_budget`` and device).
        memory_budget: bytes the stored matrix, or one regenerated block of rows, may take
            (default 1 GiB). The matrix is stored when ``4·m·n <= memory_budget``.

    Input ``(..., *in_shape)`` real or complex (the matrix is real); output ``(..., m)`` of the
    input's dtype. ``||A|| ≈ 1 + sqrt(n/m)`` for large sizes. Gradients flow through both modes;
    the regenerated mode never keeps the matrix for backward (its backward is the adjoint).
    """

    def __init__(self, in_shape, m, seed: int = 0, memory_budget: int = DEFAULT_MEMORY_BUDGET):
        in_shape = _as_shape(in_shape, "in_shape")
        n = math.prod(in_shape)
        m = measurement_count(m, n)
        if isinstance(memory_budget, bool) or not isinstance(memory_budget, int) or memory_budget <= 0:
            raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}")
        super().__init__(in_shape, (m,))
        self.seed = check_seed(seed)
        self.memory_budget = memory_budget
        self.n = n
        chunks_per_block = max(1, memory_budget // (4 * n * CHUNK_ROWS))
        self.block_rows = min(m, chunks_per_block * CHUNK_ROWS)
        # an empty tensor that moves with .to(), so that wrappers (A.H, A @ B) find the device too
        self._device_anchor = torch.empty(0)
        # scale in place: a scaled copy would briefly hold the matrix twice
        self.matrix = self.rows(0, m).mul_(1 / math.sqrt(m)) if 4 * m * n <= memory_budget else None

    @property
    def batch_amortised(self) -> bool:
        """True: each product reads (or regenerates) the matrix once for the whole batch
        (``csprior.operators.dense_products``)."""
        return True

    @property
    def stored(self) -> bool:
        """True when the matrix is held in memory, False when it is regenerated block by block."""
        return self.matrix is not None

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` of the *unscaled* matrix (standard normal), float32 ``(stop-start, n)``."""
        first, last = start // CHUNK_ROWS, (stop - 1) // CHUNK_ROWS
        out = torch.empty((last - first + 1) * CHUNK_ROWS, self.n)
        for k in range(first, last + 1):
            generator = torch.Generator().manual_seed(_chunk_seed(self.seed, k))
            torch.randn(CHUNK_ROWS, self.n, generator=generator, out=out[(k - first) * CHUNK_ROWS:][:CHUNK_ROWS])
        offset = first * CHUNK_ROWS
        return out[start - offset:stop - offset].to(self.device)

    def blocks(self):
        """Yield ``(start, stop)`` of the row blocks regenerated per application."""
        m = self.out_shape[0]
        for start in range(0, m, self.block_rows):
            yield start, min(start + self.block_rows, m)

    def _forward(self, x):
        flat = x.reshape(*x.shape[:x.ndim - len(self.in_shape)], self.n)
        return MatrixProduct.apply(flat, self._product, True)

    def _adjoint(self, y):
        flat = MatrixProduct.apply(y, self._product, False)
        return flat.reshape(*y.shape[:-1], *self.in_shape)

    def _product(self, v: torch.Tensor, forward: bool) -> torch.Tensor:
        """``A v`` or ``A^T v`` for ``v`` ``(batch, n or m)``, real or complex."""
        return real_matmul(v, lambda parts: self._apply(parts, forward))

    def _apply(self, v: torch.Tensor, forward: bool) -> torch.Tensor:
        """``A v`` (forward) or ``A^T v`` for real ``v`` ``(batch, n or m)``: the stored matrix, or the
        regenerated one row block at a time."""
        if self.stored:
            matrix = self.matrix.to(v.dtype)
            return forward_product(v, matrix) if forward else adjoint_product(v, matrix)
        if forward:
            out = v.new_empty(v.shape[0], self.out_shape[0])
            for start, stop in self.blocks():
                out[:, start:stop] = forward_product(v, self.rows(start, stop).to(v.dtype))
        else:
            out = v.new_zeros(v.shape[0], self.n)
            for start, stop in self.blocks():
                out += adjoint_product(v[:, start:stop], self.rows(start, stop).to(v.dtype))
        return out * (1 / math.sqrt(self.out_shape[0]))


def _chunk_seed(seed: int, chunk: int) -> int:
    return int(np.random.SeedSequence((seed, chunk)).generate_state(1, dtype=np.uint64)[0])
