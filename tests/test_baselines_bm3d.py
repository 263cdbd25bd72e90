"""BM3D denoising through the optional ``bm3d`` package: improves a noisy image, rejects bad sigma."""
from __future__ import annotations

import pytest
import torch

from csprior import metrics
from csprior.baselines import bm3d

pytest.importorskip("bm3d")


def _noisy(shape, sigma):
    gen = torch.Generator().manual_seed(31)
    ramp = torch.linspace(0.2, 0.8, shape[-1]).expand(*shape).clone()
    clean = ramp + 0.1 * (torch.rand(*shape[:-2], 4, 4, generator=gen)
                          .repeat_interleave(shape[-2] // 4, -2).repeat_interleave(shape[-1] // 4, -1))
    return clean, clean + sigma * torch.randn(*shape, generator=gen)


def test_bm3d_denoises_gray_batch():
    clean, noisy = _noisy((2, 1, 32, 32), 0.1)
    result = bm3d(noisy, 0.1)
    assert result.image.shape == noisy.shape and result.image.dtype == torch.float32
    assert result.method == "bm3d" and result.stop_reason == "direct" and result.params["sigma"] == 0.1
    for restored, reference, observed in zip(result.image, clean, noisy):
        assert metrics.psnr(restored, reference) > metrics.psnr(observed, reference) + 5


@pytest.mark.parametrize("sigma", [0.0, -0.1, float("nan")])
def test_bm3d_rejects_bad_sigma(sigma):
    _, noisy = _noisy((1, 32, 32), 0.1)
    with pytest.raises(ValueError, match="sigma"):
        bm3d(noisy, sigma)
