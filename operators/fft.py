"""Centred orthonormal 2-D Fourier transforms over the last two axes (fastMRI's convention).

``fft2c(x) = fftshift(fft2(ifftshift(x), norm="ortho"))``, ``ifft2c`` its inverse (= adjoint).
"""
from __future__ import annotations

import torch

_AXES = (-2, -1)


def fft2c(x: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal 2-D FFT of complex ``(..., H, W)`` -> ``(..., H, W)``."""
    return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=_AXES), norm="ortho"), dim=_AXES)


def ifft2c(k: torch.Tensor) -> torch.Tensor:
    """Centred orthonormal inverse 2-D FFT of complex ``(..., H, W)`` -> ``(..., H, W)``."""
    return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(k, dim=_AXES), norm="ortho"), dim=_AXES)
