"""Forward differences over the last two axes, the discrete gradient of total variation."""
from __future__ import annotations

import torch

from csprior.operators import LinearOperator

# ‖D‖² = 4 sin²(π(H−1)/2H) + 4 sin²(π(W−1)/2W) < 8 for these boundary conditions
NORM_BOUND = 8 ** 0.5


class FiniteDifferences(LinearOperator):
    """``D x = (x[i+1, j] − x[i, j], x[i, j+1] − x[i, j])``, zero beyond the last row and column.

    Args:
        shape: trailing image shape ``(..., H, W)`` (e.g. ``(C, H, W)``: each channel on its own).

    Input ``(*batch, *shape)`` real or complex; output ``(*batch, 2, *shape)`` of the same dtype, the
    vertical (along ``H``) then the horizontal (along ``W``) difference. ``‖D‖ < NORM_BOUND = √8``.
    """

    def __init__(self, shape):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise ValueError(f"the image shape must end in (H, W), got {shape}")
        super().__init__(shape, (2, *shape))

    def _forward(self, x):
        vertical = torch.zeros_like(x)
        horizontal = torch.zeros_like(x)
        vertical[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
        horizontal[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
        return torch.stack([vertical, horizontal], dim=-len(self.in_shape) - 1)

    def _adjoint(self, y):
        vertical, horizontal = y.unbind(dim=-len(self.in_shape) - 1)
        out = torch.zeros_like(vertical)
        # the transpose of the forward difference, with the last row/column of y unused
        out[..., 1:, :] += vertical[..., :-1, :]
        out[..., :-1, :] -= vertical[..., :-1, :]
        out[..., :, 1:] += horizontal[..., :, :-1]
        out[..., :, :-1] -= horizontal[..., :, :-1]
        return out
