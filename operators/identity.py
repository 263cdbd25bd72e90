"""The identity operator: the measurement model of denoising (y = x + noise)."""
from __future__ import annotations

from .base import LinearOperator


class Identity(LinearOperator):
    """``I x = x`` for ``x`` shaped ``(*batch, *in_shape)``, real or complex."""

    def __init__(self, in_shape):
        super().__init__(in_shape, in_shape)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y
