"""The Lasso baseline reaches scikit-learn's optimum and its FISTA objective never rises."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from csprior.baselines import lasso, sparsifying_transform
from csprior.datasets import load_image
from csprior.operators import GaussianMatrix, MultiCoilPartialFourier, PartialFourier

sklearn_linear = pytest.importorskip("sklearn.linear_model")

SHAPE = (1, 8, 8)


def _dense(operator, shape) -> np.ndarray:
    """The matrix of a real linear operator on images of ``shape``: column ``j`` is its image of ``e_j``."""
    n = int(np.prod(shape))
    basis = torch.eye(n, dtype=torch.float32).reshape(n, *shape)
    return operator(basis).reshape(n, -1).double().numpy().T


def _objective(design: np.ndarray, y: np.ndarray, coefficients: np.ndarray, lam: float) -> float:
    return 0.5 * float(np.sum((design @ coefficients - y) ** 2)) + lam * float(np.abs(coefficients).sum())


@pytest.mark.parametrize("basis", ["dct", "haar", "db2"])
def test_lasso_reaches_sklearn_optimum(basis):
    gen = torch.Generator().manual_seed(1)
    truth = torch.rand(*SHAPE, generator=gen)
    A = GaussianMatrix(SHAPE, 40, seed=3)
    y = A(truth)
    transform = sparsifying_transform(basis, SHAPE)
    # design matrix A Ψᵀ, so that the Lasso's coefficients are sklearn's weights
    design = _dense(A, SHAPE) @ _dense(transform.H, SHAPE)
    y_np = y.double().numpy()
    lam = 0.05 * float(np.abs(design.T @ y_np).max())
    # sklearn minimises 1/(2 m)‖y − Xw‖² + α‖w‖₁, i.e. our objective divided by m with α = λ/m
    reference = sklearn_linear.Lasso(alpha=lam / len(y_np), fit_intercept=False, tol=1e-12, max_iter=200_000)
    reference.fit(design, y_np)
    best = _objective(design, y_np, reference.coef_, lam)

    result = lasso(y, A, lam, basis=basis, iterations=5000, tol=1e-9, progress=False)
    coefficients = transform(result.image).reshape(-1).double().numpy()
    ours = _objective(design, y_np, coefficients, lam)
    assert abs(ours - best) / best <= 1e-3
    assert result.params["lam_rule"] == "given" and result.method == f"lasso-{basis}"


def test_lasso_objective_never_rises():
    gen = torch.Generator().manual_seed(2)
    truth = torch.rand(*SHAPE, generator=gen)
    A = GaussianMatrix(SHAPE, 30, seed=4)
    result = lasso(A(truth), A, 1e-3, basis="dct", iterations=400, tol=0.0, progress=False)
    history = np.array(result.history["objective"])
    assert len(history) == 400
    # monotone by construction (a step that would raise it is rejected and the momentum reset)
    assert np.all(np.diff(history) <= 0)
    assert history[-1] < history[0]


def test_default_budget_lets_lasso_converge_at_small_lam():
    """A small λ in db4 wavelets needs over 1000 FISTA iterations: the default budget reaches the
    stopping tolerance, with a lower objective than a solve cut at 1000."""
    truth = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(6))
    truth = torch.nn.functional.avg_pool2d(truth, 3, stride=1, padding=1)[0, 0]
    A = GaussianMatrix((32, 32), 256, seed=0)
    y = A(truth)
    cut = lasso(y, A, 3e-4, basis="db4", iterations=1000, progress=False)
    default = lasso(y, A, 3e-4, basis="db4", progress=False)
    assert cut.stop_reason == "max_iterations"
    assert default.stop_reason == "converged" and default.stop_iteration >= 1000
    assert default.history["objective"][-1] < cut.history["objective"][-1]


def test_lasso_result_fields():
    A = GaussianMatrix(SHAPE, 30, seed=4)
    y = A(torch.rand(2, *SHAPE, generator=torch.Generator().manual_seed(5)))
    result = lasso(y, A, 1e-2, basis="haar", iterations=50, progress=False)
    assert result.image.shape == (2, *SHAPE) and result.image.dtype == torch.float32
    assert len(result.problems) == 2 and result.seconds > 0
    assert all(len(p.history["objective"]) == p.stop_iteration + 1 for p in result.problems)


def test_complex_l1_wavelet_single_and_multi_coil():
    gen = torch.Generator().manual_seed(6)
    truth = torch.randn(16, 16, generator=gen, dtype=torch.complex64)
    mask = torch.rand(16, 16, generator=gen) < 0.5
    maps = torch.randn(4, 16, 16, generator=gen, dtype=torch.complex64)
    maps = maps / maps.abs().pow(2).sum(dim=0).sqrt()
    for A in (PartialFourier(mask), MultiCoilPartialFourier(mask, maps)):
        result = lasso(A(truth), A, 1e-2, basis="db2", iterations=200, progress=False)
        assert result.image.shape == (16, 16) and result.image.dtype == torch.complex64
        history = np.array(result.history["objective"])
        assert np.all(np.isfinite(history)) and np.all(np.diff(history) <= 0)
        # well below the zero image's objective ½‖y‖²
        assert history[-1] < 0.1 * 0.5 * float(A(truth).abs().pow(2).sum())


def test_complex_lasso_reaches_optimum_of_magnitude_l1():
    """Complex ℓ1 (sum of magnitudes) against an optimality check: the subgradient condition."""
    gen = torch.Generator().manual_seed(7)
    truth = torch.randn(8, 8, generator=gen, dtype=torch.complex64)
    A = PartialFourier(torch.rand(8, 8, generator=gen) < 0.6)
    lam = 0.05
    result = lasso(A(truth), A, lam, basis="dct", iterations=5000, tol=1e-9, progress=False)
    transform = sparsifying_transform("dct", (8, 8))
    c = transform(result.image)
    gradient = transform(A.H(A(result.image) - A(truth)))
    support = c.abs() > 1e-4
    # on the support the gradient equals −λ c/|c|; off it its magnitude is at most λ
    assert torch.allclose(gradient[support], -lam * c[support] / c[support].abs(), atol=2e-3)
    assert float(gradient[~support].abs().amax()) if bool((~support).any()) else 0.0 <= lam * (1 + 1e-2)


def test_a_solve_stops_only_after_quiet_steps_in_a_row():
    """A loose tolerance is met by the very first steps; the solve still runs ``QUIET_STEPS`` of them."""
    from csprior.baselines.fista import QUIET_STEPS

    truth = torch.rand(*SHAPE, generator=torch.Generator().manual_seed(3))
    A = GaussianMatrix(SHAPE, 30, seed=5)
    result = lasso(A(truth), A, 1e-3, basis="dct", tol=1.0, progress=False)
    assert result.stop_reason == "converged" and result.stop_iteration == QUIET_STEPS - 1


def test_a_restart_does_not_stop_a_slow_solve():
    """db4 Lasso at a tiny λ from noiseless Gaussian measurements: the steps right after the momentum
    restart at iteration 77 are short enough to pass the tolerance (the rule of one short step
    stopped this solve at iteration 78), but the solve goes on and almost halves its objective."""
    x = load_image("camera", size=32)[0, 0]
    A = GaussianMatrix((32, 32), 512, seed=2)
    result = lasso(A(x), A, 1e-5, basis="db4", iterations=3000, progress=False)
    history = np.array(result.history["objective"])
    assert result.stop_iteration > 1000
    assert history[-1] < 0.7 * history[78]
