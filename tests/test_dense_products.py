"""The dense-matrix products behind ``GaussianMatrix`` and ``MatrixOperator`` equal the plain products, in values and in
gradients, and ``python -m csprior.benchmarks.dense_products`` prints its tables (a smoke test at a
tiny size, not a timing)."""
import pytest
import torch

from csprior.benchmarks import dense_products as benchmark
from csprior.operators import GaussianMatrix, MatrixOperator
from csprior.operators.dense_products import ADJOINT_ROW_STEP, adjoint_product, forward_product

ROWS = 3 * ADJOINT_ROW_STEP + 5  # the last accumulation step is a partial one


@pytest.mark.parametrize("count", [1, 2, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_products_equal_the_plain_products(count, dtype):
    gen = torch.Generator().manual_seed(0)
    matrix = torch.randn(ROWS, 40, generator=gen, dtype=dtype)
    vectors = torch.randn(count, 40, generator=gen, dtype=dtype)
    residuals = torch.randn(count, ROWS, generator=gen, dtype=dtype)
    tolerance = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-12}
    torch.testing.assert_close(forward_product(vectors, matrix), vectors @ matrix.T, **tolerance)
    torch.testing.assert_close(adjoint_product(residuals, matrix), residuals @ matrix, **tolerance)


@pytest.mark.parametrize("batch", [(), (3,)])
@pytest.mark.parametrize("complex_", [False, True])
def test_stored_matrix_gradient_equals_autograd_of_the_plain_product(batch, complex_):
    A = GaussianMatrix((1, 6, 7), 0.5, seed=2)
    gen = torch.Generator().manual_seed(1)
    x = A.random_input(*batch, generator=gen, complex_=complex_).requires_grad_()
    target = A.random_output(*batch, generator=gen, complex_=complex_)
    (A(x) - target).abs().pow(2).sum().backward()
    plain = x.detach().clone().requires_grad_()
    matrix = A.matrix.to(plain.dtype)
    (plain.reshape(*batch, -1) @ matrix.T - target).abs().pow(2).sum().backward()
    torch.testing.assert_close(x.grad, plain.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch", [(), (3,)])
@pytest.mark.parametrize("matrix_dtype, input_dtype", [(torch.float32, torch.float32), (torch.float32, torch.complex64),
                                                       (torch.complex64, torch.complex64), (torch.float64, torch.float64)])
def test_matrix_operator_values_and_gradients_equal_the_plain_products(batch, matrix_dtype, input_dtype):
    gen = torch.Generator().manual_seed(3)
    matrix = torch.randn(ROWS, 42, generator=gen, dtype=matrix_dtype)
    A = MatrixOperator(matrix, (6, 7))
    x = torch.randn(*batch, 6, 7, generator=gen, dtype=input_dtype).requires_grad_()
    target = torch.randn(*batch, ROWS, generator=gen, dtype=input_dtype)
    plain_matrix = matrix.to(input_dtype)
    tolerance = {"rtol": 1e-5, "atol": 1e-4} if matrix_dtype != torch.float64 else {"rtol": 1e-12, "atol": 1e-12}
    torch.testing.assert_close(A.H(target), (target @ plain_matrix.conj()).reshape(*batch, 6, 7), **tolerance)
    (A(x) - target).abs().pow(2).sum().backward()
    plain = x.detach().clone().requires_grad_()
    (plain.reshape(*batch, -1) @ plain_matrix.T - target).abs().pow(2).sum().backward()
    torch.testing.assert_close(x.grad, plain.grad, **tolerance)
    assert A.batch_amortised


def test_main_prints_both_tables(capsys):
    benchmark.main(["--size", "16", "--vectors", "1", "3", "--repeats", "1", "--fit", "--fit-iterations", "2",
                    "--fit-repeats", "1"])
    printed = capsys.readouterr().out
    product_rows = [line for line in printed.splitlines() if line.startswith(("| 1 |", "| 3 |"))]
    assert len(product_rows) == 2 and all(len(row.split("|")) == 3 + len(benchmark.WAYS) for row in product_rows)
    fit_rows = [line.split("|") for line in printed.splitlines() if line.startswith(("| deep-decoder", "| conv-decoder"))]
    assert [row[1].strip() for row in fit_rows] == ["deep-decoder 128 ch.", "conv-decoder"]
    assert all(len(row) == 7 and float(row[5]) > 0 for row in fit_rows)


def test_main_names_a_matrix_over_the_memory_budget():
    with pytest.raises(SystemExit):
        benchmark.main(["--size", "256", "--ratio", "0.5"])
