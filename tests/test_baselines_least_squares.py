"""Least squares: the minimum-norm solution, the Tikhonov closed form, a falling objective; zero-filled."""
from __future__ import annotations

import numpy as np
import torch

from csprior.baselines import least_squares, zero_filled
from csprior.operators import GaussianMatrix, MatrixOperator, MultiCoilPartialFourier, PartialFourier, ifft2c


def _dense(A) -> np.ndarray:
    n = int(np.prod(A.in_shape))
    return A(torch.eye(n).reshape(n, *A.in_shape)).reshape(n, -1).double().numpy().T


def _relative_error(x: torch.Tensor, reference: np.ndarray) -> float:
    x = x.reshape(-1).to(torch.complex128 if x.is_complex() else torch.float64).numpy()
    return float(np.linalg.norm(x - reference) / np.linalg.norm(reference))


def test_under_determined_gives_minimum_norm_solution():
    A = GaussianMatrix((6, 8), 20, seed=1)
    y = A(torch.rand(6, 8, generator=torch.Generator().manual_seed(2)))
    result = least_squares(y, A, iterations=500, tol=1e-7, progress=False)
    reference = np.linalg.pinv(_dense(A)) @ y.double().numpy()
    assert _relative_error(result.image, reference) <= 1e-3
    assert result.stop_reason == "converged" and result.method == "least-squares"


def test_complex_over_determined_gives_pseudo_inverse_solution():
    gen = torch.Generator().manual_seed(3)
    matrix = torch.randn(40, 16, generator=gen, dtype=torch.complex64)
    A = MatrixOperator(matrix, (4, 4))
    y = torch.randn(40, generator=gen, dtype=torch.complex64)  # inconsistent: a true least-squares fit
    result = least_squares(y, A, iterations=500, tol=1e-7, progress=False)
    reference = np.linalg.pinv(matrix.numpy().astype(np.complex128)) @ y.numpy().astype(np.complex128)
    assert _relative_error(result.image, reference) <= 1e-3


def test_damped_gives_tikhonov_closed_form():
    A = GaussianMatrix((6, 8), 20, seed=4)
    y = A(torch.rand(6, 8, generator=torch.Generator().manual_seed(5)))
    damp = 0.3
    matrix = _dense(A)
    reference = np.linalg.solve(matrix.T @ matrix + damp ** 2 * np.eye(48), matrix.T @ y.double().numpy())
    result = least_squares(y, A, damp=damp, iterations=500, tol=1e-7, progress=False)
    assert _relative_error(result.image, reference) <= 1e-3
    assert result.method == "tikhonov" and result.params["damp"] == damp


def test_objective_decreases_monotonically():
    A = GaussianMatrix((8, 8), 40, seed=6)
    y = A(torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(7)))
    result = least_squares(y, A, damp=0.1, iterations=60, tol=1e-7, progress=False)
    for problem in result.problems:
        history = np.array(problem.history["objective"])
        # CG minimises the quadratic over nested Krylov spaces; allow float32 rounding only
        assert np.all(np.diff(history) <= 1e-6 * history[0])
        assert len(history) == problem.stop_iteration + 1


def test_zero_filled_single_coil_is_adjoint():
    gen = torch.Generator().manual_seed(8)
    A = PartialFourier(torch.rand(12, 12, generator=gen) < 0.4)
    y = A(torch.randn(12, 12, generator=gen, dtype=torch.complex64))
    result = zero_filled(y, A)
    assert torch.allclose(result.image, A.H(y)) and result.params["combination"] == "adjoint"
    assert result.history == {} and result.stop_reason == "direct"


def test_zero_filled_multi_coil_is_root_sum_of_squares():
    gen = torch.Generator().manual_seed(9)
    maps = torch.randn(4, 16, 16, generator=gen, dtype=torch.complex64)
    A = MultiCoilPartialFourier(torch.rand(16, generator=gen) < 0.5, maps)
    y = A(torch.randn(2, 16, 16, generator=gen, dtype=torch.complex64))
    result = zero_filled(y, A)
    expected = ifft2c(y).abs().pow(2).sum(dim=-3).sqrt()
    assert result.image.shape == (2, 16, 16) and result.image.dtype == torch.complex64
    assert torch.allclose(result.image.real, expected, atol=1e-5) and float(result.image.imag.abs().max()) == 0
    assert result.params["combination"] == "rss"
