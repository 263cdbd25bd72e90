"""``reconstruct(y, A)`` without a prior runs csprior's recipe; a named prior keeps the papers' settings."""
import pytest
import torch

from csprior import build_generator, reconstruct
from csprior.defaults import default_recipe

MIXED = ("deep-decoder", "conv-decoder")
from csprior.hybrid import COMPLEX_TV_WEIGHT_GRID, SPARSE_KSPACE_TV_WEIGHT_GRID, TV_WEIGHT_GRID, tv_weight_grid
from csprior.operators import Diagonal, GaussianMatrix, Identity, MultiCoilPartialFourier, PartialFourier


def _real_problem():
    A = GaussianMatrix((16, 16), 128, seed=0)
    return A(torch.rand(16, 16, generator=torch.Generator().manual_seed(1))), A


def test_no_prior_runs_the_real_image_recipe():
    y, A = _real_problem()
    result = reconstruct(y, A, iterations=15, progress=False)
    recipe = default_recipe(A)
    assert recipe["prior"] == "deep-decoder" and result.method == "+".join(recipe["members"])  # 50 %: ensemble
    assert result.params["ema"] == recipe["ema"] == 0.99
    assert result.params["iterations"] == 15  # the caller's budget replaces the recipe's
    assert result.params["tv_weight_rule"] == "holdout" and result.params["tv_weight_grid"] == list(TV_WEIGHT_GRID)
    assert len(result.params["tv_weight_scores"]) == len(TV_WEIGHT_GRID)


def test_no_prior_on_complex_data_runs_the_convdecoder_recipe():
    A = PartialFourier(torch.rand(16, 16, generator=torch.Generator().manual_seed(0)) < 0.5)
    y = A(torch.rand(16, 16, generator=torch.Generator().manual_seed(2)).to(torch.complex64))
    result = reconstruct(y, A, iterations=10, progress=False)
    assert result.method == "conv-decoder" and result.params["tv_weight_rule"] == "holdout"
    assert result.params["tv_weight_grid"] == list(COMPLEX_TV_WEIGHT_GRID)  # finer: MRI wants small λ
    assert result.image.dtype == torch.complex64


def test_caller_settings_override_the_recipe():
    y, A = _real_problem()
    result = reconstruct(y, A, iterations=15, ema=0.9, tv_weight=0.0, progress=False)
    assert result.params["ema"] == 0.9 and result.params["tv_weight"] == 0.0
    assert "tv_weight_rule" not in result.params  # one fit, no λ search


def test_a_named_prior_keeps_the_papers_settings():
    y, A = _real_problem()
    result = reconstruct(y, A, "deep-decoder", iterations=15, progress=False)
    assert result.params["ema"] is None and result.params["tv_weight"] == 0.0


def test_architecture_replaces_a_named_priors_defaults():
    y, A = _real_problem()
    small = reconstruct(y, A, "deep-decoder", iterations=5, architecture={"channels": 8}, progress=False)
    default = reconstruct(y, A, "deep-decoder", iterations=5, progress=False)
    assert small.n_parameters < default.n_parameters
    assert small.params["architecture"] == {"channels": 8} and small.generator.channels == 8


def test_architecture_needs_a_named_prior_and_a_dict():
    y, A = _real_problem()
    with pytest.raises(ValueError, match="architecture applies to a named prior"):
        reconstruct(y, A, build_generator("deep-decoder", (16, 16)), iterations=2, architecture={"channels": 8},
                    progress=False)
    with pytest.raises(TypeError, match="architecture must be a dict"):
        reconstruct(y, A, "deep-decoder", iterations=2, architecture=8, progress=False)


def test_the_recipe_budget_applies_when_the_caller_sets_none():
    y, A = _real_problem()
    result = reconstruct(y, A, tv_weight=0.0, patience=5, progress=False)
    assert result.params["iterations"] == default_recipe(A)["iterations"] == 6000


def _few_measurements():
    A = GaussianMatrix((16, 16), 64, seed=0)  # 25 % as many measurements as unknowns
    return A(torch.rand(16, 16, generator=torch.Generator().manual_seed(1))), A


def test_the_deep_decoder_is_wider_only_when_measurements_are_few():
    y, A = _few_measurements()
    assert default_recipe(A)["architecture"] == {"channels": 128}
    assert default_recipe(_real_problem()[1])["architecture"] == {}  # 50 %
    assert default_recipe(Identity((16, 16)))["architecture"] == {}
    fifth = Diagonal(torch.arange(256).reshape(16, 16) % 5 == 0)  # inpainting: a fifth of the pixels
    assert default_recipe(fifth)["architecture"] == {"channels": 128}
    result = reconstruct(y, A, iterations=3, progress=False)
    assert result.generator.channels == 128 and result.params["architecture"] == {"channels": 128}


def test_caller_architecture_keywords_replace_the_recipes_one_by_one():
    y, A = _few_measurements()
    result = reconstruct(y, A, iterations=3, architecture={"depth": 3}, progress=False)
    assert result.params["architecture"] == {"channels": 128, "depth": 3}
    narrow = reconstruct(y, A, iterations=3, architecture={"channels": 16}, progress=False)
    assert narrow.generator.channels == 16


def test_with_many_measurements_the_recipe_is_an_independent_ensemble_of_four():
    y, A = _real_problem()  # 50 %
    assert (default_recipe(A)["ensemble"], default_recipe(A)["ensemble_mode"]) == (4, "independent")
    assert default_recipe(Identity((16, 16)))["ensemble"] == 4
    assert default_recipe(_few_measurements()[1])["ensemble"] == 1  # 25 %: one fit
    complex_A = PartialFourier(torch.rand(16, 16, generator=torch.Generator().manual_seed(0)) < 0.5)
    assert default_recipe(complex_A)["ensemble"] == 1
    result = reconstruct(y, A, iterations=5, progress=False)
    assert result.params["ensemble_mode"] == "independent" and len(result.params["members"]) == 4
    single = reconstruct(y, A, iterations=5, ensemble=1, progress=False)  # the caller opts out
    assert "members" not in single.params and single.params["ensemble"] == 1


def test_the_recipes_independent_ensemble_mixes_deep_decoders_and_convdecoders():
    y, A = _real_problem()  # 50 %
    assert default_recipe(A)["members"] == default_recipe(Identity((16, 16)))["members"] == MIXED
    assert default_recipe(_few_measurements()[1])["members"] is None
    result = reconstruct(y, A, iterations=3, progress=False)
    assert [m["prior"] for m in result.params["members"]] == ["deep-decoder"] * 2 + ["conv-decoder"] * 2
    assert result.method == "+".join(MIXED)
    # one fit, a joint ensemble or a warm start keep the Deep Decoder alone
    assert reconstruct(y, A, iterations=3, ensemble=1, progress=False).method == "deep-decoder"
    joint = reconstruct(y, A, iterations=3, ensemble=2, ensemble_mode="joint", progress=False)
    assert joint.method == "deep-decoder"
    warm = reconstruct(y, A, iterations=3, ensemble=1, tv_weight=0.0, progress=False)
    started = reconstruct(y, A, iterations=3, warm_start=warm, tv_weight=0.0, progress=False)
    assert [m["prior"] for m in started.params["members"]] == ["deep-decoder"] * 4
    nearest = reconstruct(y, A, iterations=3, architecture={"upsample": "nearest"}, tv_weight=0.0, progress=False)
    assert nearest.method == "deep-decoder" and len(nearest.params["members"]) == 4


def _columns(count: int, size: int = 16) -> torch.Tensor:
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[:, size // 2 - count // 2: size // 2 - count // 2 + count] = True
    return mask


def test_sparsely_sampled_kspace_gets_three_independent_fits_and_the_wider_grid():
    maps = torch.ones(4, 16, 16, dtype=torch.complex64) / 2
    eighth = MultiCoilPartialFourier(_columns(2), maps)  # 2 of 16 columns, on every coil
    quarter = MultiCoilPartialFourier(_columns(4), maps)
    assert (default_recipe(eighth)["ensemble"], default_recipe(eighth)["ensemble_mode"]) == (3, "independent")
    assert tv_weight_grid(eighth) == SPARSE_KSPACE_TV_WEIGHT_GRID and max(SPARSE_KSPACE_TV_WEIGHT_GRID) == 0.1
    assert default_recipe(quarter)["ensemble"] == 1 and tv_weight_grid(quarter) == COMPLEX_TV_WEIGHT_GRID
    fifth_real = Diagonal(_columns(2))  # real data keeps its own rules whatever the sampling
    assert tv_weight_grid(fifth_real) == TV_WEIGHT_GRID and default_recipe(fifth_real)["ensemble"] == 1
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(3)).to(torch.complex64)
    result = reconstruct(eighth(x), eighth, iterations=4, progress=False)
    members = result.params["members"]
    assert len(members) == 3 and result.params["ensemble_mode"] == "independent"
    assert result.params["tv_weight_grid"] == list(SPARSE_KSPACE_TV_WEIGHT_GRID)


@pytest.mark.parametrize("columns, ensemble", [(15, 3), (16, 3), (17, 1), (18, 1)])
def test_the_sparse_kspace_switch_sits_between_the_measured_7x_and_6x_masks(columns, ensemble):
    # 96-column masks of mri-seeds: 7× measured 15 and 16 columns (three fits won), 6× 17 and 18 (they lost)
    A = MultiCoilPartialFourier(_columns(columns, size=96), torch.ones(1, 96, 96, dtype=torch.complex64))
    assert default_recipe(A)["ensemble"] == ensemble


def test_a_tv_weight_sweep_of_the_recipe_is_one_fit_per_weight():
    y, A = _real_problem()
    sweep = reconstruct(y, A, iterations=3, tv_weight=[0.0, 0.1], progress=False)
    assert sweep.image.shape == (2, 16, 16) and "members" not in sweep[0].params
