"""fastMRI's per-volume metrics checked against values worked out by hand.

fastMRI's evaluation: NMSE = ‖gt − pred‖² / ‖gt‖² over the volume; PSNR over the volume with
``data_range = gt.max()``; SSIM per slice with scikit-image's defaults (7×7 uniform window,
sample covariance, K1 = 0.01, K2 = 0.03) and the same ``data_range``, averaged over slices.
"""
import math

import numpy as np
import pytest
import torch

from csprior.metrics import nmse, psnr, ssim, volume_metrics


def _constant_volume():
    """Slice 0 all 1, slice 1 all 2 (volume max 2); the reconstruction is 1.1 on slice 0, exact on slice 1."""
    target = np.stack([np.ones((7, 7)), 2 * np.ones((7, 7))])
    recon = target.copy()
    recon[0] += 0.1
    return recon, target


def test_nmse_and_psnr_by_hand():
    recon, target = _constant_volume()
    scores = volume_metrics(recon, target)
    # squared error 49 · 0.01 = 0.49; ‖target‖² = 49 · 1 + 49 · 4 = 245
    assert scores["nmse"] == pytest.approx(0.49 / 245)
    # MSE over the 98 voxels = 0.005; data_range is the volume maximum 2, not a slice's maximum
    assert scores["psnr"] == pytest.approx(10 * math.log10(2 ** 2 / 0.005))


def test_ssim_of_constant_slices_by_hand():
    recon, target = _constant_volume()
    # constant images have no variance: SSIM = (2 μx μy + C1) / (μx² + μy² + C1), C1 = (0.01 · L)², L = 2
    c1 = (0.01 * 2) ** 2
    slice0 = (2 * 1.1 * 1.0 + c1) / (1.1 ** 2 + 1.0 ** 2 + c1)
    assert volume_metrics(recon, target)["ssim"] == pytest.approx((slice0 + 1.0) / 2, rel=1e-9)


def test_ssim_uses_a_7x7_uniform_window_with_sample_covariance():
    # on a 7×7 image only the centre pixel is scored and its 7×7 window is the whole image, so SSIM is
    # the global formula with sample (N − 1) statistics
    rng = np.random.default_rng(0)
    target = rng.random((7, 7)) + 0.5
    recon = target + 0.2 * rng.standard_normal((7, 7))
    peak = target.max()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = recon.mean(), target.mean()
    vx, vy = recon.var(ddof=1), target.var(ddof=1)
    cov = ((recon - mx) * (target - my)).sum() / 48
    expected = (2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    assert volume_metrics(recon[None], target[None])["ssim"] == pytest.approx(expected, rel=1e-9)


def test_data_range_is_the_volume_maximum_for_every_slice():
    rng = np.random.default_rng(1)
    target = rng.random((2, 16, 16))
    target[1] *= 4  # slice 1 holds the volume maximum
    recon = target + 0.05 * rng.standard_normal(target.shape)
    peak = target.max()
    per_slice = [ssim(recon[i], target[i], data_range=peak) for i in range(2)]
    assert volume_metrics(recon, target)["ssim"] == pytest.approx(np.mean(per_slice))
    # slice 0 scored with its own maximum would give another value: the volume maximum is used
    assert ssim(recon[0], target[0], data_range=target[0].max()) != pytest.approx(per_slice[0])
    assert volume_metrics(recon, target)["psnr"] == pytest.approx(psnr(recon, target, data_range=peak))


def test_complex_reconstructions_are_scored_by_magnitude():
    rng = np.random.default_rng(2)
    target = rng.random((2, 12, 12)).astype(np.float32)
    recon = target + 0.1 * rng.random((2, 12, 12)).astype(np.float32)
    phased = torch.from_numpy(recon) * torch.exp(1j * torch.rand(2, 12, 12))
    assert volume_metrics(phased, target) == pytest.approx(volume_metrics(recon, target), rel=1e-5)


def test_volume_metrics_input_errors():
    with pytest.raises(ValueError, match="shape"):
        volume_metrics(np.ones((1, 8, 8)), np.ones((1, 8, 9)))
    with pytest.raises(ValueError, match=r"\(slices, H, W\)"):
        volume_metrics(np.ones((8, 8)), np.ones((8, 8)))
    with pytest.raises(ValueError, match="ref is zero everywhere"):
        nmse(np.ones((4, 4)), np.zeros((4, 4)))


def test_metric_reference_and_data_range_errors():
    ref = np.linspace(0, 1, 64).reshape(8, 8)
    with pytest.raises(ValueError, match="ref contains NaN or Inf"):
        psnr(ref, np.where(ref > 0.5, np.nan, ref))
    for data_range in (0.0, -1.0, float("inf"), "1"):
        with pytest.raises(ValueError, match="data_range must be a finite positive number"):
            ssim(ref, ref, data_range=data_range)
    with pytest.raises(ValueError, match="give data_range"):
        psnr(ref, ref - 2.0)
    assert np.isnan(psnr(np.full((8, 8), np.nan), ref))  # a failed reconstruction scores NaN, it does not raise
