"""Undersampled Fourier (MRI) operators: single-coil and multi-coil (SENSE) Cartesian sampling.

Both use the centred orthonormal 2-D FFT ``fft2c`` (fastMRI's convention) and return k-space at the
full grid size with zeros where nothing was sampled; ``measured`` marks the sampled entries, so that
held-out splits and data consistency only touch real measurements. A Cartesian column mask of shape
``(W,)`` (what ``fastmri_mask`` returns) is expanded to ``(H, W)`` for an input of height ``H``, which
the caller gives through a 2-D mask or, for multi-coil data, through the coil maps' shape.
"""
from __future__ import annotations

from numbers import Integral

import torch

from .base import LinearOperator
from .fft import fft2c, ifft2c
from .masks import as_bool_mask


def _image_mask(mask, height: int | None, name: str = "mask") -> torch.Tensor:
    """A boolean ``(H, W)`` mask from an ``(H, W)`` mask or a ``(W,)`` column mask."""
    mask = as_bool_mask(mask, name, ndim=(1, 2))
    if mask.ndim == 2:
        return mask
    if height is None:
        raise ValueError(f"{name} of shape {tuple(mask.shape)} is a column mask; give the image height "
                         f"(height=H) or an (H, W) mask")
    if isinstance(height, bool) or not isinstance(height, Integral) or height <= 0:
        raise ValueError(f"height must be a positive int (the image height), got {height!r}")
    return mask.expand(int(height), mask.shape[0]).clone()


class PartialFourier(LinearOperator):
    """Single-coil undersampled Fourier transform ``y = M ⊙ F x``.

    Args:
        mask: boolean sampling mask ``(H, W)`` (True = sampled), or a Cartesian column mask ``(W,)``
            together with ``height``; must sample at least one entry.
        height: image height ``H`` for a column mask (ignored for a 2-D mask).

    Input: complex64 image ``(..., H, W)``. Output: complex64 k-space ``(..., H, W)``, centred
    orthonormal FFT (``fft2c``), zero where ``mask`` is False. The adjoint is ``ifft2c(M ⊙ y)``
    (the zero-filled reconstruction); ``measured`` is the ``(H, W)`` mask. ``||A|| = 1``.
    """

    def __init__(self, mask, height: int | None = None):
        mask = _image_mask(mask, height)
        super().__init__(mask.shape, mask.shape, torch.complex64, torch.complex64)
        self.mask = mask

    @property
    def measured(self) -> torch.Tensor:
        return self.mask

    def _forward(self, x):
        return fft2c(x) * self.mask

    def _adjoint(self, y):
        return ifft2c(y * self.mask)


class MultiCoilPartialFourier(LinearOperator):
    """Multi-coil (SENSE) undersampled Fourier transform ``y_c = M ⊙ F (S_c x)``.

    Args:
        mask: boolean sampling mask ``(H, W)`` or Cartesian column mask ``(W,)`` (expanded to the
            maps' height); must sample at least one entry.
        maps: coil sensitivities ``(coils, H, W)``, complex (real maps are converted to complex64),
            finite.

    Input: complex64 image ``(..., H, W)``. Output: complex64 k-space ``(..., coils, H, W)``, zero
    where ``mask`` is False; ``measured`` is the mask broadcast to ``(coils, H, W)``. The adjoint is
    ``Σ_c conj(S_c) ⊙ ifft2c(M ⊙ y_c)``. For maps with ``Σ_c |S_c|² = 1`` the norm is at most 1.
    """

    def __init__(self, mask, maps: torch.Tensor):
        maps = _check_maps(maps)
        mask = _image_mask(mask, maps.shape[-2])
        if tuple(mask.shape) != tuple(maps.shape[-2:]):
            raise ValueError(f"maps must have shape (coils, {mask.shape[0]}, {mask.shape[1]}) to match "
                             f"mask of shape {tuple(mask.shape)}, got {tuple(maps.shape)}")
        super().__init__(mask.shape, maps.shape, torch.complex64, torch.complex64)
        self.mask, self.maps = mask, maps

    @property
    def measured(self) -> torch.Tensor:
        return self.mask.expand(self.out_shape)

    def _forward(self, x):
        return fft2c(x.unsqueeze(-3) * self.maps) * self.mask

    def _adjoint(self, y):
        return (ifft2c(y * self.mask) * self.maps.conj()).sum(dim=-3)


def _check_maps(maps) -> torch.Tensor:
    if not isinstance(maps, torch.Tensor):
        raise TypeError(f"maps must be a torch.Tensor (coils, H, W), got {type(maps).__name__}")
    if maps.ndim != 3:
        raise ValueError(f"maps must have shape (coils, H, W), got {tuple(maps.shape)}")
    if not (maps.is_complex() or maps.is_floating_point()):
        raise TypeError(f"maps must be a complex tensor, got {maps.dtype}")
    maps = maps.detach().to(torch.complex64)
    if not bool(torch.isfinite(maps).all()):
        raise ValueError("maps contains NaN or Inf values")
    return maps
