"""Synthetic MRI data for tests and the demo: a phantom, simulated coil maps, k-space.

Nothing here needs a download: the phantom is scikit-image's bundled Shepp-Logan phantom and the
coil maps are smooth analytic functions, so every call is reproducible from its ``seed``.
"""
from __future__ import annotations

import math
import numbers

import torch
from skimage.data import shepp_logan_phantom
from skimage.transform import resize

from csprior.operators import fft2c

from .image_size import size_pair


def shepp_logan(size: int | tuple[int, int] = 256) -> torch.Tensor:
    """The (modified) Shepp-Logan phantom as a float32 ``(H, W)`` tensor in [0, 1].

    scikit-image's 400×400 phantom, resized with anti-aliasing to ``size`` (int for a square, or
    ``(H, W)``). Returned without batch or channel axes because it is used as a single-coil MRI
    image; ``shepp_logan(n)[None, None]`` gives the ``(1, 1, H, W)`` image-tensor layout.
    """
    height, width = size_pair(size, "size")
    phantom = resize(shepp_logan_phantom(), (height, width), anti_aliasing=True, preserve_range=True)
    return torch.from_numpy(phantom.clip(0, 1)).to(torch.float32)


def simulated_coil_maps(shape: tuple[int, int], coils: int, seed: int = 0) -> torch.Tensor:
    """Smooth complex receive-coil sensitivities of a ring ("birdcage-like") array.

    Coil ``c`` sits just outside the field of view at angle ``2πc/coils`` (plus a seeded jitter of
    up to a quarter of the spacing). Its magnitude falls off as a Gaussian of the distance to the
    coil and its phase is a seeded offset plus a gentle ramp away from the coil, as in a real
    array. The maps are normalised so that ``Σ_c |S_c|² = 1`` at every pixel.

    Args:
        shape: image size ``(H, W)`` (an int for a square).
        coils: number of coils (≥ 1).
        seed: seed (an int) of the jitter and the phase offsets.

    Returns:
        complex64 ``(coils, H, W)`` tensor.
    """
    height, width = size_pair(shape, "shape")
    if not _is_int(coils) or coils < 1:
        raise ValueError(f"coils must be a positive int, got {coils!r}")
    gen = torch.Generator().manual_seed(_seed(seed))
    angles = 2 * math.pi * (torch.arange(coils) + 0.25 * (torch.rand(coils, generator=gen) - 0.5)) / coils
    offsets = 2 * math.pi * torch.rand(coils, generator=gen)
    y = torch.linspace(-1, 1, height, dtype=torch.float64)[:, None]
    x = torch.linspace(-1, 1, width, dtype=torch.float64)[None, :]
    radius, width_std, ramp = 1.3, 0.9, 1.0  # coil ring outside the unit field of view
    maps = []
    for angle, offset in zip(angles.double(), offsets.double()):
        dy, dx = y - radius * torch.sin(angle), x - radius * torch.cos(angle)
        distance = torch.sqrt(dy ** 2 + dx ** 2)
        magnitude = torch.exp(-(distance ** 2) / (2 * width_std ** 2))
        maps.append(magnitude * torch.exp(1j * (offset + ramp * distance)))
    maps = torch.stack(maps)
    return (maps / maps.abs().pow(2).sum(dim=0).sqrt()).to(torch.complex64)


def synthetic_kspace(image: torch.Tensor, coils: int | None = None, *, maps: torch.Tensor | None = None,
                     noise_std: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Fully sampled k-space of an image, single-coil or through coil sensitivities.

    Args:
        image: real or complex ``(H, W)``, ``(B, H, W)`` or image-layout ``(B, 1, H, W)``.
        coils: ``None`` for single-coil k-space; an int simulates that many coils with
            ``simulated_coil_maps((H, W), coils, seed)``.
        maps: explicit complex ``(coils, H, W)`` sensitivities instead of ``coils``.
        noise_std: standard deviation of the complex white Gaussian noise added to every sample
            (``E|n|² = noise_std²``, half in each of the real and imaginary parts).
        seed: seed of the coil maps and the noise.

    Returns:
        complex64 k-space ``(*batch, H, W)`` (single-coil) or ``(*batch, coils, H, W)``, centred
        orthonormal FFT (``csprior.operators.fft2c``).
    """
    x = _as_image(image)
    if coils is not None and maps is not None:
        raise ValueError("give either coils or maps, not both")
    if isinstance(noise_std, bool) or not isinstance(noise_std, numbers.Real) \
            or noise_std < 0 or not math.isfinite(noise_std):
        raise ValueError(f"noise_std must be a finite non-negative number, got {noise_std!r}")
    if coils is not None:
        maps = simulated_coil_maps(tuple(x.shape[-2:]), coils, seed).to(x.device)
    if maps is not None:
        _check_maps(maps, x.shape[-2:])
        x = x.unsqueeze(-3) * maps.to(device=x.device, dtype=torch.complex64)
    kspace = fft2c(x)
    if noise_std > 0:
        gen = torch.Generator().manual_seed(_seed(seed))
        noise = torch.randn(kspace.shape, dtype=torch.complex64, generator=gen)  # E|n|² = 1, drawn on the CPU
        kspace = kspace + noise_std * noise.to(kspace.device)  # so a seed gives the same noise on any device
    return kspace


def _check_maps(maps, image_shape) -> None:
    height, width = image_shape
    if not isinstance(maps, torch.Tensor):
        raise TypeError(f"maps must be a torch.Tensor (coils, {height}, {width}), got {type(maps).__name__}")
    if maps.ndim != 3 or tuple(maps.shape[-2:]) != (height, width) or not maps.is_complex():
        raise ValueError(f"maps must be complex (coils, {height}, {width}), got {maps.dtype} {tuple(maps.shape)}")
    if not bool(torch.isfinite(maps).all()):
        raise ValueError("maps contains NaN or Inf values")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _seed(seed) -> int:
    if not _is_int(seed):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return int(seed)


def _as_image(image) -> torch.Tensor:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor, got {type(image).__name__}")
    if image.ndim == 4:
        if image.shape[1] != 1:
            raise ValueError(f"a 4-D image must be (B, 1, H, W), got {tuple(image.shape)}")
        image = image[:, 0]
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W), (B, H, W) or (B, 1, H, W), got {tuple(image.shape)}")
    if not bool(torch.isfinite(image).all()):
        raise ValueError("image contains NaN or Inf values")
    return image.to(torch.complex64)
