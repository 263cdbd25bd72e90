"""Total-variation reconstruction by the primal–dual algorithm of Chambolle & Pock (2011).

Minimises ``½‖A x − y‖² + λ TV(x)`` with the isotropic
``TV(x) = Σᵢⱼ √(|x[i+1,j] − x[i,j]|² + |x[i,j+1] − x[i,j]|²)`` (or the anisotropic
``Σᵢⱼ |x[i+1,j] − x[i,j]| + |x[i,j+1] − x[i,j]|``) over the last two axes, differences taken as 0
beyond the last row and column (``FiniteDifferences``); complex images use complex magnitudes, and
leading image axes (channels) are summed.

The problem is split as ``F(K x)`` with ``K = [A; D]``, ``F(u, v) = ½‖u − y‖² + λ‖v‖`` and no
separate term in ``x``, so only ``A``, ``Aᴴ`` and the closed-form proxes of ``F*`` are needed. Step
sizes: dual ``σ_A = 1/‖A‖`` and ``σ_D = 1/‖D‖`` for the two blocks and primal
``τ = 0.99 / (‖A‖ + ‖D‖)``, so that ``τ (σ_A ‖A‖² + σ_D ‖D‖²) < 1`` (the block-diagonal
preconditioned condition of Pock & Chambolle 2011); ``‖A‖`` is estimated by ``A.norm()`` with a 1 %
margin and ``‖D‖ < √8``. Stopping: the relative change of ``x``, within at most 5000 iterations:
with 1000 the solves on pixel subsampling, inpainting and MRI stopped unconverged (128² Set11,
subsampling and inpainting converged after 1500–4950 iterations, 0.10–0.28 dB higher;
``ablation-cs128``), and a solve that converges stops early whatever the budget.

Chambolle–Pock is not a descent method: the primal objective recorded per iteration may rise
between iterations while the primal–dual pair converges (at rate O(1/k) of the gap); the tests check
that it reaches the cvxpy optimum and that its running minimum keeps pace with it, not that every
step decreases it.
"""
from __future__ import annotations

import logging
import time

import torch

from csprior.operators import LinearOperator
from csprior.result import Result

from .batched import per_problem, relative_change, sum_squares
from .convergence import Convergence, Solution
from .finite_differences import NORM_BOUND, FiniteDifferences
from .inputs import check_iterations, check_lam, check_tol, finish, prepare
from .tuning import NORM_MARGIN, RELATIVE_GRID, check_grid, check_holdout_fraction, solve_with_lam

log = logging.getLogger(__name__)

BALANCE = 1.0


def tv(y: torch.Tensor, A: LinearOperator, lam="holdout", *, iterations: int = 5000, tol: float = 1e-5,
       isotropic: bool = True, x_true: torch.Tensor | None = None, seed: int = 0, holdout_fraction: float = 0.1,
       grid=None, progress: bool = True) -> Result:
    """Total-variation reconstruction ``min_x ½‖A x − y‖² + λ TV(x)``.

    Args:
        y: measurements ``(*batch, *A.out_shape)``, real or complex; leading ``batch`` dimensions are
            independent problems.
        A: the measurement operator; ``A.in_shape`` must end in ``(H, W)``.
        lam: λ ``>= 0``, ``"holdout"`` (default; chosen on held-out measurements) or ``"oracle"``
            (best PSNR against ``x_true``; analysis only). See ``csprior.baselines.tuning``.
        iterations: most primal–dual iterations per solve.
        tol: stop when ``‖x_k − x_{k−1}‖ / ‖x_k‖ <= tol``.
        isotropic: isotropic (default) or anisotropic TV.
        x_true: reference ``(*batch, *A.in_shape)`` or ``A.in_shape``, needed by ``lam="oracle"``.
        seed: seeds the held-out split and the norm estimate.
        holdout_fraction: share of measurements held out by ``lam="holdout"``, in (0, 0.5].
        grid: absolute λ values to search as given (default: ``RELATIVE_GRID × ‖Aᴴ y‖_∞``, extended
            beyond an end where the pick sits, see ``csprior.baselines.tuning``).
        progress: show tqdm bars (only on a terminal).

    Returns:
        ``Result``: ``image`` ``(*batch, *A.in_shape)`` (``A``'s input dtype, or ``y``'s for
        real-coefficient operators), ``history["objective"]`` (primal objective per iteration of the
        final solve), stop iteration and reason, ``method`` ``"tv"`` or ``"tv-anisotropic"``,
        ``params`` with ``lam``, ``lam_rule`` and the search's grid and scores.
    """
    start = time.perf_counter()
    lam = check_lam(lam)
    iterations, tol = check_iterations(iterations), check_tol(tol)
    grid, holdout_fraction = check_grid(grid), check_holdout_fraction(holdout_fraction)
    if not isinstance(isotropic, bool):
        raise TypeError(f"isotropic must be True or False, got {isotropic!r}")
    problems = prepare(y, A, x_true)
    gradient = FiniteDifferences(problems.A.in_shape)
    norm_A = NORM_MARGIN * problems.A.norm(seed=seed)
    method = "tv" if isotropic else "tv-anisotropic"

    def solve(y_, A_, lams) -> Solution:
        return _chambolle_pock(y_, A_, gradient, lams, norm_A=norm_A, isotropic=isotropic, dtype=problems.dtype,
                               iterations=iterations, tol=tol, progress=progress, desc=method)

    def scale(y_, A_) -> torch.Tensor:
        return A_.adjoint(y_, check=False).abs().flatten(1).amax(dim=1)

    solution, params = solve_with_lam(solve, problems, lam, scale=scale, relative_grid=RELATIVE_GRID, grid=grid,
                                      seed=seed, holdout_fraction=holdout_fraction)
    shared = {"isotropic": isotropic, "iterations": iterations, "tol": tol, "operator_norm": norm_A}
    params = [{**p, **shared} for p in params]
    log.info("%s: λ = %s (%s)", method, [round(p["lam"], 6) for p in params], params[0]["lam_rule"])
    return finish(problems, solution, method, params, time.perf_counter() - start)


def total_variation(x: torch.Tensor, isotropic: bool = True) -> torch.Tensor:
    """TV of each problem: ``x`` ``(N, ..., H, W)`` real or complex -> ``(N,)``."""
    return _tv_of_gradient(FiniteDifferences(x.shape[1:]).forward(x, check=False), isotropic)


def _tv_of_gradient(g: torch.Tensor, isotropic: bool) -> torch.Tensor:
    """TV from the differences ``g`` ``(N, 2, ...)``."""
    magnitude = g.abs().pow(2).sum(dim=1).sqrt() if isotropic else g.abs()
    return magnitude.flatten(1).sum(dim=1)


def _project(p: torch.Tensor, lam: torch.Tensor, isotropic: bool) -> torch.Tensor:
    """Project dual ``p`` ``(N, 2, ...)`` onto ``{‖p_ij‖ <= λ_n}`` (pixel-wise 2-norm, or entry-wise)."""
    magnitude = p.abs().pow(2).sum(dim=1, keepdim=True).sqrt() if isotropic else p.abs()
    bound = per_problem(lam, magnitude).to(magnitude.dtype)
    # λ / max(|p|, λ), written to give 0 rather than 0/0 where λ = |p| = 0
    return p * (bound / torch.maximum(magnitude, bound).clamp(min=torch.finfo(magnitude.dtype).tiny))


def _chambolle_pock(y, A: LinearOperator, D: FiniteDifferences, lam: torch.Tensor, *, norm_A: float,
                    isotropic: bool, dtype, iterations: int, tol: float, progress: bool, desc: str) -> Solution:
    """Batched Chambolle–Pock for ``N`` problems ``y`` ``(N, *A.out_shape)``, ``lam`` ``(N,)``, from ``x = 0``."""
    sigma_A, sigma_D = BALANCE / norm_A, BALANCE / NORM_BOUND
    tau = 0.99 / (BALANCE * (norm_A + NORM_BOUND))
    x = torch.zeros(y.shape[0], *A.in_shape, dtype=dtype, device=y.device)
    Ax = torch.zeros_like(y)
    x_bar, Ax_bar = x, Ax
    q = torch.zeros_like(y)
    p = torch.zeros(y.shape[0], *D.out_shape, dtype=dtype, device=y.device)
    tracker = Convergence(y.shape[0], iterations, tol, desc, progress)
    for iteration in tracker:
        # prox of σF*: the data block in closed form, the TV block a projection onto λ-balls
        q = (q + sigma_A * (Ax_bar - y)) / (1 + sigma_A)
        p = _project(p + sigma_D * D.forward(x_bar, check=False), lam, isotropic)
        x_next = x - tau * (A.adjoint(q, check=False) + D.adjoint(p, check=False))
        Ax_next = A.forward(x_next, check=False)
        x_bar, Ax_bar = 2 * x_next - x, 2 * Ax_next - Ax
        change = relative_change(x_next, x)
        x, Ax = x_next, Ax_next
        objective = 0.5 * sum_squares(Ax - y) + lam * total_variation(x, isotropic)
        going_on = tracker.update(iteration, x, objective, change)
        if going_on is not None:
            x, Ax, x_bar, Ax_bar, q, p, lam, y = (v[going_on] for v in (x, Ax, x_bar, Ax_bar, q, p, lam, y))
    return tracker.solution(x)
