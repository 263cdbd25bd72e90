"""ℓ1-regularised reconstruction in an orthonormal basis (the Lasso; ℓ1-wavelet for MRI).

Minimises ``½‖A Ψᴴ c − y‖² + λ‖c‖₁`` over coefficients ``c`` and returns ``x = Ψᴴ c``, with ``Ψ``
the orthonormal 2-D DCT or an orthonormal wavelet transform (``csprior.baselines.sparsifying``) over
the image's last two axes. For complex images ``‖c‖₁ = Σ|c|`` sums complex magnitudes (the prox is
the complex soft threshold). Solved by FISTA with step ``1/L``, ``L = (1.01 ‖A‖)²`` (``‖A‖`` from
``A.norm()``'s power iteration, which approaches the norm from below; the 1 % margin keeps the step
safe) and monotone adaptive restart (``csprior.baselines.fista``), so the objective history never
increases; stopping when 20 consecutive steps change the coefficients by under ``tol`` (relative; one
short step right after a restart stopped solves far from their minimum), within at most 5000 iterations (with
1000 the holdout search on Gaussian 64², 25 %, in db4 chose an unconverged small-λ solve: λ 0.00078
against 0.168 once every candidate converges, which happens within 5000).
"""
from __future__ import annotations

import logging
import time

import torch

from csprior.operators import LinearOperator
from csprior.result import Result

from .batched import abs_sum, per_problem
from .convergence import Solution
from .fista import fista
from .inputs import check_iterations, check_lam, check_tol, finish, prepare
from .sparsifying import sparsifying_transform
from .tuning import NORM_MARGIN, RELATIVE_GRID, check_grid, check_holdout_fraction, solve_with_lam

log = logging.getLogger(__name__)


def lasso(y: torch.Tensor, A: LinearOperator, lam="holdout", *, basis: str = "dct", level: int | None = None,
          iterations: int = 5000, tol: float = 1e-5, x_true: torch.Tensor | None = None, seed: int = 0,
          holdout_fraction: float = 0.1, grid=None, progress: bool = True) -> Result:
    """ℓ1 reconstruction ``min_c ½‖A Ψᴴ c − y‖² + λ‖c‖₁``, ``x = Ψᴴ c``.

    Args:
        y: measurements ``(*batch, *A.out_shape)``, real or complex; leading ``batch`` dimensions are
            independent problems.
        A: the measurement operator; ``A.in_shape`` must end in ``(H, W)``.
        lam: λ ``>= 0``, ``"holdout"`` (default; chosen on held-out measurements) or ``"oracle"``
            (best PSNR against ``x_true``; analysis only). See ``csprior.baselines.tuning``.
        basis: ``"dct"`` or an orthogonal PyWavelets wavelet (``"haar"``, ``"db4"``, ...).
        level: wavelet levels; ``H`` and ``W`` must be multiples of ``2**level`` (None: automatic).
        iterations: most FISTA iterations per solve.
        tol: stop when ``‖c_k − c_{k−1}‖ / ‖c_k‖ <= tol``.
        x_true: reference ``(*batch, *A.in_shape)`` or ``A.in_shape``, needed by ``lam="oracle"``.
        seed: seeds the held-out split and the norm estimate.
        holdout_fraction: share of measurements held out by ``lam="holdout"``, in (0, 0.5].
        grid: absolute λ values to search as given (default: ``RELATIVE_GRID × ‖Ψ Aᴴ y‖_∞``, extended
            beyond an end where the pick sits, see ``csprior.baselines.tuning``).
        progress: show tqdm bars (only on a terminal).

    Returns:
        ``Result``: ``image`` ``(*batch, *A.in_shape)`` (``A``'s input dtype, or ``y``'s for
        real-coefficient operators), ``history["objective"]`` per FISTA iteration of the final solve,
        stop iteration and reason, ``method`` ``"lasso-<basis>"``, ``params`` with ``lam`` and
        ``lam_rule`` (``"given"``, ``"holdout"`` or ``"oracle"``) and the search's grid and scores.
    """
    start = time.perf_counter()
    lam = check_lam(lam)
    iterations, tol = check_iterations(iterations), check_tol(tol)
    grid, holdout_fraction = check_grid(grid), check_holdout_fraction(holdout_fraction)
    problems = prepare(y, A, x_true)
    transform = sparsifying_transform(basis, problems.A.in_shape, level).to(problems.y.device)
    lipschitz = (NORM_MARGIN * problems.A.norm(seed=seed)) ** 2

    def solve(y_, A_, lams) -> Solution:
        solution = fista(y_, A_ @ transform.H, lams, lipschitz=lipschitz, prox=_soft_threshold, penalty=abs_sum,
                         dtype=problems.dtype, iterations=iterations, tol=tol, progress=progress,
                         desc=f"lasso-{basis}")
        solution.x = transform.adjoint(solution.x, check=False)
        return solution

    def scale(y_, A_) -> torch.Tensor:
        return transform.forward(A_.adjoint(y_, check=False), check=False).abs().flatten(1).amax(dim=1)

    solution, params = solve_with_lam(solve, problems, lam, scale=scale, relative_grid=RELATIVE_GRID, grid=grid,
                                      seed=seed, holdout_fraction=holdout_fraction)
    shared = {"basis": basis, "level": getattr(transform, "level", None), "iterations": iterations, "tol": tol,
              "lipschitz": lipschitz}
    params = [{**p, **shared} for p in params]
    log.info("lasso-%s: λ = %s (%s)", basis, [round(p["lam"], 6) for p in params], params[0]["lam_rule"])
    return finish(problems, solution, f"lasso-{basis}", params, time.perf_counter() - start)


def _soft_threshold(v: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Complex (or real) soft threshold ``sgn(v) max(|v| − t, 0)`` with per-problem ``t`` ``(N,)``."""
    t = per_problem(threshold, v).to(v.real.dtype)
    return torch.sgn(v) * (v.abs() - t).clamp(min=0)
