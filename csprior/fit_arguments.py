"""Validation of ``reconstruct``'s scalar keywords, done before any fitting starts.

Each check names the keyword and what was expected, so that a typo fails in milliseconds rather
than after a warm start or a λ search has already run (the default MRI recipe fits a phantom
first).
"""
from __future__ import annotations

import math
from numbers import Real

from csprior.baselines.inputs import check_iterations, check_tol

OPTIMIZERS = ("adam", "sgd")


def check_fit_arguments(*, iterations, lr, optimizer, input_noise, ema, holdout_fraction, patience,
                        metrics_every, scale, architecture) -> None:
    """Raise ``ValueError``/``TypeError`` naming the first keyword of ``reconstruct`` that is not
    what it accepts; None stands for "the prior's or the recipe's default" where that is allowed."""
    if iterations is not None:
        check_iterations(iterations, "iterations")
    if patience is not None:
        check_iterations(patience, "patience")
    check_iterations(metrics_every, "metrics_every")
    if lr is not None and (not _is_real(lr) or not (lr > 0 and math.isfinite(lr))):
        raise ValueError(f"lr must be a finite positive number, got {lr!r}")
    if input_noise is not None:
        check_tol(input_noise, "input_noise")
    if ema is not None and (not _is_real(ema) or not 0 <= ema < 1):
        raise ValueError(f"ema must be a number in [0, 1) or None, got {ema!r}")
    if not _is_real(holdout_fraction) or not 0 < holdout_fraction <= 0.5:
        raise ValueError(f"holdout_fraction must be a number in (0, 0.5], got {holdout_fraction!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f'optimizer must be "adam" or "sgd", got {optimizer!r}')
    if not (isinstance(scale, bool) or scale == "auto"):
        raise ValueError(f'scale must be "auto", True or False, got {scale!r}')
    if architecture is not None and not isinstance(architecture, dict):
        raise TypeError(f"architecture must be a dict of generator keywords, got {type(architecture).__name__}")


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
