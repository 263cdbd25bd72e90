"""BM3D denoising (Dabov et al. 2007) through the optional ``bm3d`` package.

The ``bm3d`` package (Mäkinen, Azzari & Foi) is free for non-commercial use only; install it with
``pip install "csprior[bm3d]"``. It runs on the CPU; tensors on another device are copied there and
back.
"""
from __future__ import annotations

import math
import time
from numbers import Real

import numpy as np
import torch

from csprior.result import Result


def bm3d(y: torch.Tensor, sigma: float, *, profile: str = "np") -> Result:
    """Denoise ``y = x + σ n`` with BM3D.

    Args:
        y: noisy real images ``(..., C, H, W)`` (or ``(H, W)``); every leading index and, unless
            ``C == 3``, every channel is denoised on its own; ``C == 3`` uses BM3D's colour variant
            (opponent colour space).
        sigma: noise standard deviation ``> 0``, in the units of ``y``.
        profile: BM3D parameter profile (``"np"``, ``"refilter"``, ``"vn"``, ``"high"``, ...).

    Returns:
        ``Result`` with ``image`` float32 shaped like ``y`` on ``y``'s device, ``method`` ``"bm3d"``,
        ``params`` ``{"sigma", "profile"}``; no iterations (empty history, ``stop_reason`` ``"direct"``).

    Raises:
        ImportError: the optional package ``bm3d`` is not installed.
    """
    start = time.perf_counter()
    package = _import_bm3d()
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.is_complex() or not y.is_floating_point() or y.ndim < 2:
        raise ValueError(f"y must be real images (..., H, W), got dtype {y.dtype} shape {tuple(y.shape)}")
    if not bool(torch.isfinite(y).all()):
        raise ValueError("y contains NaN or Inf values")
    if isinstance(sigma, bool) or not isinstance(sigma, Real) or not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a finite number > 0 (the noise standard deviation), got {sigma!r}")
    noisy = y.detach().cpu().to(torch.float64).numpy()
    colour = y.ndim >= 3 and y.shape[-3] == 3
    out = _denoise_colour(package, noisy, sigma, profile) if colour else _denoise_gray(package, noisy, sigma, profile)
    image = torch.from_numpy(out).to(device=y.device, dtype=torch.float32)
    return Result(image=image, stop_reason="direct", seconds=time.perf_counter() - start, method="bm3d",
                  params={"sigma": float(sigma), "profile": profile})


def _import_bm3d():
    try:
        import bm3d as package
    except ImportError as exc:
        raise ImportError('bm3d() needs the optional package "bm3d" (non-commercial licence): '
                          'pip install "csprior[bm3d]"') from exc
    return package


def _denoise_gray(package, noisy: np.ndarray, sigma: float, profile: str) -> np.ndarray:
    images = noisy.reshape(-1, *noisy.shape[-2:])
    return np.stack([package.bm3d(image, sigma, profile=profile) for image in images]).reshape(noisy.shape)


def _denoise_colour(package, noisy: np.ndarray, sigma: float, profile: str) -> np.ndarray:
    images = noisy.reshape(-1, *noisy.shape[-3:])
    # bm3d_rgb takes (H, W, 3)
    out = [package.bm3d_rgb(image.transpose(1, 2, 0), sigma, profile=profile).transpose(2, 0, 1) for image in images]
    return np.stack(out).reshape(noisy.shape)
