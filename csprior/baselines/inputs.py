"""Validation of a baseline's inputs and the batch bookkeeping every baseline shares.

Measurements ``y`` are ``(*batch, *A.out_shape)``; the leading ``batch`` dimensions hold independent
problems, which the solvers see flattened to ``(N, *A.out_shape)``. Bad input raises TypeError or
ValueError naming the parameter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import torch

from csprior.operators import LinearOperator, check_tensor
from csprior.result import Result

from .convergence import Solution

LAM_RULES = ("holdout", "oracle")


@dataclass
class Problems:
    """A validated batch of problems ``y = A x``.

    Attributes:
        y: measurements flattened to ``(N, *A.out_shape)``, on the device of the caller's ``y``.
        A: the operator, moved to ``y``'s device.
        batch: the caller's leading batch shape (``N = prod(batch)``).
        dtype: dtype of the reconstruction (``A.in_dtype``, or ``y``'s dtype for operators with real
            coefficients, which take real or complex images alike).
        truth: ``(N, *A.in_shape)`` reference images or ``None``.
    """

    y: torch.Tensor
    A: LinearOperator
    batch: tuple[int, ...]
    dtype: torch.dtype
    truth: torch.Tensor | None = None

    @property
    def count(self) -> int:
        """Number of problems ``N``."""
        return self.y.shape[0]


def prepare(y, A, x_true=None) -> Problems:
    """Validate ``y`` ``(*batch, *A.out_shape)`` against ``A`` (and ``x_true``), flatten the batch."""
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a csprior.operators.LinearOperator, got {type(A).__name__}")
    check_tensor(y, A.out_shape, A.out_dtype if A.out_dtype is not None else A.in_dtype, "y")
    batch = tuple(y.shape[:y.ndim - len(A.out_shape)])
    A.to(y.device)
    dtype = A.in_dtype if A.in_dtype is not None else y.dtype
    flat = y.reshape(-1, *A.out_shape)
    if flat.shape[0] == 0:
        raise ValueError(f"y must hold at least one problem, got shape {tuple(y.shape)}")
    return Problems(flat, A, batch, dtype, _check_truth(x_true, A, batch, flat.device))


def _check_truth(x_true, A: LinearOperator, batch, device) -> torch.Tensor | None:
    if x_true is None:
        return None
    check_tensor(x_true, A.in_shape, None, "x_true")
    if tuple(x_true.shape) not in ((*batch, *A.in_shape), tuple(A.in_shape)):
        raise ValueError(f"x_true must have shape {(*batch, *A.in_shape)} (or {tuple(A.in_shape)}), "
                         f"got {tuple(x_true.shape)}")
    return x_true.reshape(-1, *A.in_shape).expand(math.prod(batch), *A.in_shape).to(device)


def check_lam(lam) -> float | str:
    """``lam`` as a float ``>= 0`` or one of the rules ``"holdout"``/``"oracle"``."""
    if isinstance(lam, str):
        if lam not in LAM_RULES:
            raise ValueError(f'lam must be a number >= 0, "holdout" or "oracle", got {lam!r}')
        return lam
    if isinstance(lam, bool) or not isinstance(lam, Real):
        raise TypeError(f'lam must be a number >= 0, "holdout" or "oracle", got {type(lam).__name__}')
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam}")
    return float(lam)


def check_iterations(iterations, name: str = "iterations") -> int:
    """A positive int."""
    if isinstance(iterations, bool) or not isinstance(iterations, Integral) or iterations < 1:
        raise ValueError(f"{name} must be a positive int, got {iterations!r}")
    return int(iterations)


def check_tol(tol, name: str = "tol") -> float:
    """A finite number ``>= 0``."""
    if isinstance(tol, bool) or not isinstance(tol, Real) or not math.isfinite(tol) or tol < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {tol!r}")
    return float(tol)


def finish(problems: Problems, solution: Solution, method: str, params: list[dict], seconds: float) -> Result:
    """One ``Result`` for the batch: ``image`` ``(*batch, *A.in_shape)``, per-problem entries in
    ``problems`` when there are several; the wall time is shared equally among the problems."""
    share = seconds / problems.count
    results = [Result(image=solution.x[i], history=solution.histories[i],
                      stop_iteration=solution.stop_iterations[i], stop_reason=solution.stop_reasons[i],
                      seconds=share, method=method, params=params[i])
               for i in range(problems.count)]
    result = Result.stack(results)
    result.image = result.image.reshape(*problems.batch, *problems.A.in_shape)
    result.seconds = seconds
    return result
