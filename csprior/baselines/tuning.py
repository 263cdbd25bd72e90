"""Choice of a baseline's weight λ: given, by held-out measurements, or by an oracle sweep.

Every rule hands the method's batched solver ``solve(y, A, lam) -> Solution`` the problems to solve
(``y`` ``(N, *A.out_shape)``, ``lam`` ``(N,)``) and keeps what it picks:

- a number: solved once with that λ (``"lam_rule": "given"``).
- ``"holdout"`` -- the protocol of the generators' early stopping (``csprior.holdout``): a seeded
  ``holdout_fraction`` of the measured entries is left out, the method is fitted on the rest for
  every λ of a log grid, and the λ whose fit predicts the held-out entries best (lowest mean squared
  held-out residual) wins; the method is then refitted on all measurements with ``λ_fit / f``,
  ``f`` the fraction of measurements fitted. No ground truth is used.
- ``"oracle"`` -- every grid λ is fitted on all measurements and the one with the highest PSNR
  against ``x_true`` wins (``"lam_rule": "oracle"``); then ``ORACLE_REFINE`` λ log-spaced between
  the winner's grid neighbours are fitted too and the best of all is kept, so that the oracle is a
  ceiling also for the holdout rule, whose refitted ``λ_fit / f`` falls between grid points. For
  analysis only, labelled wherever shown.

Why ``λ_fit / f``: the fit objective's data term ``½‖A_fit x − y_fit‖²`` sums over a fraction ``f``
of the measurements, each contributing alike in expectation, so it is about ``f · ½‖A x − y‖²``;
the fit objective ``½‖A_fit x − y_fit‖² + λ R(x)`` is then about ``f · (½‖A x − y‖² + (λ/f) R(x))``.
The same balance between data and prior on all measurements is struck by ``λ/f``; reusing ``λ_fit``
would regularise the final fit less than the fit that was validated. This is also scikit-learn's
``LassoCV`` convention (a fixed per-sample-normalised ``α`` across folds and the final fit). Rules
tied to the noise level (``λ ∝ σ ‖A_fit‖``, with ``‖A_fit‖ ≈ √f ‖A‖`` for random rows) would suggest
``λ_fit / √f`` instead; at the default ``f = 0.9`` the two differ by 5 %, a small fraction of the
grid spacing.

Default grids are relative: ``relative_grid × scale(y, A)`` with a per-problem scale given by the
method (for the Lasso ``‖Ψ Aᴴ y‖_∞``, the smallest λ whose solution is zero), so that they follow
the data's units. A default grid extends itself: while some problem's pick (the holdout rule's
residual, the oracle's coarse PSNR) sits at an end, ``EXTENSION_POINTS`` more λ a grid step apart are
solved beyond that end, at most ``MAX_EXTENSIONS`` times, so that a search is not capped by where the
grid happened to stop. A given ``grid`` holds absolute λ values and is searched as given. A pick
still at an end is logged as a warning: the grid should then be widened.
"""
from __future__ import annotations

import logging
import math
from numbers import Real
from typing import Callable

import torch

from csprior import metrics
from csprior.holdout import split_measurements
from csprior.operators import LinearOperator

from .convergence import Solution
from .inputs import Problems

log = logging.getLogger(__name__)

Solver = Callable[[torch.Tensor, LinearOperator, torch.Tensor], Solution]
Scale = Callable[[torch.Tensor, LinearOperator], torch.Tensor]

# problems solved together are capped so that one (N, *out_shape) tensor holds at most this many entries
# default λ grid, relative to the smallest λ whose solution is zero (‖Aᴴ y‖_∞, or ‖Ψ Aᴴ y‖_∞ for the
# Lasso): 3 points a decade over 5 decades
RELATIVE_GRID = tuple(10.0 ** (-k / 3) for k in range(15, 0, -1))
# the power-iteration norm estimate approaches ‖A‖ from below: step sizes use 1 % more
NORM_MARGIN = 1.01
MAX_BATCH_ENTRIES = 2 ** 22
# λ tried between the oracle's best grid point and its neighbours (a 3-a-decade grid step is ×2.15;
# measured: TV denoising 128², σ = 25, cameraman: grid best 26.69 dB, holdout's off-grid λ 27.05)
ORACLE_REFINE = 8  # even, so the best grid point itself is not refitted
# a default grid whose pick sits at an end gains this many points (one decade) beyond it, at most
# MAX_EXTENSIONS times: measured picks at an end of the 5 decades were the db4 Lasso's lower end
# (Gaussian 10-50 %, 64² and 128²) and TV's and the ℓ1-wavelet's upper end (16-coil MRI at 8×)
EXTENSION_POINTS = 3
MAX_EXTENSIONS = 2


def check_grid(grid) -> list[float] | None:
    """``None`` or a non-empty sequence of finite λ values ``>= 0``, returned sorted ascending."""
    if grid is None:
        return None
    values = grid.flatten().tolist() if isinstance(grid, torch.Tensor) else grid
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"grid must be a sequence of numbers, got {type(grid).__name__}")
    values = list(values)
    if not values or not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                             for v in values):
        raise ValueError(f"grid must be a non-empty sequence of finite numbers >= 0, got {grid!r}")
    return sorted(float(v) for v in values)


def check_holdout_fraction(fraction) -> float:
    """A number in (0, 0.5]."""
    if isinstance(fraction, bool) or not isinstance(fraction, Real) or not 0 < fraction <= 0.5:
        raise ValueError(f"holdout_fraction must be a number in (0, 0.5], got {fraction!r}")
    return float(fraction)


def solve_with_lam(solve: Solver, problems: Problems, lam, *, scale: Scale, relative_grid, grid,
                   seed: int, holdout_fraction: float) -> tuple[Solution, list[dict]]:
    """Solve ``problems`` with λ given or chosen by ``"holdout"``/``"oracle"`` (see module docstring).

    Args:
        solve: the method's batched solver.
        problems: validated problems (``problems.truth`` needed for ``"oracle"``).
        lam: a number ``>= 0``, ``"holdout"`` or ``"oracle"`` (already validated).
        scale: per-problem λ scale of a default grid, ``(y, A) -> (N,)``.
        relative_grid: default grid relative to ``scale``.
        grid: absolute λ values, or None for the default grid.
        seed: seeds the held-out split.
        holdout_fraction: share of measurements held out.

    Returns:
        the solution and one ``params`` dict per problem: ``lam`` (used for the returned image),
        ``lam_rule``, and for the searches ``lam_grid`` with the score of every grid λ
        (``holdout_residual``, or ``oracle_psnr``); ``"holdout"`` adds ``lam_fit`` (the grid value
        picked), ``fit_fraction`` and ``holdout_fraction``.
    """
    y, A = problems.y, problems.A
    if isinstance(lam, float):
        lams = torch.full((problems.count,), lam, device=y.device)
        return _solve_chunked(solve, y, A, lams), [{"lam": lam, "lam_rule": "given"}] * problems.count
    if lam == "oracle":
        if problems.truth is None:
            raise ValueError('lam="oracle" needs x_true, the reference image (*batch, *A.in_shape)')
        return _oracle(solve, problems, _grids(grid, relative_grid, scale, y, A), extend=grid is None)
    return _holdout(solve, problems, scale, relative_grid, grid, seed, holdout_fraction)


def _grids(grid, relative_grid, scale: Scale, y, A) -> torch.Tensor:
    """``(N, G)`` λ grids: the given absolute one for every problem, or ``relative_grid × scale``."""
    if grid is not None:
        return torch.tensor(grid, dtype=torch.float64).expand(y.shape[0], len(grid))
    return scale(y, A).detach().to(torch.float64).cpu()[:, None] * torch.as_tensor(relative_grid,
                                                                                   dtype=torch.float64)


def _sweep(solve: Solver, y, A, grids: torch.Tensor) -> Solution:
    """Solve every problem for every λ of its grid: entry ``g * N + i`` is problem ``i`` at ``grids[i, g]``."""
    points = grids.shape[1]
    stacked = y.repeat(points, *([1] * (y.ndim - 1)))
    lams = grids.T.reshape(-1).to(device=y.device, dtype=torch.float32)
    return _solve_chunked(solve, stacked, A, lams)


def _solve_chunked(solve: Solver, y, A, lams) -> Solution:
    chunk = max(1, MAX_BATCH_ENTRIES // max(1, y[0].numel()))
    parts = [solve(y[start:start + chunk], A, lams[start:start + chunk]) for start in range(0, y.shape[0], chunk)]
    return parts[0] if len(parts) == 1 else Solution.concat(parts)


def _oracle(solve: Solver, problems: Problems, grids: torch.Tensor, extend: bool) -> tuple[Solution, list[dict]]:
    count = grids.shape[0]
    sweep, grids, scores = _search(lambda block: _oracle_sweep(solve, problems, block), grids,
                                   lambda s: s.argmax(dim=1), extend)
    coarse_best = scores.argmax(dim=1).tolist()
    for g in coarse_best:
        _warn_if_edge(g, grids.shape[1], "oracle")
    fine = _refined_grids(grids, coarse_best)
    if fine is not None:
        fine_sweep, fine_scores = _oracle_sweep(solve, problems, fine)
        sweep, grids = Solution.concat([sweep, fine_sweep]), torch.cat([grids, fine], dim=1)
        scores = torch.cat([scores, fine_scores], dim=1)
    best = scores.argmax(dim=1).tolist()
    params = [{"lam": float(grids[i, g]), "lam_rule": "oracle", "lam_grid": grids[i].tolist(),
               "oracle_psnr": scores[i].tolist()} for i, g in enumerate(best)]
    return sweep.select(g * count + i for i, g in enumerate(best)), params


def _oracle_sweep(solve: Solver, problems: Problems, grids: torch.Tensor) -> tuple[Solution, torch.Tensor]:
    """Solutions for every grid λ (entry ``g * N + i``) and their PSNR against the truth ``(N, G)``."""
    count, points = grids.shape
    sweep = _sweep(solve, problems.y, problems.A, grids)
    scores = torch.tensor([[metrics.psnr(sweep.x[g * count + i], problems.truth[i]) for g in range(points)]
                           for i in range(count)])
    return sweep, scores


def _refined_grids(grids: torch.Tensor, best: list[int]) -> torch.Tensor | None:
    """``ORACLE_REFINE`` λ log-spaced strictly between each problem's best grid λ and its neighbours
    (the grid's own step beyond an end); None when the grid has one point or holds λ = 0."""
    if grids.shape[1] < 2 or bool((grids <= 0).any()):
        return None
    fractions = torch.linspace(-1, 1, ORACLE_REFINE + 2, dtype=torch.float64)[1:-1]
    rows = []
    for i, g in enumerate(best):
        grid = grids[i].log()
        step_low = grid[g] - grid[g - 1] if g > 0 else grid[1] - grid[0]
        step_high = grid[g + 1] - grid[g] if g + 1 < len(grid) else grid[-1] - grid[-2]
        rows.append((grid[g] + torch.where(fractions < 0, fractions * step_low, fractions * step_high)).exp())
    return torch.stack(rows)


def _holdout(solve: Solver, problems: Problems, scale: Scale, relative_grid, grid, seed: int,
             holdout_fraction: float) -> tuple[Solution, list[dict]]:
    split = split_measurements(problems.A, problems.y, holdout_fraction, seed)

    def held_out(block: torch.Tensor) -> tuple[Solution, torch.Tensor]:
        sweep = _sweep(solve, split.y_fit, split.fit, block)
        count = block.shape[0]
        return sweep, torch.stack([split.held_residual(sweep.x[g * count:(g + 1) * count])
                                   for g in range(block.shape[1])], dim=1).cpu()

    _, grids, residuals = _search(held_out, _grids(grid, relative_grid, scale, split.y_fit, split.fit),
                                  lambda r: r.argmin(dim=1), grid is None)
    count, points = grids.shape
    best = residuals.argmin(dim=1)
    lam_fit = grids[torch.arange(count), best]
    lam_full = lam_fit / split.fit_fraction
    solution = _solve_chunked(solve, problems.y, problems.A, lam_full.to(problems.y.device, torch.float32))
    params = []
    for i in range(count):
        _warn_if_edge(int(best[i]), points, "holdout")
        params.append({"lam": float(lam_full[i]), "lam_rule": "holdout", "lam_fit": float(lam_fit[i]),
                       "fit_fraction": split.fit_fraction, "holdout_fraction": holdout_fraction, "seed": seed,
                       "lam_grid": grids[i].tolist(), "holdout_residual": residuals[i].tolist()})
    return solution, params


def _search(evaluate, grids: torch.Tensor, pick, extend: bool) -> tuple[Solution, torch.Tensor, torch.Tensor]:
    """Score every λ of ``grids`` ``(N, G)`` (ascending, positive) with ``evaluate(block) -> (sweep, scores)``
    and, when ``extend``, extend the grids while ``pick(scores)`` puts some problem at an end.

    Every problem's grid gains the same columns (problems batched together share their solves), so
    the columns stay ascending and the sweep keeps entry ``g * N + i`` for problem ``i`` at
    ``grids[i, g]``. Returns the sweep, the grids ``(N, G')`` and the scores ``(N, G')``.
    """
    sweep, scores = evaluate(grids)
    for _ in range(MAX_EXTENSIONS if extend and grids.shape[1] > 1 and bool((grids > 0).all()) else 0):
        best = pick(scores)
        ends = [end for end, index in (("lower", 0), ("upper", grids.shape[1] - 1)) if bool((best == index).any())]
        if not ends:
            break
        for end in ends:
            block = _beyond(grids, end)
            block_sweep, block_scores = evaluate(block)
            parts = [(block_sweep, block, block_scores), (sweep, grids, scores)]
            if end == "upper":
                parts.reverse()
            sweep = Solution.concat([part[0] for part in parts])
            grids, scores = (torch.cat([part[k] for part in parts], dim=1) for k in (1, 2))
    return sweep, grids, scores


def _beyond(grids: torch.Tensor, end: str) -> torch.Tensor:
    """``EXTENSION_POINTS`` λ per problem beyond the ``end`` of its grid, spaced by the grid's end step, ascending."""
    steps = torch.arange(1, EXTENSION_POINTS + 1, dtype=torch.float64)
    if end == "lower":
        ratio = grids[:, 1] / grids[:, 0]
        return grids[:, :1] * ratio[:, None] ** -steps.flip(0)
    ratio = grids[:, -1] / grids[:, -2]
    return grids[:, -1:] * ratio[:, None] ** steps


def _warn_if_edge(index: int, points: int, rule: str) -> None:
    if points > 1 and index in (0, points - 1):
        log.warning("the %s rule picked the %s end of the λ grid; widen the grid", rule,
                    "lower" if index == 0 else "upper")
