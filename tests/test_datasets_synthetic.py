"""Synthetic MRI data: phantom, simulated coil maps and k-space."""
import numpy as np
import pytest
import torch
from skimage.data import shepp_logan_phantom

from csprior.datasets import shepp_logan, simulated_coil_maps, synthetic_kspace


def test_phantom_shape_range_and_native_size():
    phantom = shepp_logan(48)
    assert phantom.shape == (48, 48) and phantom.dtype == torch.float32
    assert float(phantom.min()) >= 0 and float(phantom.max()) <= 1
    assert shepp_logan((32, 40)).shape == (32, 40)
    np.testing.assert_allclose(shepp_logan(400).numpy(), shepp_logan_phantom(), atol=1e-6)
    assert shepp_logan(np.int64(24)).shape == (24, 24)  # numpy integers, as load_image takes them
    for size in (0, 24.0, True, (32, 40, 1)):
        with pytest.raises(ValueError, match="size must be a positive int"):
            shepp_logan(size)
    with pytest.raises(ValueError, match="shape must be"):
        simulated_coil_maps((8, -8), 2)


def test_coil_maps_normalised_seeded_and_smooth():
    maps = simulated_coil_maps((40, 48), 6, seed=2)
    assert maps.shape == (6, 40, 48) and maps.dtype == torch.complex64
    np.testing.assert_allclose(maps.abs().pow(2).sum(0).numpy(), 1, atol=1e-5)
    assert torch.equal(maps, simulated_coil_maps((40, 48), 6, seed=2))
    assert not torch.allclose(maps, simulated_coil_maps((40, 48), 6, seed=3))
    # smooth: nearly all of each map's energy lies in the central 16 x 16 frequencies
    spectrum = torch.fft.fftshift(torch.fft.fft2(maps), dim=(-2, -1)).abs().pow(2)
    assert float(spectrum[:, 12:28, 16:32].sum() / spectrum.sum()) > 0.95
    with pytest.raises(ValueError, match="coils"):
        simulated_coil_maps((8, 8), 0)


def test_kspace_matches_numpy_fft_and_shapes():
    image = shepp_logan(32)
    maps = simulated_coil_maps((32, 32), 4, seed=0)
    kspace = synthetic_kspace(image, coils=4, seed=0)
    assert kspace.shape == (4, 32, 32) and kspace.dtype == torch.complex64
    coil_images = maps.numpy().astype(np.complex128) * image.numpy()
    axes = (-2, -1)
    expected = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(coil_images, axes=axes), norm="ortho"), axes=axes)
    np.testing.assert_allclose(kspace.numpy(), expected, atol=1e-5)
    assert torch.equal(synthetic_kspace(image, maps=maps), kspace)

    single = synthetic_kspace(image)
    assert single.shape == (32, 32)
    batch = synthetic_kspace(torch.stack([image, image])[:, None], coils=3)  # (B, 1, H, W) image layout
    assert batch.shape == (2, 3, 32, 32)


def test_noise_level_and_seed():
    image = torch.zeros(64, 64)
    noisy = synthetic_kspace(image, coils=8, noise_std=0.5, seed=7)
    # E|n|² = noise_std²: the estimate over 32768 samples is within a few percent
    assert float(noisy.abs().pow(2).mean().sqrt()) == pytest.approx(0.5, rel=0.03)
    assert torch.equal(noisy, synthetic_kspace(image, coils=8, noise_std=0.5, seed=7))


def test_kspace_errors():
    image = shepp_logan(16)
    with pytest.raises(ValueError, match="either coils or maps"):
        synthetic_kspace(image, coils=2, maps=simulated_coil_maps((16, 16), 2))
    with pytest.raises(ValueError, match="maps must be complex"):
        synthetic_kspace(image, maps=torch.ones(2, 8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match="noise_std"):
        synthetic_kspace(image, noise_std=-1.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        synthetic_kspace(image.numpy())
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        synthetic_kspace(torch.zeros(1, 3, 8, 8))
    for size in (16.0, True, "16"):
        with pytest.raises(ValueError, match="size must be a positive int"):
            shepp_logan(size)


def test_kspace_and_coil_map_arguments_are_named():
    image = shepp_logan(16)
    with pytest.raises(TypeError, match=r"maps must be a torch.Tensor \(coils, 16, 16\)"):
        synthetic_kspace(image, maps=[[1.0]])
    bad_maps = simulated_coil_maps((16, 16), 2)
    bad_maps[0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="maps contains NaN"):
        synthetic_kspace(image, maps=bad_maps)
    with pytest.raises(ValueError, match="noise_std must be a finite non-negative number"):
        synthetic_kspace(image, noise_std="0.1")
    with pytest.raises(TypeError, match="seed must be an int"):
        simulated_coil_maps((16, 16), 2, seed=1.5)
    with pytest.raises(ValueError, match="coils must be a positive int"):
        simulated_coil_maps((16, 16), 2.0)
    with pytest.raises(ValueError, match="shape must be a positive int or a pair"):
        simulated_coil_maps((16, 0), 2)
    assert torch.equal(simulated_coil_maps(16, np.int64(2)), simulated_coil_maps((16, 16), 2))
