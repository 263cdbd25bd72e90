"""The hybrid generator + TV objective: the penalty, its effect, and λ chosen on held-out data."""
import pytest
import torch

from csprior import reconstruct
from csprior.baselines import total_variation
from csprior.hybrid import (COMPLEX_TV_WEIGHT_GRID, TV_SMOOTHING, TV_WEIGHT_GRID, choose_tv_weight, smoothed_tv,
                            tv_weight_grid)
from csprior.operators import PartialFourier, PixelSubsample


def test_smoothed_tv_approaches_the_exact_isotropic_tv():
    x = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    exact = total_variation(x) / x[0].numel()
    # √(d² + ε²) − ε lies within ε of |d|
    assert torch.allclose(smoothed_tv(x, 2), exact, rtol=0, atol=TV_SMOOTHING)
    z = torch.complex(x, x.flip(-1))
    assert torch.allclose(smoothed_tv(z, 2), total_variation(z) / z[0].numel(), rtol=0, atol=TV_SMOOTHING)


def test_smoothed_tv_has_a_finite_gradient_on_a_flat_image():
    x = torch.ones(1, 8, 8, requires_grad=True)
    smoothed_tv(x, 2).sum().backward()
    assert torch.isfinite(x.grad).all()


def _problem():
    x = torch.zeros(32, 32)
    x[8:24, 8:24] = 1.0
    A = PixelSubsample((32, 32), 0.5, seed=0)
    return x, A, A(x)


def test_a_larger_weight_gives_a_flatter_reconstruction():
    x, A, y = _problem()
    kwargs = dict(iterations=60, early_stopping="fixed", progress=False, seed=0)
    plain = reconstruct(y, A, "deep-decoder", **kwargs)
    penalised = reconstruct(y, A, "deep-decoder", tv_weight=1.0, **kwargs)
    assert penalised.params["tv_weight"] == 1.0
    assert smoothed_tv(penalised.image[None], 2) < smoothed_tv(plain.image[None], 2)


def test_holdout_choice_reports_every_candidate_and_uses_no_truth():
    _, A, y = _problem()
    result = reconstruct(y, A, "deep-decoder", tv_weight="holdout", iterations=40, patience=None, progress=False)
    params = result.params
    assert params["tv_weight_rule"] == "holdout"
    assert len(params["tv_weight_scores"]) == len(params["tv_weight_grid"])
    best = min(range(len(params["tv_weight_grid"])), key=params["tv_weight_scores"].__getitem__)
    assert params["tv_weight"] == params["tv_weight_grid"][best]
    assert "psnr" not in result.history


@pytest.mark.parametrize("bad", [-0.1, "oracle", float("nan"), True])
def test_bad_weight_is_a_value_error(bad):
    _, A, y = _problem()
    with pytest.raises(ValueError, match="tv_weight"):
        reconstruct(y, A, "deep-decoder", tv_weight=bad, iterations=2, progress=False)


def test_holdout_choice_needs_the_holdout_rule():
    _, A, y = _problem()
    with pytest.raises(ValueError, match="early_stopping"):
        choose_tv_weight(y, A, "deep-decoder", early_stopping="fixed", iterations=2, progress=False)


def test_a_weight_sweep_needs_one_problem_and_valid_weights():
    _, A, y = _problem()
    with pytest.raises(ValueError, match="tv_weight"):
        reconstruct(torch.stack([y, y]), A, "deep-decoder", tv_weight=[0.0, 0.1], iterations=2, progress=False)
    with pytest.raises(ValueError, match="tv_weight"):
        reconstruct(y, A, "deep-decoder", tv_weight=[0.1, -1.0], iterations=2, progress=False)
    with pytest.raises(ValueError, match="tv_weight"):
        reconstruct(y, A, "deep-decoder", tv_weight=[], iterations=2, progress=False)


def test_a_one_weight_grid_returns_one_image():
    _, A, y = _problem()
    result = choose_tv_weight(y, A, "deep-decoder", grid=[0.1], iterations=5, patience=None, progress=False)
    assert result.image.shape == A.in_shape and result.params["tv_weight"] == 0.1


def test_a_sweep_of_a_prior_that_is_not_stacked_fits_each_weight_alone():
    _, A, y = _problem()
    options = dict(iterations=6, early_stopping="fixed", progress=False, seed=1)
    sweep = reconstruct(y, A, "dip", tv_weight=[0.0, 0.5], **options)
    alone = reconstruct(y, A, "dip", tv_weight=0.5, **options)
    assert [p.params["tv_weight"] for p in sweep.problems] == [0.0, 0.5]
    torch.testing.assert_close(sweep.image[1], alone.image, rtol=1e-5, atol=1e-6)


def test_the_grid_is_finer_at_its_small_end_for_complex_data():
    _, A, _ = _problem()
    complex_A = PartialFourier(torch.ones(8, 8, dtype=torch.bool))
    assert tv_weight_grid(A) == TV_WEIGHT_GRID and tv_weight_grid(complex_A) == COMPLEX_TV_WEIGHT_GRID
    assert COMPLEX_TV_WEIGHT_GRID[0] == 0.0 and max(COMPLEX_TV_WEIGHT_GRID) < max(TV_WEIGHT_GRID)
    assert len([w for w in COMPLEX_TV_WEIGHT_GRID if 0 < w < min(TV_WEIGHT_GRID[1:])]) >= 3
