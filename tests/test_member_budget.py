"""The member-budget script reports the iterate the holdout rule returns within each budget."""
import numpy as np
import pytest
import torch

from csprior.benchmarks.member_budget import budget_rows, cell_problem, refit_member
from csprior.benchmarks.problems import Problem
from csprior.operators import GaussianMatrix


def _problem() -> Problem:
    x = torch.rand(32, 32, generator=torch.Generator().manual_seed(0))
    A = GaussianMatrix((32, 32), 512, seed=1)
    return Problem(x_true=x, A=A, y=A(x), reference=x, data_range=1.0, noise_std=0.0)


@pytest.mark.parametrize("prior", ["deep-decoder", "conv-decoder"])
def test_each_budget_row_is_the_holdout_best_iterate_within_it(prior):
    result = refit_member(_problem(), 0, iterations=12, lr=0.01, channels=8, tv_weight=0.03, prior=prior)
    held, psnr = np.asarray(result.history["holdout_loss"]), np.asarray(result.history["psnr"])
    assert len(held) == len(psnr) == 12  # no patience: the whole budget runs
    rows = budget_rows(result, [5, 12])
    assert [row[0] for row in rows] == [5, 12]
    for budget, iterate, best_psnr, end_psnr in rows:
        assert held[iterate - 1] == held[:budget].min()
        assert best_psnr == psnr[iterate - 1] and end_psnr == psnr[budget - 1]


def test_a_cell_the_suite_lacks_is_named(shared_data):
    with pytest.raises(ValueError, match="experiment 'gaussian-50-12'"):
        cell_problem(shared_data, "ablation-cs128", "gaussian-50-12", "01")
