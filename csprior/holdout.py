"""The held-out-measurement protocol that tunes every method in csprior without the truth.

A seeded fraction of the measurements is left out of the fit; a method's free parameter (the
generator's stopping iteration, a baseline's λ) is chosen where the residual on the held-out
measurements is lowest. The split only draws from outputs that carry measurements
(``A.measured``), so masked k-space positions are never "held out".
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from csprior.operators import Diagonal, LinearOperator


@dataclass
class HoldoutSplit:
    """Two complementary views of one measurement vector.

    Attributes:
        fit: operator ``Diagonal(fit_mask) @ A`` (zeros at held-out and unmeasured outputs).
        held: operator ``Diagonal(held_mask) @ A``.
        y_fit: ``fit_mask * y``, shaped like ``y`` ``(*batch, *A.out_shape)``.
        y_held: ``held_mask * y``.
        fit_fraction: share of the measurements kept for fitting, used to rescale λ when a
            baseline is refitted on all measurements.
        fit_mask: boolean ``A.out_shape`` mask of the fitted measurements.
        held_mask: boolean ``A.out_shape`` mask of the held-out measurements.
    """

    fit: LinearOperator
    held: LinearOperator
    y_fit: torch.Tensor
    y_held: torch.Tensor
    fit_fraction: float
    fit_mask: torch.Tensor
    held_mask: torch.Tensor

    def held_residual(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared held-out residual per problem: ``(*batch,)`` for ``x`` ``(*batch, *in_shape)``."""
        residual = self.held(x, check=False) - self.y_held
        dims = tuple(range(residual.ndim - len(self.held.out_shape), residual.ndim))
        count = self.held.measured.sum().clamp(min=1)
        return residual.abs().pow(2).sum(dim=dims) / count


def split_measurements(A: LinearOperator, y: torch.Tensor, fraction: float = 0.1,
                       seed: int = 0) -> HoldoutSplit:
    """Hold out a seeded ``fraction`` of the measured outputs of ``A``.

    Args:
        A: the measurement operator, outputs ``(*batch, *A.out_shape)``.
        y: measurements ``(*batch, *A.out_shape)``; the same split is used for every batch entry.
        fraction: share of the measurements held out, in (0, 0.5].
        seed: seeds the choice of held-out entries.
    """
    if not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be in (0, 0.5], got {fraction}")
    measured = A.measured
    measured = torch.ones(A.out_shape, dtype=torch.bool) if measured is None else measured.cpu().bool()
    count = int(measured.sum())
    n_held = int(round(fraction * count))
    if n_held < 1 or n_held >= count:
        raise ValueError(f"cannot hold out fraction={fraction} of {count} measurements")
    positions = measured.flatten().nonzero().squeeze(1)
    gen = torch.Generator().manual_seed(seed)
    chosen = positions[torch.randperm(count, generator=gen)[:n_held]]
    held_mask = torch.zeros(measured.numel(), dtype=torch.bool)
    held_mask[chosen] = True
    held_mask = held_mask.reshape(A.out_shape)
    fit_mask = measured & ~held_mask
    device = y.device
    fit_op = Diagonal(fit_mask).to(device) @ A
    held_op = Diagonal(held_mask).to(device) @ A
    fit_w, held_w = fit_mask.to(device), held_mask.to(device)
    return HoldoutSplit(fit=fit_op, held=held_op, y_fit=y * fit_w, y_held=y * held_w,
                        fit_fraction=(count - n_held) / count, fit_mask=fit_w, held_mask=held_w)
