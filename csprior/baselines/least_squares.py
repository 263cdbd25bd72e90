"""Least squares by conjugate gradients on the normal equations (CGLS), optionally Tikhonov-damped.

Minimises ``½‖A x − y‖² + ½ damp² ‖x‖²`` (scipy's ``lsqr`` convention for ``damp``). Started from
``x = 0``, CGLS keeps its iterates in the range of ``Aᴴ``, so without damping it converges to the
minimum-norm least-squares solution ``A⁺ y`` for under-determined as well as over-determined
systems. The objective decreases monotonically (CG minimises this quadratic over growing Krylov
spaces). Stopping: the normal-equation residual ``‖Aᴴ(y − A x) − damp² x‖ / ‖Aᴴ y‖`` at most ``tol``.
"""
from __future__ import annotations

import logging
import math
import time
from numbers import Real

import torch

from csprior.operators import LinearOperator
from csprior.result import Result

from .batched import per_problem, sum_squares
from .convergence import Convergence
from .inputs import check_iterations, check_tol, finish, prepare

log = logging.getLogger(__name__)


def least_squares(y: torch.Tensor, A: LinearOperator, *, iterations: int = 300, tol: float = 1e-6,
                  damp: float = 0.0, progress: bool = True) -> Result:
    """Least-squares (minimum-norm, or Tikhonov-damped) reconstruction.

    Args:
        y: measurements ``(*batch, *A.out_shape)``, real or complex; leading ``batch`` dimensions are
            independent problems.
        A: the measurement operator.
        iterations: most CG iterations.
        tol: stop when the relative normal-equation residual is at most ``tol``.
        damp: Tikhonov weight ``≥ 0``; the objective is ``½‖Ax − y‖² + ½ damp² ‖x‖²``.
        progress: show a tqdm bar (only on a terminal).

    Returns:
        ``Result`` with ``image`` ``(*batch, *A.in_shape)`` of ``A``'s input dtype (``y``'s dtype for
        real-coefficient operators), ``history["objective"]`` per iteration, the stop iteration and
        reason (``"converged"`` or ``"max_iterations"``), ``params`` ``{"damp", "iterations", "tol"}``.
    """
    start = time.perf_counter()
    iterations, tol = check_iterations(iterations), check_tol(tol)
    if isinstance(damp, bool) or not isinstance(damp, Real) or not math.isfinite(damp) or damp < 0:
        raise ValueError(f"damp must be a finite number >= 0, got {damp!r}")
    problems = prepare(y, A)
    solution = _cgls(problems.y, problems.A, problems.dtype, float(damp) ** 2, iterations, tol, progress)
    params = [{"damp": float(damp), "iterations": iterations, "tol": tol}] * problems.count
    method = "least-squares" if damp == 0 else "tikhonov"
    log.info("%s: %d problem(s), stopped at %s", method, problems.count, solution.stop_iterations)
    return finish(problems, solution, method, params, time.perf_counter() - start)


def _cgls(y, A: LinearOperator, dtype, damp2: float, iterations: int, tol: float, progress: bool):
    """Batched CGLS for ``(AᴴA + damp2 I) x = Aᴴ y`` from ``x = 0``; ``y`` ``(N, *A.out_shape)``."""
    x = torch.zeros(y.shape[0], *A.in_shape, dtype=dtype, device=y.device)
    r = y
    s = A.adjoint(r, check=False)
    p = s
    gamma = sum_squares(s)
    reference = gamma.sqrt().clamp(min=torch.finfo(gamma.dtype).tiny)
    tracker = Convergence(y.shape[0], iterations, tol, "least squares", progress)
    for iteration in tracker:
        q = A.forward(p, check=False)
        delta = sum_squares(q) + damp2 * sum_squares(p)
        alpha = torch.where(delta > 0, gamma / delta.clamp(min=torch.finfo(delta.dtype).tiny), 0.0)
        x = x + per_problem(alpha, x) * p
        r = r - per_problem(alpha, q) * q
        s = A.adjoint(r, check=False) - damp2 * x
        gamma_next = sum_squares(s)
        beta = torch.where(gamma > 0, gamma_next / gamma.clamp(min=torch.finfo(gamma.dtype).tiny), 0.0)
        p = s + per_problem(beta, p) * p
        gamma = gamma_next
        objective = 0.5 * (sum_squares(r) + damp2 * sum_squares(x))
        going_on = tracker.update(iteration, x, objective, gamma.sqrt() / reference)
        if going_on is not None:
            x, r, p, gamma, reference = (v[going_on] for v in (x, r, p, gamma, reference))
    return tracker.solution(x)
