"""Coil sensitivity estimation: recovery of simulated maps, and consistency on the real 16-coil brain."""
import numpy as np
import pytest
import torch

from csprior.datasets import (calibration_region, calibration_size, estimate_coil_maps, read_brain16ch, rss, sense_combine,
                              shepp_logan, simulated_coil_maps, synthetic_kspace)
from csprior.operators import ifft2c


@pytest.fixture(scope="module")
def phantom_data():
    image = shepp_logan(64)
    maps = simulated_coil_maps((64, 64), 8, seed=3)
    return image, maps, synthetic_kspace(image, maps=maps)


@pytest.mark.parametrize("method", ["espirit", "lowres"])
def test_simulated_maps_are_recovered_up_to_a_phase(phantom_data, method):
    image, maps, kspace = phantom_data
    estimate = estimate_coil_maps(kspace, method=method)
    assert estimate.shape == (8, 64, 64) and estimate.dtype == torch.complex64
    inside = image > 0.05
    # |<S_est(x), S(x)>| = 1 exactly when the two unit vectors agree up to a phase at pixel x
    agreement = (estimate.conj() * maps).sum(dim=0).abs()[inside]
    assert float(agreement.mean()) > 0.999 and float(agreement.min()) > 0.99
    np.testing.assert_allclose(rss(estimate)[inside].numpy(), 1, atol=1e-5)
    combined = sense_combine(ifft2c(kspace), estimate).abs()
    assert float((combined - image)[inside].norm() / image[inside].norm()) < 0.01


def test_calibration_region_is_found_from_the_data(phantom_data):
    image, maps, kspace = phantom_data
    columns = torch.zeros(64, dtype=torch.bool)
    columns[26:38] = True  # 12 centre columns
    columns[::3] = True
    undersampled = kspace * columns
    # by hand: the run 26..37 is bounded by the unsampled columns 25 and 38
    assert calibration_size((undersampled.abs() > 0).any(0)) == (64, 12)
    estimate = estimate_coil_maps(undersampled, calib_width=24)
    agreement = (estimate.conj() * maps).sum(dim=0).abs()[image > 0.05]
    assert float(agreement.mean()) > 0.99


def test_calibration_size_by_hand():
    grid = np.zeros((20, 30), bool)
    grid[6:16, 10:20] = True  # 10 x 10 block around the centre (10, 15)
    grid[0, :] = True
    assert calibration_size(grid) == (10, 10)
    assert calibration_region(grid) == (slice(6, 16), slice(10, 20))
    assert calibration_region(grid, max_size=(4, 6)) == (slice(8, 12), slice(12, 18))
    grid[10, 15] = False
    assert calibration_size(grid) == (0, 0)
    # fastMRI's centre block of 8 columns in an odd width 65 starts at (65 - 8 + 1) // 2 = 29
    columns = np.zeros((1, 65), bool)
    columns[0, 29:37] = True
    assert calibration_size(columns) == (1, 8)


def test_estimate_errors(phantom_data):
    _, _, kspace = phantom_data
    with pytest.raises(TypeError, match="complex"):
        estimate_coil_maps(kspace.real)
    with pytest.raises(ValueError, match=r"\(coils, H, W\)"):
        estimate_coil_maps(kspace[None])
    with pytest.raises(ValueError, match="method"):
        estimate_coil_maps(kspace, method="walsh")
    hollow = kspace.clone()
    hollow[:, 32, 32] = 0
    with pytest.raises(ValueError, match="fully sampled centre"):
        estimate_coil_maps(hollow)
    with pytest.raises(ValueError, match="calib_width must be at least 2"):
        estimate_coil_maps(kspace, calib_width=1)
    with pytest.raises(TypeError, match="calib_width must be an int or a pair"):
        estimate_coil_maps(kspace, calib_width=24.0)
    with pytest.raises(ValueError, match="threshold must be a number in"):
        estimate_coil_maps(kspace, threshold="0.02")


@pytest.mark.parametrize("method, max_projection", [("espirit", 0.05), ("lowres", 0.1)])
def test_real_16_coil_brain(shared_data, method, max_projection):
    kspace = read_brain16ch(shared_data / "mri" / "brain16ch_full")
    coil_images = ifft2c(kspace)
    reference = rss(coil_images)
    inside = reference > 0.1 * reference.max()
    maps = estimate_coil_maps(kspace, method=method)
    combined = sense_combine(coil_images, maps)
    # with Σ|S|² = 1 the SENSE combination of exact maps equals the RSS image in magnitude
    relative = float((combined.abs() - reference)[inside].norm() / reference[inside].norm())
    assert relative < 0.01
    residual = (coil_images - maps * combined) * inside
    assert float(residual.norm() / (coil_images * inside).norm()) < max_projection
