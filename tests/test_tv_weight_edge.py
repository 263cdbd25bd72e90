"""The λ-edge script refits a suite's cells exactly as the holdout rule fits them."""
import pytest

from csprior import reconstruct
from csprior.benchmarks.problems import build_problem
from csprior.benchmarks.suite import expand, load_suite
from csprior.benchmarks.tv_weight_edge import rows
from csprior.hybrid import TV_WEIGHT_GRID


def test_its_held_out_residuals_are_those_the_holdout_rule_compares(shared_data):
    measured = list(rows(shared_data, TV_WEIGHT_GRID, iterations=4))
    assert len(measured) == 2 * len(TV_WEIGHT_GRID)  # two images, one row per λ
    cell = next(c for c in expand(load_suite("ablation-cs128"), shared_data).cells
                if c.experiment == "gaussian-128-channels" and c.method == "auto-128ch" and abs(c.ratio - 0.1) < 1e-9)
    problem = build_problem(cell.config, shared_data)
    chosen = reconstruct(problem.y, problem.A, seed=int(cell.config["seed"]), iterations=4,
                         architecture={"channels": 128}, progress=False)
    first_image = [row for row in measured if row[0] == cell.image_name]
    assert [row[1] for row in first_image] == list(chosen.params["tv_weight_grid"])
    assert [row[2] for row in first_image] == pytest.approx(chosen.params["tv_weight_scores"], rel=1e-5)


def test_a_cell_the_suite_lacks_is_named(shared_data):
    with pytest.raises(ValueError, match="experiment 'gaussian-128-channel'"):
        list(rows(shared_data, [0.3], experiment="gaussian-128-channel"))
