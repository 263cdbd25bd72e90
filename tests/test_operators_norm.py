"""``A.norm()`` (power iteration) against the largest singular value of the dense matrix of ``A``.

The dense matrix is built by applying the operator to every basis vector of its input space (one
batched forward call), so it is independent of how the operator computes its products. The same
matrix, built from the adjoint, must be its conjugate transpose.
"""
import math

import pytest
import torch

from csprior.operators import (Diagonal, GaussianMatrix, Identity, Inpainting, MatrixOperator,
                               MultiCoilPartialFourier, PartialFourier, PixelSubsample, RandomizedDCT,
                               fastmri_mask, poisson_disc_mask, random_pixel_mask)

H, W = 9, 11
N = H * W


def dense(A, adjoint=False) -> torch.Tensor:
    """The complex128 matrix ``(prod(out_shape), prod(in_shape))`` of ``A`` (of ``A^H`` when ``adjoint``)."""
    in_shape, out_shape = (A.out_shape, A.in_shape) if adjoint else (A.in_shape, A.out_shape)
    apply = A.adjoint if adjoint else A.forward
    n = math.prod(in_shape)
    basis = torch.eye(n, dtype=torch.complex64 if A.is_complex else torch.float32)
    columns = apply(basis.reshape(n, *in_shape)).reshape(n, math.prod(out_shape))
    return columns.T.to(torch.complex128)


def _maps(coils=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(coils, H, W, generator=gen, dtype=torch.complex64)


def _weights(seed=0, complex_=False):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(H, W, generator=gen, dtype=torch.complex64 if complex_ else torch.float32)


OPERATORS = {
    "Identity": lambda: Identity((H, W)),
    "Diagonal": lambda: Diagonal(_weights(1)),
    "Diagonal complex": lambda: Diagonal(_weights(2, complex_=True)),
    "MatrixOperator": lambda: MatrixOperator(torch.randn(40, N, generator=torch.Generator().manual_seed(3)),
                                             (H, W)),
    "PixelSubsample": lambda: PixelSubsample((H, W), 0.4, seed=4),
    "Inpainting": lambda: Inpainting(random_pixel_mask((H, W), 0.5, seed=5)),
    "GaussianMatrix stored": lambda: GaussianMatrix((H, W), 0.5, seed=6),
    "GaussianMatrix blocks": lambda: GaussianMatrix((H, W), 0.5, seed=6, memory_budget=4 * N * 20),
    "RandomizedDCT": lambda: RandomizedDCT((H, W), 0.3, seed=7),
    "PartialFourier columns": lambda: PartialFourier(fastmri_mask("equispaced", W, 0.1, 3, seed=0)[0], height=H),
    "PartialFourier 2-D": lambda: PartialFourier(poisson_disc_mask((H, W), 2, calib=3, seed=8)),
    "MultiCoilPartialFourier": lambda: MultiCoilPartialFourier(poisson_disc_mask((H, W), 2, calib=3), _maps()),
    "3 * Gaussian @ Inpainting": lambda: 3 * GaussianMatrix((H, W), 60, seed=9) @ Inpainting(
        random_pixel_mask((H, W), 0.3, seed=10)),
    "Gaussian + DCT": lambda: GaussianMatrix((H, W), 50, seed=11) + RandomizedDCT((H, W), 50, seed=12),
    "PartialFourier @ Diagonal complex": lambda: PartialFourier(poisson_disc_mask((H, W), 2, calib=3)) @ Diagonal(
        _weights(13, complex_=True)),
}


@pytest.mark.parametrize("name", list(OPERATORS))
def test_norm_matches_dense_svd(name):
    A = OPERATORS[name]()
    matrix = dense(A)
    singular_values = torch.linalg.svdvals(matrix)
    assert A.norm() == pytest.approx(float(singular_values[0]), rel=1e-3)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_dense_adjoint_is_conjugate_transpose(name):
    A = OPERATORS[name]()
    torch.testing.assert_close(dense(A, adjoint=True), dense(A).conj().T, rtol=1e-5, atol=1e-5)


def test_documented_spectra():
    """Singular values the docstrings promise: sqrt(n/m) for the DCT, 0/1 for masks, ~N(0,1/m) Gaussian."""
    dct = RandomizedDCT((H, W), 33, seed=0)
    torch.testing.assert_close(torch.linalg.svdvals(dense(dct)),
                               torch.full((33,), math.sqrt(N / 33), dtype=torch.float64), rtol=1e-5, atol=0)
    for A in (PixelSubsample((H, W), 0.4), Inpainting(random_pixel_mask((H, W), 0.5)),
              PartialFourier(poisson_disc_mask((H, W), 2, calib=3))):
        values = torch.linalg.svdvals(dense(A))
        assert bool(((values - 1).abs() < 1e-5).logical_or(values.abs() < 1e-5).all())
    gaussian = dense(GaussianMatrix((H, W), 50, seed=1)).real
    assert float(gaussian.mean()) == pytest.approx(0, abs=0.01)
    assert float(gaussian.var() * 50) == pytest.approx(1, rel=0.1)


def test_norm_of_zero_operator_is_zero():
    assert Diagonal(torch.zeros(H, W)).norm() == 0.0
