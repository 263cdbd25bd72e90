import pytest
import torch

from csprior.operators import Identity, MatrixOperator, dot_test


def _matrix_op(m=5, shape=(3, 4), seed=0, complex_=False):
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.complex64 if complex_ else torch.float32
    return MatrixOperator(torch.randn(m, shape[0] * shape[1], generator=gen, dtype=dtype), shape)


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
@pytest.mark.parametrize("complex_data", [False, True])
def test_algebra_passes_dot_test(batch, complex_data):
    A, B = _matrix_op(seed=1), _matrix_op(seed=2)
    I = Identity((3, 4))
    for op in [A, A.H, A @ I, A + B, A - 2 * B, -A, (A @ I).H, A.H @ A]:
        assert dot_test(op, batch_shape=batch, complex_=complex_data) < 1e-5


def test_complex_matrix_dot_test_and_rejects_real_input():
    A = _matrix_op(complex_=True)
    assert dot_test(A, batch_shape=(2,)) < 1e-5
    with pytest.raises(TypeError, match="x must be complex"):
        A(torch.zeros(3, 4))


def test_norm_matches_svd():
    A = _matrix_op(m=7, seed=3)
    expected = torch.linalg.matrix_norm(A.matrix, ord=2).item()
    assert A.norm() == pytest.approx(expected, rel=1e-4)
    assert (3 * A).norm() == pytest.approx(3 * expected, rel=1e-4)


def test_composition_checks_shapes():
    with pytest.raises(ValueError, match="cannot compose"):
        _matrix_op() @ Identity((4, 3))
    with pytest.raises(ValueError, match="cannot add"):
        _matrix_op() + _matrix_op(m=6)


@pytest.mark.parametrize("bad, error, message", [
    (torch.zeros(4, 3), ValueError, r"x must have shape \(\.\.\., 3, 4\)"),
    (torch.full((3, 4), float("nan")), ValueError, "NaN or Inf"),
    (torch.zeros(3, 4, dtype=torch.int64), TypeError, "floating or complex"),
    ([[0.0] * 4] * 3, TypeError, "torch.Tensor"),
])
def test_bad_input_names_parameter(bad, error, message):
    with pytest.raises(error, match=message):
        _matrix_op()(bad)


def test_adjoint_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"y must have shape \(\.\.\., 5\)"):
        _matrix_op().adjoint(torch.zeros(4))
