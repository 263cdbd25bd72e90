"""The sliding-DCT Wiener filter of benchmarks/denoise_pilots.py: its two limits and its shape."""
import numpy as np

from csprior.benchmarks.denoise_pilots import dct_wiener


def _noisy(shape=(20, 24), seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def test_a_pilot_far_above_the_noise_passes_the_data_through():
    noisy = _noisy()
    out = dct_wiener(noisy, 1e6 * np.ones_like(noisy) + 1e6 * _noisy(seed=1), sigma=1e-3)
    assert out.shape == noisy.shape
    np.testing.assert_allclose(out, noisy, atol=1e-9)


def test_a_zero_pilot_removes_everything():
    noisy = _noisy()
    np.testing.assert_allclose(dct_wiener(noisy, np.zeros_like(noisy), sigma=0.5), 0.0, atol=1e-12)


def test_the_clean_image_as_pilot_lowers_the_error():
    rng = np.random.default_rng(2)
    clean = np.add.outer(np.linspace(0, 1, 32), np.linspace(0, 1, 32)) / 2
    noisy = clean + 0.1 * rng.normal(size=clean.shape)
    out = dct_wiener(noisy, clean, sigma=0.1)
    assert np.mean((out - clean) ** 2) < 0.2 * np.mean((noisy - clean) ** 2)
