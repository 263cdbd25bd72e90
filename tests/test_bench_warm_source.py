"""Suites' warm starts: a generator fitted to another image starts a cell's fit."""
import pytest
import torch

from csprior.benchmarks.methods import run_method
from csprior.benchmarks.problems import Problem
from csprior.benchmarks.warm_source import source_generator
from csprior.operators import Identity, PartialFourier


def _problem(A, x):
    return Problem(x_true=x, A=A, y=A(x), reference=x.abs(), data_range=1.0, noise_std=0.0)


def test_a_cell_starts_from_the_source_fit_which_is_cached():
    A = Identity((16, 16))
    spec = {"image": "camera", "iterations": 20}
    source = source_generator("deep-decoder", spec, A, seed=3, data_dir=None)
    assert source_generator("deep-decoder", dict(spec), A, seed=3, data_dir=None) is source
    with torch.no_grad():
        expected = source()[0, 0]
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    result = run_method({"method": "deep-decoder", "iterations": 1, "early_stopping": "fixed", "warm_start": spec},
                        _problem(A, x), seed=3)
    torch.testing.assert_close(result.image, expected, rtol=1e-5, atol=1e-6)


def test_complex_problems_get_a_complex_source():
    A = PartialFourier(torch.rand(16, 16, generator=torch.Generator().manual_seed(0)) < 0.5)
    source = source_generator("conv-decoder", {"image": "camera", "iterations": 5}, A, seed=0, data_dir=None)
    assert source.out_channels == 2 and not source.sigmoid  # one complex image, as the cell's fit


@pytest.mark.parametrize("spec, message", [
    ({"image": "camera"}, "warm_start must be a table with keys"),
    ("camera", "warm_start must be a table with keys"),
    ({"image": "camera", "iterations": 0}, "warm_start.iterations must be a positive int"),
])
def test_bad_warm_start_tables_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        source_generator("deep-decoder", spec, Identity((16, 16)), seed=0, data_dir=None)


def test_the_default_recipe_is_warm_started_from_a_source_of_its_own_width():
    from csprior.operators import Diagonal

    A = Diagonal(torch.arange(256).reshape(16, 16) % 5 == 0)  # few measurements: 128 channels
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    spec = {"method": "auto", "iterations": 1, "early_stopping": "fixed", "tv_weight": 0.0,
            "warm_start": {"image": "camera", "iterations": 3}}
    result = run_method(spec, _problem(A, x), seed=0)
    assert result.generator.channels == 128
