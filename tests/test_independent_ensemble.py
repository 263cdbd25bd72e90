"""``ensemble_mode="independent"``: each member is a problem of its own, the images are averaged.

Compared in float64, where a stacked fit and separate fits compute the same numbers (see
``tests/test_batched.py``): the ensemble must equal the average of the members fitted alone with
seeds ``seed + i + k``, each with its own held-out split and stop.
"""
import pytest
import torch
import torch.nn.functional as F

from csprior import reconstruct
from csprior.benchmarks.methods import known_method, run_method
from csprior.benchmarks.problems import Problem
from csprior.generators import DeepDecoder
from csprior.holdout import split_measurements
from csprior.operators import Identity, MatrixOperator
from csprior.reconstruct import member_priors

OPTIONS = dict(iterations=150, early_stopping="holdout", patience=15, progress=False)


@pytest.fixture
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _problems(count: int, shape=(16, 16), m=200):
    gen = torch.Generator().manual_seed(0)
    A = MatrixOperator(torch.randn(m, shape[0] * shape[1], generator=gen) / m ** 0.5, shape)
    x = F.avg_pool2d(torch.rand(count, 1, shape[0] + 4, shape[1] + 4, generator=gen), 5, 1).squeeze(1)
    return A, A(x) + 0.1 * torch.randn(count, m, generator=gen)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.usefixtures("float64")
def test_independent_ensemble_is_the_average_of_members_fitted_alone_with_their_own_splits():
    A, y = _problems(1)
    result = reconstruct(y[0], A, "deep-decoder", ensemble=3, ensemble_mode="independent", seed=5, **OPTIONS)
    alone = [reconstruct(y[0], A, "deep-decoder", seed=5 + k, **OPTIONS) for k in range(3)]
    average = torch.stack([member.image for member in alone]).mean(0)
    assert _relative(result.image, average) < 1e-10
    members = result.params["members"]
    assert [m["stop_iteration"] for m in members] == [member.stop_iteration for member in alone]
    assert len({m["stop_iteration"] for m in members}) > 1  # each member stopped by its own rule
    assert result.stop_iteration == round(sum(m.stop_iteration for m in alone) / 3)
    assert result.params["ensemble"] == 3 and result.params["ensemble_mode"] == "independent"
    assert result.n_parameters == 3 * alone[0].n_parameters
    held = [split_measurements(A, y[0], 0.1, seed=5 + k).held_mask for k in range(3)]
    assert not torch.equal(held[0], held[1])  # so together the members fit every measurement
    assert bool((held[0] & held[1] & held[2]).sum() < held[0].sum())


@pytest.mark.usefixtures("float64")
def test_a_batch_of_problems_gives_each_problem_its_independent_ensemble_alone():
    A, y = _problems(2)
    together = reconstruct(y, A, "deep-decoder", ensemble=2, ensemble_mode="independent", **OPTIONS)
    assert together.image.shape == (2, 16, 16) and len(together.problems) == 2
    for i in range(2):
        alone = reconstruct(y[i], A, "deep-decoder", ensemble=2, ensemble_mode="independent", seed=i, **OPTIONS)
        assert _relative(together.image[i], alone.image) < 1e-10
        assert together[i].params["members"] == alone.params["members"]


def test_each_member_of_the_default_recipe_chooses_its_own_tv_weight():
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(1))
    y = x + 0.2 * torch.randn(16, 16, generator=torch.Generator().manual_seed(2))
    result = reconstruct(y, Identity((16, 16)), iterations=20, patience=None, ensemble=2,
                         ensemble_mode="independent", progress=False)
    members = result.params["members"]
    assert len(members) == 2 and all(m["tv_weight"] is not None for m in members)
    assert result.params["tv_weight_rule"] == "holdout"


def test_joint_is_the_default_mode_and_one_member_is_a_plain_fit():
    A, y = _problems(1)
    options = dict(iterations=10, early_stopping="fixed", progress=False)
    joint = reconstruct(y[0], A, "deep-decoder", ensemble=2, **options)
    assert "ensemble_mode" not in joint.params and joint.params["ensemble"] == 2
    single = reconstruct(y[0], A, "deep-decoder", ensemble=1, ensemble_mode="independent", **options)
    torch.testing.assert_close(single.image, reconstruct(y[0], A, "deep-decoder", **options).image)


@pytest.mark.parametrize("kwargs, message", [
    (dict(ensemble=2, ensemble_mode="bagging"), "ensemble_mode must be one of"),
    (dict(ensemble=0, ensemble_mode="independent"), "ensemble must be an int >= 1"),
    (dict(ensemble=2, ensemble_mode="independent", tv_weight=[0.0, 0.1]), "cannot be combined"),
])
def test_bad_ensemble_settings_are_named(kwargs, message):
    A, y = _problems(1)
    with pytest.raises(ValueError, match=message):
        reconstruct(y[0], A, "deep-decoder", iterations=2, progress=False, **kwargs)


def test_a_module_cannot_be_an_independent_ensemble():
    A, y = _problems(1)
    with pytest.raises(ValueError, match="needs a named prior"):
        reconstruct(y[0], A, DeepDecoder((16, 16), channels=4, depth=2), ensemble=2,
                    ensemble_mode="independent", iterations=2, progress=False)


def test_a_suite_method_runs_an_independent_ensemble_from_one_warm_source():
    A = Identity((16, 16))
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    problem = Problem(x_true=x, A=A, y=A(x), reference=x, data_range=1.0, noise_std=0.0)
    spec = {"method": "deep-decoder", "iterations": 3, "early_stopping": "fixed", "ensemble": 2,
            "ensemble_mode": "independent", "warm_start": {"image": "camera", "iterations": 2}}
    result = run_method(spec, problem, seed=0)
    assert result.image.shape == (16, 16) and len(result.params["members"]) == 2


@pytest.mark.usefixtures("float64")
def test_a_sequence_of_priors_splits_the_members_into_blocks_fitted_alone():
    A, y = _problems(1)
    result = reconstruct(y[0], A, ["deep-decoder", "conv-decoder"], ensemble=3, ensemble_mode="independent",
                         seed=5, **OPTIONS)
    priors = ["deep-decoder", "deep-decoder", "conv-decoder"]  # 3 members: the first name takes the extra one
    alone = [reconstruct(y[0], A, prior, seed=5 + k, **OPTIONS) for k, prior in enumerate(priors)]
    assert _relative(result.image, torch.stack([member.image for member in alone]).mean(0)) < 1e-10
    members = result.params["members"]
    assert [m["prior"] for m in members] == priors
    assert [m["stop_iteration"] for m in members] == [member.stop_iteration for member in alone]
    assert result.method == "deep-decoder+conv-decoder"
    assert result.n_parameters == sum(member.n_parameters for member in alone)


def test_member_priors_are_even_consecutive_blocks():
    assert member_priors("deep-decoder", 4) == [("deep-decoder", 4)]
    assert member_priors(("deep-decoder", "conv-decoder"), 4) == [("deep-decoder", 2), ("conv-decoder", 2)]
    assert member_priors(("deep-decoder", "conv-decoder", "dip"), 5) == [
        ("deep-decoder", 2), ("conv-decoder", 2), ("dip", 1)]


@pytest.mark.parametrize("prior, kwargs, message", [
    (["deep-decoder", "conv-decoder"], dict(ensemble=2), 'needs ensemble_mode="independent"'),
    (["deep-decoder", "conv-decoder"], dict(ensemble=1, ensemble_mode="independent"), "ensemble >= 2"),
    (["deep-decoder", "unet"], dict(ensemble=2, ensemble_mode="independent"), "a sequence must hold names"),
    ([], dict(ensemble=2, ensemble_mode="independent"), "a sequence must hold names"),
])
def test_bad_prior_sequences_are_named(prior, kwargs, message):
    A, y = _problems(1)
    with pytest.raises(ValueError, match=message):
        reconstruct(y[0], A, prior, iterations=2, progress=False, **kwargs)


def test_a_suite_names_a_mixed_ensemble_by_joining_priors_with_plus():
    A = Identity((16, 16))
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    problem = Problem(x_true=x, A=A, y=A(x), reference=x, data_range=1.0, noise_std=0.0)
    spec = {"method": "deep-decoder+conv-decoder", "iterations": 3, "early_stopping": "fixed", "ensemble": 2,
            "ensemble_mode": "independent"}
    result = run_method(spec, problem, seed=0)
    assert [m["prior"] for m in result.params["members"]] == ["deep-decoder", "conv-decoder"]
    assert known_method("deep-decoder+conv-decoder") and not known_method("deep-decoder+tv")
    with pytest.raises(ValueError, match="mixes architectures"):
        run_method({**spec, "warm_start": {"image": "camera", "iterations": 2}}, problem, seed=0)
