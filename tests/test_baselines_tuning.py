"""λ by held-out measurements (no truth) and by an oracle sweep (labelled); bad input raises ValueError."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from csprior import metrics
from csprior.baselines import lasso, least_squares, tv
from csprior.holdout import split_measurements
from csprior.operators import GaussianMatrix, add_gaussian_noise


@pytest.fixture(scope="module")
def noisy_problem():
    gen = torch.Generator().manual_seed(21)
    truth = torch.rand(1, 4, 4, generator=gen).repeat_interleave(4, dim=1).repeat_interleave(4, dim=2)
    A = GaussianMatrix((1, 16, 16), 128, seed=22)
    y = add_gaussian_noise(A(truth), 0.05, seed=23)
    return truth, A, y


def test_holdout_picks_lam_on_held_out_split_without_truth(noisy_problem):
    truth, A, y = noisy_problem
    result = tv(y, A, "holdout", iterations=300, seed=3, progress=False)
    params = result.params
    residuals, grid = np.array(params["holdout_residual"]), np.array(params["lam_grid"])
    assert params["lam_rule"] == "holdout" and len(grid) > 1
    best = int(residuals.argmin())
    assert params["lam_fit"] == pytest.approx(grid[best])
    assert params["lam"] == pytest.approx(params["lam_fit"] / params["fit_fraction"])
    # the score is the held-out residual of a fit on the rest, with csprior.holdout's split
    split = split_measurements(A, y, params["holdout_fraction"], seed=3)
    refit = tv(split.y_fit, split.fit, float(grid[best]), iterations=300, progress=False)
    assert float(split.held_residual(refit.image)) == pytest.approx(residuals[best], rel=1e-3)


def test_holdout_lam_is_near_the_oracle_one(noisy_problem):
    truth, A, y = noisy_problem
    holdout = lasso(y, A, "holdout", basis="haar", iterations=300, progress=False)
    oracle = lasso(y, A, "oracle", basis="haar", iterations=300, x_true=truth, progress=False)
    assert oracle.params["lam_rule"] == "oracle" and holdout.params["lam_rule"] == "holdout"
    # within a decade of the oracle's λ and at most 3 dB worse than the oracle's PSNR
    assert abs(np.log10(holdout.params["lam"] / oracle.params["lam"])) <= 1
    assert metrics.psnr(holdout.image, truth) >= metrics.psnr(oracle.image, truth) - 3


def test_oracle_is_labelled_and_returns_its_best(noisy_problem):
    truth, A, y = noisy_problem
    result = tv(y, A, "oracle", x_true=truth, iterations=300, isotropic=False, progress=False)
    scores = result.params["oracle_psnr"]
    assert result.params["lam_rule"] == "oracle"
    assert result.params["lam"] == pytest.approx(result.params["lam_grid"][int(np.argmax(scores))])
    assert metrics.psnr(result.image, truth) == pytest.approx(max(scores), abs=1e-4)


def test_oracle_needs_truth(noisy_problem):
    _, A, y = noisy_problem
    with pytest.raises(ValueError, match="x_true"):
        lasso(y, A, "oracle", progress=False)


@pytest.mark.parametrize("call, parameter", [
    (lambda y, A: lasso(y, A, -0.1, progress=False), "lam"),
    (lambda y, A: tv(y, A, -1.0, progress=False), "lam"),
    (lambda y, A: lasso(y, A, "cross-validation", progress=False), "lam"),
    (lambda y, A: lasso(y, A, 0.1, basis="curvelet", progress=False), "basis"),
    (lambda y, A: lasso(y, A, 0.1, basis="bior2.2", progress=False), "basis"),
    (lambda y, A: lasso(y, A, 0.1, basis="haar", level=5, progress=False), "level"),
    (lambda y, A: lasso(y, A, 0.1, iterations=0, progress=False), "iterations"),
    (lambda y, A: tv(y, A, 0.1, tol=-1.0, progress=False), "tol"),
    (lambda y, A: tv(y, A, "holdout", holdout_fraction=0.7, progress=False), "holdout_fraction"),
    (lambda y, A: tv(y, A, "holdout", grid=[1.0, -2.0], progress=False), "grid"),
    (lambda y, A: least_squares(y, A, damp=-1.0, progress=False), "damp"),
])
def test_bad_input_raises_value_error_naming_parameter(noisy_problem, call, parameter):
    _, A, y = noisy_problem  # 16×16: not a multiple of 2**5
    with pytest.raises(ValueError, match=parameter):
        call(y, A)


def test_image_not_multiple_of_wavelet_level():
    A = GaussianMatrix((1, 12, 9), 30, seed=1)
    y = A(torch.rand(1, 12, 9))
    with pytest.raises(ValueError, match="level"):
        lasso(y, A, 0.1, basis="haar", progress=False)


def test_oracle_refines_between_grid_points(noisy_problem):
    from csprior.baselines.tuning import ORACLE_REFINE

    truth, A, y = noisy_problem
    grid = [1e-3, 1e-2, 1e-1, 1.0]
    result = tv(y, A, "oracle", grid=grid, x_true=truth, iterations=200, progress=False)
    evaluated, scores = result.params["lam_grid"], result.params["oracle_psnr"]
    assert len(evaluated) == len(grid) + ORACLE_REFINE
    coarse_best = int(np.argmax(scores[:len(grid)]))
    low, high = grid[max(coarse_best - 1, 0)], grid[min(coarse_best + 1, len(grid) - 1)]
    assert all(low < lam < high for lam in evaluated[len(grid):])  # the refinement brackets the grid's best
    assert max(scores) >= max(scores[:len(grid)])
    assert metrics.psnr(result.image, truth) == pytest.approx(max(scores), abs=1e-4)


def _synthetic_search(grids, best_lams, extend=True):
    """``_search`` on scores peaking at ``best_lams`` (one per problem); the sweep's x holds each λ."""
    from csprior.baselines.convergence import Solution
    from csprior.baselines.tuning import _search

    def evaluate(block):
        count, points = block.shape
        x = block.T.reshape(-1, 1)  # entry g * N + i is problem i at block[i, g]
        sweep = Solution(x, [{}] * len(x), [0] * len(x), ["converged"] * len(x))
        return sweep, -(block.log() - torch.log(torch.tensor(best_lams))[:, None]) ** 2

    return _search(evaluate, grids, lambda s: s.argmax(dim=1), extend)


def test_default_grid_extends_beyond_an_end_until_the_pick_is_inside():
    from csprior.baselines.tuning import EXTENSION_POINTS, MAX_EXTENSIONS

    grids = torch.tensor([[1e-2, 1e-1, 1.0], [10.0, 100.0, 1000.0]], dtype=torch.float64)
    # problem 0 peaks 3.4 decades below its grid (two extensions), problem 1 inside its grid
    sweep, extended, scores = _synthetic_search(grids, [10 ** -5.4, 100.0])
    assert extended.shape[1] == 3 + EXTENSION_POINTS * 2 <= 3 + EXTENSION_POINTS * MAX_EXTENSIONS
    assert bool((extended.diff(dim=1) > 0).all())  # ascending after prepending
    assert extended[0, 0].item() == pytest.approx(1e-2 * 10.0 ** -6)  # a grid step of 10, six points below
    assert 0 < int(scores[0].argmax()) < extended.shape[1] - 1
    # entry g * N + i of the sweep is problem i at extended[i, g]
    assert torch.equal(sweep.x[:, 0], extended.T.reshape(-1))


def test_extension_stops_after_max_extensions_and_given_grids_stay_as_given():
    from csprior.baselines.tuning import EXTENSION_POINTS, MAX_EXTENSIONS

    grids = torch.tensor([[1.0, 2.0, 4.0]], dtype=torch.float64)
    _, extended, scores = _synthetic_search(grids, [1e6])
    assert extended.shape[1] == 3 + EXTENSION_POINTS * MAX_EXTENSIONS
    assert extended[0, -1].item() == pytest.approx(4.0 * 2.0 ** (EXTENSION_POINTS * MAX_EXTENSIONS))
    assert int(scores[0].argmax()) == extended.shape[1] - 1  # still at the end: the caller warns
    _, kept, _ = _synthetic_search(grids, [1e6], extend=False)
    assert torch.equal(kept, grids)


def test_holdout_default_grid_extends_and_given_grid_does_not(caplog):
    from csprior.baselines.tuning import RELATIVE_GRID

    # measurements of a zero image: only the zero solution, λ at or above the default grid's
    # scale ‖Ψ Aᴴ y‖_∞, predicts held-out noise best, one grid step beyond its upper end
    A = GaussianMatrix((1, 8, 8), 48, seed=6)
    y = add_gaussian_noise(torch.zeros(A.out_shape), 0.1, seed=7)
    default = lasso(y, A, "holdout", basis="dct", iterations=200, progress=False)
    grid, residuals = default.params["lam_grid"], default.params["holdout_residual"]
    assert len(grid) > len(RELATIVE_GRID) and max(grid) > grid[len(RELATIVE_GRID) - 1] > grid[0]
    assert default.params["lam_fit"] == pytest.approx(grid[int(np.argmin(residuals))])
    given = lasso(y, A, "holdout", basis="dct", grid=[1e-2, 1e-1], iterations=200, progress=False)
    assert given.params["lam_grid"] == [1e-2, 1e-1]
    assert "upper end" in caplog.text
