"""Per-problem reductions for a batch of independent problems stacked on dimension 0.

The solvers of ``csprior.baselines`` run all problems of a call (a batch of measurements, a grid of
λ values) at once: tensors are shaped ``(N, *shape)``, scalars per problem ``(N,)``.
"""
from __future__ import annotations

import torch


def sum_squares(t: torch.Tensor) -> torch.Tensor:
    """``Σ |t|²`` over all but the first dimension: ``(N, ...)`` -> real ``(N,)``."""
    return t.abs().pow(2).flatten(1).sum(dim=1)


def abs_sum(t: torch.Tensor) -> torch.Tensor:
    """``Σ |t|`` over all but the first dimension: ``(N, ...)`` -> real ``(N,)``."""
    return t.abs().flatten(1).sum(dim=1)


def per_problem(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape ``(N,)`` values to ``(N, 1, ..., 1)`` so they broadcast against ``like`` ``(N, ...)``."""
    return values.reshape(-1, *([1] * (like.ndim - 1)))


def relative_change(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``‖new − old‖ / ‖new‖`` per problem ``(N,)`` (0 when both are zero)."""
    step = sum_squares(new - old).sqrt()
    size = sum_squares(new).sqrt()
    return torch.where(size > 0, step / size.clamp(min=torch.finfo(size.dtype).tiny), step)
