"""Additive white Gaussian noise, real or circular complex, set by its level or by a target SNR.

For complex data the level ``sigma`` is the standard deviation of the complex noise, split evenly
between the real and imaginary parts (each ``sigma / sqrt(2)``), so that ``E|n|^2 = sigma^2`` for
real and complex data alike and an SNR means the same thing for both.

The SNR in dB is ``10 log10(P_signal / sigma^2)`` with ``P_signal`` the mean of ``|y|^2`` over the
whole tensor (batch included), or over the measured entries when ``measured`` is given.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

from .base import check_tensor


def sigma_for_snr(y: torch.Tensor, snr_db: float, measured: torch.Tensor | None = None) -> float:
    """Noise level ``sigma`` giving ``snr_db`` on the clean measurements ``y`` (any shape, real or complex).

    ``measured``: optional boolean mask broadcastable to ``y``; the signal power is averaged over the
    True entries only (masked k-space is zero elsewhere).
    """
    check_tensor(y, (), None, "y")
    if not isinstance(snr_db, Real) or isinstance(snr_db, bool) or not math.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of decibels, got {snr_db!r}")
    values = y if measured is None else y[_broadcast_mask(measured, y)]
    power = float(values.abs().pow(2).mean()) if values.numel() else 0.0
    if power == 0.0:
        raise ValueError("y has zero power; an SNR cannot set the noise level of an all-zero signal")
    return math.sqrt(power / 10 ** (float(snr_db) / 10))


def add_gaussian_noise(y: torch.Tensor, sigma: float | None = None, snr_db: float | None = None,
                       seed: int | torch.Generator = 0, measured: torch.Tensor | None = None) -> torch.Tensor:
    """Return ``y + n`` with white Gaussian noise ``n`` of level ``sigma`` or at ``snr_db``.

    Args:
        y: clean measurements, real or complex tensor of any shape (float32/complex64 typical).
        sigma: noise standard deviation (``>= 0``); for complex ``y`` the real and imaginary parts
            each get ``sigma / sqrt(2)``. Give exactly one of ``sigma`` and ``snr_db``.
        snr_db: target signal-to-noise ratio in dB (see ``sigma_for_snr``).
        seed: int seed or a CPU ``torch.Generator``; the noise is drawn on the CPU so that the same
            seed gives the same noise on every device.
        measured: optional boolean mask broadcastable to ``y``: noise is added only where it is True
            (unsampled k-space stays exactly zero) and the SNR counts only those entries.

    Returns:
        A tensor of ``y``'s shape, dtype and device.
    """
    check_tensor(y, (), None, "y")
    if (sigma is None) == (snr_db is None):
        raise ValueError("give exactly one of sigma and snr_db")
    if snr_db is not None:
        sigma = sigma_for_snr(y, snr_db, measured)
    elif isinstance(sigma, bool) or not isinstance(sigma, Real) or not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    noise = _standard_noise(y, seed) * float(sigma)
    if measured is not None:
        noise = noise * _broadcast_mask(measured, y)
    return y + noise


def _standard_noise(y: torch.Tensor, seed) -> torch.Tensor:
    """Unit-power noise shaped like ``y`` (complex: each part of variance 1/2)."""
    if isinstance(seed, torch.Generator):
        generator = seed
    elif isinstance(seed, Integral) and not isinstance(seed, bool):
        generator = torch.Generator().manual_seed(int(seed))
    else:
        raise TypeError(f"seed must be an int or a torch.Generator, got {type(seed).__name__}")
    # complex randn already splits the unit variance evenly between the real and imaginary parts
    noise = torch.randn(y.shape, generator=generator, dtype=y.dtype, device=generator.device)
    return noise.to(y.device)


def _broadcast_mask(measured, y: torch.Tensor) -> torch.Tensor:
    if not isinstance(measured, torch.Tensor) or measured.dtype != torch.bool:
        raise TypeError("measured must be a boolean torch.Tensor")
    try:
        return measured.to(y.device).expand(y.shape)
    except RuntimeError as exc:
        raise ValueError(f"measured of shape {tuple(measured.shape)} does not broadcast to y of shape "
                         f"{tuple(y.shape)}") from exc
