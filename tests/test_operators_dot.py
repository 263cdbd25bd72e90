"""Adjoint dot-tests <Ax, y> = <x, A^H y> for every operator, real and complex, with batch dimensions.

Sizes are odd (17×23) so that centring, DCT reordering and row-block boundaries are exercised off
the even case. The Gaussian operator is tested both stored and regenerated block by block (a
``memory_budget`` of a few rows forces several blocks and a partial last one).
"""
import pytest
import torch

from csprior.operators import (Diagonal, GaussianMatrix, Identity, Inpainting, MatrixOperator,
                               MultiCoilPartialFourier, PartialFourier, PixelSubsample, RandomizedDCT,
                               dot_test, fastmri_mask, poisson_disc_mask, random_block_mask,
                               random_pixel_mask)

H, W = 17, 23
N = H * W
TOLERANCE = 1e-5


def _randn(*shape, seed=0, complex_=False):
    dtype = torch.complex64 if complex_ else torch.float32
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _gaussian_blocks(shape=(H, W), m=0.5, seed=0):
    # a budget of 40 rows: several blocks, the last one partial
    n = shape[0] * shape[1]
    return GaussianMatrix(shape, m, seed=seed, memory_budget=4 * n * 40)


def _column_fourier():
    mask, _ = fastmri_mask("random", W, 0.1, 3, seed=tuple(map(ord, "file1000001.h5")))
    return PartialFourier(mask, height=H)


def _poisson_fourier():
    return PartialFourier(poisson_disc_mask((H, W), 3, calib=4, seed=1))


def _multicoil(column_mask=False):
    maps = _randn(4, H, W, seed=3, complex_=True)
    maps = maps / maps.abs().pow(2).sum(0).sqrt()
    if column_mask:
        return MultiCoilPartialFourier(fastmri_mask("equispaced", W, 0.1, 4, seed=0)[0], maps)
    return MultiCoilPartialFourier(poisson_disc_mask((H, W), 2, calib=6, seed=2), maps)


# name -> (factory, kinds of data the operator takes); "complex" alone marks complex-only operators
REAL_AND_COMPLEX = ("real", "complex")
COMPLEX_ONLY = ("complex",)
OPERATORS = {
    "Identity": (lambda: Identity((H, W)), REAL_AND_COMPLEX),
    "Identity 3-D": (lambda: Identity((3, H, W)), REAL_AND_COMPLEX),
    "Diagonal real": (lambda: Diagonal(_randn(H, W, seed=1)), REAL_AND_COMPLEX),
    "Diagonal complex": (lambda: Diagonal(_randn(H, W, seed=1, complex_=True)), COMPLEX_ONLY),
    "MatrixOperator real": (lambda: MatrixOperator(_randn(31, N, seed=2), (H, W)), REAL_AND_COMPLEX),
    "MatrixOperator complex": (lambda: MatrixOperator(_randn(31, N, seed=2, complex_=True), (H, W)),
                               COMPLEX_ONLY),
    "PixelSubsample ratio": (lambda: PixelSubsample((H, W), 0.3, seed=4), REAL_AND_COMPLEX),
    "PixelSubsample count 3-D": (lambda: PixelSubsample((3, H, W), 101, seed=5), REAL_AND_COMPLEX),
    "Inpainting pixels": (lambda: Inpainting(random_pixel_mask((H, W), 0.6, seed=6)), REAL_AND_COMPLEX),
    "Inpainting blocks 3-D": (lambda: Inpainting(random_block_mask((3, H, W), 0.3, 4, seed=7)),
                              REAL_AND_COMPLEX),
    "GaussianMatrix stored": (lambda: GaussianMatrix((H, W), 0.5, seed=8), REAL_AND_COMPLEX),
    "GaussianMatrix blocks": (lambda: _gaussian_blocks(seed=8), REAL_AND_COMPLEX),
    "GaussianMatrix blocks m=n": (lambda: _gaussian_blocks(m=N, seed=9), REAL_AND_COMPLEX),
    "RandomizedDCT": (lambda: RandomizedDCT((H, W), 0.4, seed=10), REAL_AND_COMPLEX),
    "RandomizedDCT 3-D": (lambda: RandomizedDCT((3, H, W), 200, seed=11), REAL_AND_COMPLEX),
    "PartialFourier columns": (_column_fourier, COMPLEX_ONLY),
    "PartialFourier 2-D": (_poisson_fourier, COMPLEX_ONLY),
    "MultiCoilPartialFourier 2-D": (_multicoil, COMPLEX_ONLY),
    "MultiCoilPartialFourier columns": (lambda: _multicoil(column_mask=True), COMPLEX_ONLY),
    # algebra over the measurement operators
    "adjoint GaussianMatrix blocks": (lambda: _gaussian_blocks().H, REAL_AND_COMPLEX),
    "adjoint PartialFourier": (lambda: _column_fourier().H, COMPLEX_ONLY),
    "adjoint MultiCoil": (lambda: _multicoil().H, COMPLEX_ONLY),
    "Gaussian @ Inpainting": (lambda: _gaussian_blocks() @ Inpainting(random_pixel_mask((H, W), 0.5)),
                              REAL_AND_COMPLEX),
    "PixelSubsample @ RandomizedDCT": (
        lambda: PixelSubsample((150,), 70, seed=1) @ RandomizedDCT((H, W), 150, seed=2), REAL_AND_COMPLEX),
    "PartialFourier @ Diagonal complex": (
        lambda: _poisson_fourier() @ Diagonal(_randn(H, W, seed=12, complex_=True)), COMPLEX_ONLY),
    "MultiCoil @ Inpainting": (lambda: _multicoil() @ Inpainting(random_pixel_mask((H, W), 0.2)),
                               COMPLEX_ONLY),
    "normal PartialFourier^H PartialFourier": (lambda: _column_fourier().H @ _column_fourier(), COMPLEX_ONLY),
    "normal Gaussian^H Gaussian": (lambda: _gaussian_blocks().H @ _gaussian_blocks(), REAL_AND_COMPLEX),
    "sum Gaussian - 2 DCT": (lambda: GaussianMatrix((H, W), 150, seed=1) - 2 * RandomizedDCT((H, W), 150),
                             REAL_AND_COMPLEX),
    "complex scalar PartialFourier": (lambda: (0.5 - 2j) * _poisson_fourier(), COMPLEX_ONLY),
    "sum of MultiCoil": (lambda: _multicoil() + -_multicoil(column_mask=True), COMPLEX_ONLY),
    "Identity + Inpainting": (lambda: Identity((H, W)) + Inpainting(random_pixel_mask((H, W), 0.5)),
                              REAL_AND_COMPLEX),
}
CASES = [(name, kind) for name, (_, kinds) in OPERATORS.items() for kind in kinds]


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)], ids=["no-batch", "batch2", "batch2x3"])
@pytest.mark.parametrize("name, kind", CASES, ids=[f"{name}-{kind}" for name, kind in CASES])
def test_dot_test(name, kind, batch):
    A = OPERATORS[name][0]()
    for seed in (0, 1):
        assert dot_test(A, seed=seed, batch_shape=batch, complex_=kind == "complex") < TOLERANCE


@pytest.mark.parametrize("name, kind", CASES, ids=[f"{name}-{kind}" for name, kind in CASES])
def test_batch_items_are_independent(name, kind):
    """Forward and adjoint of a (2, 3) batch equal those of each item alone, in the input's dtype."""
    A = OPERATORS[name][0]()
    gen = torch.Generator().manual_seed(0)
    complex_ = kind == "complex"
    x, y = A.random_input(2, 3, generator=gen, complex_=complex_), A.random_output(2, 3, generator=gen,
                                                                                   complex_=complex_)
    forward, adjoint = A(x), A.adjoint(y)
    assert forward.shape == (2, 3, *A.out_shape) and adjoint.shape == (2, 3, *A.in_shape)
    assert forward.is_complex() == (complex_ or A.out_dtype is not None and A.out_dtype.is_complex)
    for i, j in [(0, 0), (1, 2)]:
        torch.testing.assert_close(forward[i, j], A(x[i, j]), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(adjoint[i, j], A.adjoint(y[i, j]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["GaussianMatrix stored", "GaussianMatrix blocks", "RandomizedDCT",
                                  "PixelSubsample ratio", "Inpainting pixels", "Diagonal real"])
def test_real_operators_keep_float64(name):
    """Real-coefficient operators return the input's precision (float64 in, float64 out)."""
    A = OPERATORS[name][0]()
    x = A.random_input(2).double()
    assert A(x).dtype == torch.float64
    assert A.adjoint(A(x)).dtype == torch.float64
    torch.testing.assert_close(A(x).float(), A(x.float()), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_to_cuda_matches_cpu():
    for name, (factory, _) in OPERATORS.items():
        A = factory()
        x = A.random_input(2, generator=torch.Generator().manual_seed(0))
        y = A.random_output(2, generator=torch.Generator().manual_seed(1), complex_=x.is_complex())
        expected_forward, expected_adjoint = A(x), A.adjoint(y)
        assert A.to("cuda") is A, name
        assert isinstance(A, Identity) or A.device.type == "cuda", name  # Identity holds no tensors
        torch.testing.assert_close(A(x.cuda()).cpu(), expected_forward, rtol=1e-4, atol=1e-4, msg=name)
        torch.testing.assert_close(A.adjoint(y.cuda()).cpu(), expected_adjoint, rtol=1e-4, atol=1e-4, msg=name)
        assert dot_test(A, batch_shape=(2,)) < TOLERANCE, name


class _WrongAdjoint(Diagonal):
    """A diagonal operator whose adjoint is off: scaled by ``factor``, or missing the conjugation."""

    def __init__(self, weights, factor=1.0, conjugate=True):
        super().__init__(weights)
        self.factor, self.conjugate = factor, conjugate

    def _adjoint(self, y):
        weights = self.weights.conj() if self.conjugate else self.weights
        return self.factor * y * weights


@pytest.mark.parametrize("complex_", [False, True])
def test_dot_test_detects_wrong_adjoints(complex_):
    weights = _randn(H, W, seed=1, complex_=complex_)
    assert dot_test(_WrongAdjoint(weights), batch_shape=(2,)) < TOLERANCE
    for seed in range(5):  # an adjoint off by 0.1 % reads as an error of about 1e-3 · |N(0, 1)|
        assert dot_test(_WrongAdjoint(weights, factor=1.001), seed=seed) > 10 * TOLERANCE
    if complex_:
        assert dot_test(_WrongAdjoint(weights, conjugate=False)) > 0.1
