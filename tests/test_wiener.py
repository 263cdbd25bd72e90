"""The empirical Wiener refinement (``csprior.wiener``) and its use by ``reconstruct`` for denoising."""
import numpy as np
import pytest
import scipy.fft
import torch

from csprior import reconstruct
from csprior.operators import Identity, Inpainting
from csprior.wiener import estimate_noise_std, wiener_refine


def _smooth_image(size: int = 32, seed: int = 0) -> torch.Tensor:
    coarse = torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[0, 0]


def _noise(shape, std: float, seed: int = 1) -> torch.Tensor:
    return std * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _reference_wiener(y: np.ndarray, pilot: np.ndarray, sigma: float, block: int) -> np.ndarray:
    """Window by window with scipy's DCT: the definition, written out loop by loop."""
    pad = block - 1
    yp, pp = np.pad(y, pad, mode="reflect"), np.pad(pilot, pad, mode="reflect")
    total, weights = np.zeros_like(yp), np.zeros_like(yp)
    for i in range(yp.shape[0] - pad):
        for j in range(yp.shape[1] - pad):
            noisy = scipy.fft.dctn(yp[i:i + block, j:j + block], norm="ortho")
            guide = scipy.fft.dctn(pp[i:i + block, j:j + block], norm="ortho")
            gain = guide ** 2 / (guide ** 2 + sigma ** 2)
            weight = 1 / np.sum(gain ** 2)
            total[i:i + block, j:j + block] += weight * scipy.fft.idctn(gain * noisy, norm="ortho")
            weights[i:i + block, j:j + block] += weight
    return (total / weights)[pad:pad + y.shape[0], pad:pad + y.shape[1]]


def test_the_filter_matches_a_window_by_window_scipy_reference():
    clean = _smooth_image(12).double()
    y, pilot = clean + _noise(clean.shape, 0.1).double(), clean + _noise(clean.shape, 0.02, seed=2).double()
    once = _reference_wiener(y.numpy(), pilot.numpy(), 0.1, block=4)
    np.testing.assert_allclose(wiener_refine(y, pilot, 0.1, block=4, passes=1).numpy(), once, rtol=1e-10, atol=1e-12)
    twice = _reference_wiener(y.numpy(), once, 0.1, block=4)  # the second pass is guided by the first
    np.testing.assert_allclose(wiener_refine(y, pilot, 0.1, block=4, passes=2).numpy(), twice, rtol=1e-10,
                               atol=1e-12)


def test_a_good_pilot_removes_most_of_the_noise_and_no_noise_leaves_the_image_alone():
    clean = _smooth_image(32)
    y = clean + _noise(clean.shape, 0.1)
    refined = wiener_refine(y, clean, 0.1)  # the oracle pilot: the filter's best case
    assert torch.mean((refined - clean) ** 2) < 0.1 * torch.mean((y - clean) ** 2)
    pilot = clean + _noise(clean.shape, 0.05, seed=3)  # every coefficient nonzero
    torch.testing.assert_close(wiener_refine(y, pilot, 0.0), y, rtol=0, atol=1e-5)


def test_a_zero_pilot_removes_everything():
    y = _smooth_image(16) + _noise((16, 16), 0.1)
    torch.testing.assert_close(wiener_refine(y, torch.zeros_like(y), 0.5), torch.zeros_like(y), rtol=0, atol=1e-6)


def test_batched_images_are_refined_one_by_one_each_with_its_own_noise_level():
    clean = torch.stack([_smooth_image(16, seed=s) for s in range(3)]).reshape(3, 1, 16, 16)
    y = clean + _noise(clean.shape, 0.1)
    sigmas = torch.tensor([[0.05], [0.1], [0.2]])
    batched = wiener_refine(y, clean, sigmas)
    assert batched.shape == y.shape
    for index in range(3):
        torch.testing.assert_close(batched[index, 0], wiener_refine(y[index, 0], clean[index, 0],
                                                                    float(sigmas[index, 0])))


def test_the_noise_level_is_estimated_from_the_noisy_image_alone():
    clean = torch.stack([_smooth_image(128, seed=s) for s in range(2)])
    noisy = clean + torch.stack([_noise((128, 128), 0.05, seed=4), _noise((128, 128), 0.2, seed=5)])
    estimate = estimate_noise_std(noisy)
    assert estimate.shape == (2,)
    torch.testing.assert_close(estimate, torch.tensor([0.05, 0.2]), rtol=0.08, atol=0)


@pytest.mark.parametrize("y, pilot, noise_std, match", [
    (torch.zeros(16, 16), torch.zeros(16, 15), None, "pilot must have the shape"),
    (torch.zeros(6, 16), torch.zeros(6, 16), None, "at least 8"),
    (torch.full((16, 16), float("nan")), torch.zeros(16, 16), None, "NaN"),
    (torch.zeros(16, 16, dtype=torch.complex64), torch.zeros(16, 16), None, "real floating-point"),
    (torch.zeros(16, 16), torch.zeros(16, 16), -0.1, "noise_std"),
])
def test_bad_input_names_the_parameter(y, pilot, noise_std, match):
    with pytest.raises(ValueError, match=match):
        wiener_refine(y, pilot, noise_std)


def test_passes_and_block_must_be_ints():
    with pytest.raises(ValueError, match="passes"):
        wiener_refine(torch.zeros(16, 16), torch.zeros(16, 16), 0.1, passes=0)
    with pytest.raises(ValueError, match="block"):
        wiener_refine(torch.zeros(16, 16), torch.zeros(16, 16), 0.1, block=1)


def test_strips_of_rows_give_the_whole_image_result(monkeypatch):
    import csprior.wiener as wiener

    clean = torch.stack([_smooth_image(24, seed=s) for s in range(2)]).double()
    y, pilot = clean + _noise(clean.shape, 0.1).double(), clean + _noise(clean.shape, 0.03, seed=2).double()
    whole = wiener_refine(y, pilot, 0.1)
    monkeypatch.setattr(wiener, "_WINDOWS_PER_STRIP", 2 * (24 + 7) * 5)  # strips of 5 rows, the last of 4
    torch.testing.assert_close(wiener_refine(y, pilot, 0.1), whole, rtol=1e-12, atol=1e-12)


def _denoising_problem(size: int = 32):
    clean = _smooth_image(size)
    return clean + _noise(clean.shape, 0.1), Identity((size, size)), clean


def test_reconstruct_refines_the_generators_image_when_asked():
    y, A, clean = _denoising_problem()
    plain = reconstruct(y, A, "deep-decoder", iterations=20, progress=False)
    refined = reconstruct(y, A, "deep-decoder", iterations=20, wiener=True, noise_std=0.1, x_true=clean,
                          progress=False)
    torch.testing.assert_close(refined.image, wiener_refine(y, plain.image, 0.1))
    record = refined.params["wiener"]
    assert record["noise_std"] == pytest.approx(0.1) and record["noise_std_selection"] == "given"
    assert "wiener" not in plain.params  # a named prior keeps the papers' settings
    batch = reconstruct(torch.stack([y, y]), A, "deep-decoder", iterations=5, wiener=True, progress=False)
    assert batch.image.shape == (2, 32, 32) and batch[1].params["wiener"]["noise_std_selection"] == "estimated"


def test_the_recipe_does_not_refine_unless_asked():
    y, A, _ = _denoising_problem(16)
    assert "wiener" not in reconstruct(y, A, iterations=3, ensemble=1, progress=False).params
    refined = reconstruct(y, A, iterations=3, ensemble=2, wiener=True, progress=False)
    assert refined.params["wiener"]["noise_std_selection"] == "estimated"
    assert len(refined.params["members"]) == 2  # the average of the members is what is refined


@pytest.mark.parametrize("kwargs, match", [
    ({"wiener": "yes"}, "wiener must be"),
    ({"wiener": True, "noise_std": float("nan")}, "noise_std"),
])
def test_reconstruct_rejects_bad_refinement_settings(kwargs, match):
    y, A, _ = _denoising_problem(16)
    with pytest.raises(ValueError, match=match):
        reconstruct(y, A, "deep-decoder", iterations=2, progress=False, **kwargs)


def test_refinement_needs_a_denoising_problem():
    y, _, _ = _denoising_problem(16)
    with pytest.raises(ValueError, match="Identity"):
        reconstruct(y, Inpainting(torch.ones(16, 16)), "deep-decoder", iterations=2, wiener=True, progress=False)
    with pytest.raises(ValueError, match="real"):
        reconstruct(y.to(torch.complex64), Identity((16, 16)), "deep-decoder", iterations=2, wiener=True,
                    progress=False)


def _bench_problem(kind: str = "denoise"):
    from csprior.benchmarks.problems import build_problem

    operator = {"kind": "denoise", "sigma": 25} if kind == "denoise" else {"kind": "gaussian", "ratio": 0.5}
    return build_problem({"image": {"dataset": "skimage", "name": "camera", "size": 32}, "operator": operator,
                          "seed": 0}, data_dir=None)


def test_the_harness_refines_any_method_when_asked_and_keeps_the_unrefined_psnr():
    from csprior.benchmarks.methods import run_method

    problem = _bench_problem()
    auto = run_method({"method": "auto", "iterations": 3, "ensemble": 1, "wiener": True}, problem, seed=0)
    record = auto.params["wiener"]
    assert record["noise_std_selection"] == "estimated" and record["pilot_psnr"] > 0
    unrefined = run_method({"method": "auto", "iterations": 3, "ensemble": 1}, problem, seed=0)
    assert "wiener" not in unrefined.params
    torch.testing.assert_close(auto.image, wiener_refine(problem.y, unrefined.image))
    tv = run_method({"method": "tv", "lam": 0.05, "wiener": True}, problem, seed=0)
    plain_tv = run_method({"method": "tv", "lam": 0.05}, problem, seed=0)
    torch.testing.assert_close(tv.image, wiener_refine(problem.y, plain_tv.image))
    from csprior.metrics import psnr
    assert tv.params["wiener"]["pilot_psnr"] == pytest.approx(psnr(plain_tv.image, problem.x_true))


def test_the_harness_refuses_to_refine_other_problems():
    from csprior.benchmarks.methods import run_method

    gaussian = _bench_problem("gaussian")
    with pytest.raises(ValueError, match="Identity"):
        run_method({"method": "tv", "lam": 0.05, "wiener": True}, gaussian, seed=0)
    with pytest.raises(ValueError, match="wiener must be"):
        run_method({"method": "tv", "lam": 0.05, "wiener": "yes"}, _bench_problem(), seed=0)


def test_the_control_iterates_the_filter_from_the_noisy_image():
    from csprior.baselines import dct_wiener
    from csprior.benchmarks.methods import run_method

    problem = _bench_problem()
    result = dct_wiener(problem.y, passes=3)
    torch.testing.assert_close(result.image, wiener_refine(problem.y, problem.y, passes=3))
    assert result.method == "dct-wiener" and result.params["noise_std_selection"] == "estimated"
    converged = run_method({"method": "dct-wiener"}, problem, seed=0)
    noisy_mse = torch.mean((problem.y - problem.x_true) ** 2)
    assert torch.mean((converged.image - problem.x_true) ** 2) < 0.5 * noisy_mse
    with pytest.raises(ValueError, match="denoise"):
        run_method({"method": "dct-wiener"}, _bench_problem("gaussian"), seed=0)
    with pytest.raises(ValueError, match="noise_std"):
        dct_wiener(problem.y, noise_std=-1.0)
