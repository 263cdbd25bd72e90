"""The TV baseline reaches a cvxpy solution of the same objective, real and complex, (an)isotropic."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from csprior.baselines import FiniteDifferences, total_variation, tv
from csprior.operators import (GaussianMatrix, Inpainting, MultiCoilPartialFourier, PartialFourier, dot_test,
                               random_pixel_mask)

cp = pytest.importorskip("cvxpy")

SIZE = 8


def _dense(operator, dtype) -> np.ndarray:
    """Matrix of ``operator`` on ``(SIZE, SIZE)`` images (column ``j`` = its image of ``e_j``)."""
    n = SIZE * SIZE
    basis = torch.eye(n, dtype=dtype).reshape(n, *operator.in_shape)
    return operator(basis).reshape(n, -1).numpy().T.astype(np.complex128 if dtype.is_complex else np.float64)


def _differences(x):
    """cvxpy forward differences of an ``(H, W)`` expression, zero beyond the last row and column."""
    vertical = cp.vstack([x[1:, :] - x[:-1, :], np.zeros((1, SIZE))])
    horizontal = cp.hstack([x[:, 1:] - x[:, :-1], np.zeros((SIZE, 1))])
    return cp.vec(vertical, order="C"), cp.vec(horizontal, order="C")


def _cvxpy_optimum(matrix: np.ndarray, y: np.ndarray, lam: float, isotropic: bool, complex_image: bool) -> float:
    """Optimal value of ½‖M x − y‖² + λ TV(x), with a complex ``x`` split into real and imaginary parts."""
    parts = [cp.Variable((SIZE, SIZE)) for _ in range(2 if complex_image else 1)]
    if complex_image:
        real, imag = parts
        residual = [matrix.real @ cp.vec(real, order="C") - matrix.imag @ cp.vec(imag, order="C") - y.real,
                    matrix.real @ cp.vec(imag, order="C") + matrix.imag @ cp.vec(real, order="C") - y.imag]
    else:
        residual = [matrix @ cp.vec(parts[0], order="C") - y]
    differences = [_differences(p) for p in parts]  # per part: (vertical, horizontal)
    vertical = [d[0] for d in differences]
    horizontal = [d[1] for d in differences]
    if isotropic:  # pixel-wise 2-norm of all difference components
        penalty = cp.sum(cp.norm(cp.vstack(vertical + horizontal), 2, axis=0))
    else:  # |vertical| + |horizontal|, each a complex magnitude
        penalty = sum(cp.sum(cp.norm(cp.vstack(d), 2, axis=0)) for d in (vertical, horizontal))
    objective = 0.5 * sum(cp.sum_squares(r) for r in residual) + lam * penalty
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver=cp.CLARABEL)
    return float(problem.value)


def _our_objective(A, y, x, lam, isotropic) -> float:
    data = 0.5 * float((A(x) - y).abs().double().pow(2).sum())
    wide = x.to(torch.complex128 if x.is_complex() else torch.float64)
    return data + lam * float(total_variation(wide[None], isotropic)[0])


@pytest.mark.parametrize("isotropic", [True, False])
@pytest.mark.parametrize("kind", ["real-gaussian", "complex-partial-fourier"])
def test_tv_reaches_cvxpy_optimum(kind, isotropic):
    gen = torch.Generator().manual_seed(11)
    if kind == "real-gaussian":
        truth = torch.rand(SIZE, SIZE, generator=gen)
        A = GaussianMatrix((SIZE, SIZE), 40, seed=2)
    else:
        truth = torch.randn(SIZE, SIZE, generator=gen, dtype=torch.complex64)
        A = PartialFourier(torch.rand(SIZE, SIZE, generator=gen) < 0.5)
    y = A(truth)
    lam = 0.05
    best = _cvxpy_optimum(_dense(A, truth.dtype), y.numpy().reshape(-1).astype(np.complex128 if y.is_complex()
                                                                               else np.float64),
                          lam, isotropic, truth.is_complex())
    result = tv(y, A, lam, isotropic=isotropic, iterations=20000, tol=1e-8, progress=False)
    ours = _our_objective(A, y, result.image, lam, isotropic)
    assert result.image.dtype == truth.dtype
    assert abs(ours - best) / best <= 2e-3
    assert result.method == ("tv" if isotropic else "tv-anisotropic")


def test_tv_objective_converges_though_not_monotone():
    """Chambolle–Pock is not a descent method (see ``csprior.baselines.tv``): the recorded objective may
    rise, but its running minimum falls and the final value is close to the best one seen."""
    gen = torch.Generator().manual_seed(12)
    truth = torch.rand(SIZE, SIZE, generator=gen)
    A = GaussianMatrix((SIZE, SIZE), 32, seed=5)
    result = tv(A(truth), A, 0.02, iterations=3000, tol=0.0, progress=False)
    history = np.array(result.history["objective"])
    assert np.all(np.isfinite(history))
    assert history[-1] < 0.05 * history[0]
    assert history[-1] <= history.min() * (1 + 1e-4)


def test_default_budget_lets_tv_converge_on_inpainting():
    """Inpainting needs well over 1000 primal–dual iterations: the default budget reaches the stopping
    tolerance there, and its objective is below that of a solve cut at 1000."""
    truth = torch.rand(32, 32, generator=torch.Generator().manual_seed(3))
    truth = torch.nn.functional.avg_pool2d(truth[None, None], 3, stride=1, padding=1)[0, 0]  # smoother
    A = Inpainting(random_pixel_mask((32, 32), 0.8, seed=0))
    y = A(truth)
    cut = tv(y, A, 0.01, iterations=1000, progress=False)
    default = tv(y, A, 0.01, progress=False)
    assert cut.stop_reason == "max_iterations"
    assert default.stop_reason == "converged" and default.stop_iteration >= 1000
    assert _our_objective(A, y, default.image, 0.01, True) < _our_objective(A, y, cut.image, 0.01, True)


def test_finite_differences_definition_and_adjoint():
    x = torch.arange(12.0).reshape(3, 4) ** 2
    d = FiniteDifferences((3, 4))(x)
    assert torch.equal(d[0, :-1], x[1:] - x[:-1]) and torch.equal(d[0, -1], torch.zeros(4))
    assert torch.equal(d[1, :, :-1], x[:, 1:] - x[:, :-1]) and torch.equal(d[1, :, -1], torch.zeros(3))
    assert float(total_variation(x[None], isotropic=False)[0]) == pytest.approx(float(d.abs().sum()))
    assert dot_test(FiniteDifferences((2, 5, 6)), complex_=True) < 1e-5


def test_tv_multicoil_complex_runs():
    gen = torch.Generator().manual_seed(13)
    truth = torch.randn(16, 16, generator=gen, dtype=torch.complex64)
    maps = torch.randn(3, 16, 16, generator=gen, dtype=torch.complex64)
    maps = maps / maps.abs().pow(2).sum(dim=0).sqrt()
    A = MultiCoilPartialFourier(torch.rand(16, generator=gen) < 0.5, maps)
    result = tv(A(truth), A, 1e-2, iterations=200, progress=False)
    assert result.image.shape == (16, 16) and result.image.dtype == torch.complex64
    assert np.all(np.isfinite(result.history["objective"]))
