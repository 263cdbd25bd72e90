"""GaussianMatrix: one matrix per seed whatever the memory budget, and bounded memory when regenerated.

Peak memory of the 256×256, m = n/2 case is measured by ``python -m csprior.benchmarks.gaussian_memory``;
here the bound is checked structurally at a moderate size: the operator holds no matrix, and every
block of rows it materialises fits the budget.
"""
import math

import pytest
import torch

from csprior.operators import GaussianMatrix, dot_test
from csprior.operators.gaussian import CHUNK_ROWS, DEFAULT_MEMORY_BUDGET

SHAPE = (2, 9, 11)  # n = 198
N = math.prod(SHAPE)


def _pair(m, seed=0, block_rows=24):
    stored = GaussianMatrix(SHAPE, m, seed=seed)
    budget = min(4 * N * block_rows, 4 * N * stored.out_shape[0] - 1)  # just too small to store it
    regenerated = GaussianMatrix(SHAPE, m, seed=seed, memory_budget=budget)
    assert stored.stored and not regenerated.stored
    return stored, regenerated


@pytest.mark.parametrize("m", [1, 37, 0.5, N])
@pytest.mark.parametrize("complex_", [False, True])
def test_regenerated_matches_stored(m, complex_):
    stored, regenerated = _pair(m)
    gen = torch.Generator().manual_seed(1)
    x = stored.random_input(3, generator=gen, complex_=complex_)
    y = stored.random_output(3, generator=gen, complex_=complex_)
    torch.testing.assert_close(regenerated(x), stored(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(regenerated.adjoint(y), stored.adjoint(y), rtol=1e-5, atol=1e-5)


def test_matrix_is_defined_by_seed_alone():
    stored, regenerated = _pair(50, seed=3)
    m = stored.out_shape[0]
    torch.testing.assert_close(regenerated.rows(0, m) / math.sqrt(m), stored.matrix)
    torch.testing.assert_close(regenerated.rows(7, 29), stored.rows(7, 29))  # unaligned slices agree
    other = GaussianMatrix(SHAPE, 50, seed=4)
    assert not torch.equal(other.matrix, stored.matrix)
    assert torch.equal(GaussianMatrix(SHAPE, 50, seed=3).matrix, stored.matrix)


def test_gradients_agree_between_modes():
    stored, regenerated = _pair(0.4)
    target = torch.randn(stored.out_shape, generator=torch.Generator().manual_seed(2))
    grads = []
    for A in (stored, regenerated):
        x = torch.zeros(SHAPE, requires_grad=True)
        loss = (A(x) - target).pow(2).sum() + A.adjoint(A(x)).sum()
        loss.backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-5)


def test_regenerated_operator_keeps_memory_within_budget(monkeypatch):
    """64×64 image, m = n/2: a 32 MiB matrix under a 1 MiB budget is never held whole."""
    shape, budget = (1, 64, 64), 2 ** 20
    A = GaussianMatrix(shape, 0.5, seed=0, memory_budget=budget)
    m, n = A.out_shape[0], A.n
    assert 4 * m * n == 32 * 2 ** 20 and not A.stored
    assert sum(t.numel() for t in A._tensors()) == 0  # nothing of size m·n (or m, or n) is kept
    block_bytes = []
    rows = A.rows

    def recording_rows(start, stop):
        block = rows(start, stop)
        block_bytes.append(block.untyped_storage().nbytes())
        return block

    monkeypatch.setattr(A, "rows", recording_rows)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    y = A(x)
    A.adjoint(y)
    expected_blocks = math.ceil(m / A.block_rows)
    assert len(block_bytes) == 2 * expected_blocks and expected_blocks > 1
    assert max(block_bytes) <= budget
    assert sum(block_bytes) == 2 * 4 * m * n  # every row drawn exactly once per application


def test_budget_below_one_chunk_uses_one_chunk():
    A = GaussianMatrix(SHAPE, 40, memory_budget=8)
    assert not A.stored and A.block_rows == CHUNK_ROWS
    assert dot_test(A, batch_shape=(2,)) < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_regenerated_cuda_peak_memory_within_budget():
    shape, budget = (1, 64, 64), 2 ** 20
    A = GaussianMatrix(shape, 0.5, seed=0, memory_budget=budget).to("cuda")
    x = torch.rand(shape, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    A.adjoint(A(x))
    torch.cuda.synchronize()
    assert torch.cuda.max_memory_allocated() - baseline <= 2 * budget


def test_default_budget_stores_every_128_pixel_square_matrix():
    # cs-natural's 128² cells: regenerating an 8192 × 16384 matrix per application would cost hours per fit
    n = 128 * 128
    for ratio in (0.1, 0.25, 0.5, 1.0):
        m = int(ratio * n)
        assert 4 * m * n <= DEFAULT_MEMORY_BUDGET, ratio
