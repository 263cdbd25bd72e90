"""add_gaussian_noise: level by sigma or SNR, real and complex, seeded, only on measured entries."""
import math

import pytest
import torch

from csprior.operators import add_gaussian_noise, sigma_for_snr

SIZE = (4, 128, 128)  # 65536 samples: the sample power is within ~1 % of its expectation


def _signal(complex_=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.rand(SIZE, generator=gen) + 0.5
    return torch.polar(y, torch.rand(SIZE, generator=gen) * 6.28) if complex_ else y


@pytest.mark.parametrize("complex_", [False, True])
def test_noise_level_by_sigma(complex_):
    y = _signal(complex_)
    noisy = add_gaussian_noise(y, sigma=0.3, seed=1)
    assert noisy.shape == y.shape and noisy.dtype == y.dtype
    noise = noisy - y
    assert float(noise.abs().pow(2).mean()) == pytest.approx(0.09, rel=0.03)
    assert abs(float(noise.mean().abs())) < 0.01
    if complex_:  # circular: sigma^2 / 2 in each part, uncorrelated
        assert float(noise.real.var()) == pytest.approx(0.045, rel=0.03)
        assert float(noise.imag.var()) == pytest.approx(0.045, rel=0.03)
        assert abs(float((noise.real * noise.imag).mean())) < 0.002


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 30.0])
def test_noise_level_by_snr(complex_, snr_db):
    y = _signal(complex_)
    noise = add_gaussian_noise(y, snr_db=snr_db, seed=2) - y
    measured_snr = 10 * math.log10(float(y.abs().pow(2).mean()) / float(noise.abs().pow(2).mean()))
    assert measured_snr == pytest.approx(snr_db, abs=0.15)
    expected_sigma = math.sqrt(float(y.abs().pow(2).mean()) / 10 ** (snr_db / 10))
    assert sigma_for_snr(y, snr_db) == pytest.approx(expected_sigma, rel=1e-6)


@pytest.mark.parametrize("complex_", [False, True])
def test_noise_is_seeded(complex_):
    y = _signal(complex_)[0]
    first = add_gaussian_noise(y, sigma=0.1, seed=5)
    assert torch.equal(first, add_gaussian_noise(y, sigma=0.1, seed=5))
    assert not torch.equal(first, add_gaussian_noise(y, sigma=0.1, seed=6))
    from_generator = add_gaussian_noise(y, sigma=0.1, seed=torch.Generator().manual_seed(5))
    assert torch.equal(first, from_generator)


def test_measured_mask_confines_noise_and_snr():
    y = _signal(complex_=True)
    measured = torch.zeros(SIZE[-2:], dtype=torch.bool)
    measured[:, ::4] = True
    y = y * measured  # masked k-space: zero where nothing was sampled
    noisy = add_gaussian_noise(y, snr_db=10.0, seed=3, measured=measured)
    assert bool((noisy[..., ~measured] == 0).all())
    noise = (noisy - y)[..., measured]
    measured_snr = 10 * math.log10(float(y[..., measured].abs().pow(2).mean()) / float(noise.abs().pow(2).mean()))
    assert measured_snr == pytest.approx(10.0, abs=0.2)


def test_zero_sigma_returns_the_signal():
    y = _signal()
    assert torch.equal(add_gaussian_noise(y, sigma=0.0), y)
