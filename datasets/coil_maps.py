"""Coil sensitivity maps from the fully sampled centre of multi-coil k-space, and coil combination.

Two estimators, both taking multi-coil k-space ``(coils, H, W)`` complex64 (zeros where not
sampled) and returning maps ``(coils, H, W)`` complex64:

``"lowres"``
    The classic low-resolution estimate (e.g. Pruessmann's SENSE, SigPy's tutorials): keep the fully
    sampled centre of k-space under a separable Hann window, transform each coil to image space and
    divide by the root-sum-of-squares over coils. The maps satisfy ``Σ|S|² = 1`` at every pixel
    where the low-resolution RSS is not negligible; elsewhere they are zero.

``"espirit"``
    ESPIRiT (Uecker et al., MRM 71:990, 2014). The calibration matrix collects every
    ``kernel × kernel × coils`` patch of the centre; its leading right singular vectors span the
    patches the coils can produce. Projecting every patch onto that span and averaging is a
    convolution in k-space, i.e. one ``coils × coils`` matrix per pixel in image space; the maps are
    each pixel's leading eigenvector, kept where its eigenvalue is at least ``crop`` (close to 1
    inside the object, small outside), so the maps vanish outside the object.

Both return maps up to a pixel-wise phase that is common to all coils (any such phase cancels in
``S^H`` combinations). ESPIRiT maps are given the phase of a virtual body coil (the calibration
data's first principal component), which varies smoothly over the object.

The calibration region is the largest rectangle around the k-space centre in which every coil has
data, found from the k-space itself (``calibration_region``) and capped at ``calib_width`` per axis.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
import torch

from csprior.operators import ifft2c

METHODS = ("espirit", "lowres")
_BLOCK_ENTRIES = 2 ** 22  # complex entries of the per-pixel matrices built at once (64 MiB)


def rss(coil_images: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Root-sum-of-squares over ``dim``: complex ``(..., coils, H, W)`` -> real ``(..., H, W)``."""
    return coil_images.abs().pow(2).sum(dim=dim).sqrt()


def sense_combine(coil_images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """``Σ_c conj(S_c)·x_c``: coil images and maps ``(..., coils, H, W)`` -> complex ``(..., H, W)``."""
    return (maps.conj() * coil_images).sum(dim=-3)


def calibration_region(sampled, max_size: int | tuple[int, int] | None = None) -> tuple[slice, slice]:
    """Rows and columns of the largest fully sampled rectangle around the k-space centre.

    The rectangle always contains the centre ``(H // 2, W // 2)`` (DC of the centred FFT) and grows
    one side at a time, in turn, while the new row or column is fully sampled, so it need not be
    symmetric (fastMRI's centre block of an even count in an odd width is not) and a capped region
    stays centred.

    Args:
        sampled: boolean ``(H, W)`` array or tensor, True where k-space was measured.
        max_size: optional cap per axis (int for both, or ``(h, w)``).

    Returns:
        ``(rows, columns)`` slices; empty slices when the centre itself is not sampled.
    """
    grid = np.asarray(sampled.cpu() if isinstance(sampled, torch.Tensor) else sampled).astype(bool)
    if grid.ndim != 2:
        raise ValueError(f"sampled must be an (H, W) mask, got shape {grid.shape}")
    caps = _pair(max_size, "max_size") if max_size is not None else grid.shape
    cy, cx = grid.shape[0] // 2, grid.shape[1] // 2
    if not grid[cy, cx]:
        return slice(cy, cy), slice(cx, cx)
    bounds = [cy, cy + 1, cx, cx + 1]  # top, bottom, left, right (half-open)
    grown = True
    while grown:
        grown = False
        for side in range(4):
            axis = side // 2
            if bounds[2 * axis + 1] - bounds[2 * axis] >= min(caps[axis], grid.shape[axis]):
                continue
            trial = list(bounds)
            trial[side] += 1 if side % 2 else -1
            if trial[side] < 0 or trial[side] > grid.shape[axis]:
                continue
            if grid[trial[0]:trial[1], trial[2]:trial[3]].all():
                bounds, grown = trial, True
    return slice(bounds[0], bounds[1]), slice(bounds[2], bounds[3])


def calibration_size(sampled, max_size: int | tuple[int, int] | None = None) -> tuple[int, int]:
    """``(h, w)`` of ``calibration_region(sampled, max_size)``; ``(0, 0)`` if the centre is not sampled."""
    rows, columns = calibration_region(sampled, max_size)
    return rows.stop - rows.start, columns.stop - columns.start


def calibration_window(shape: tuple[int, int], region: tuple[slice, slice]) -> torch.Tensor:
    """A float64 ``shape`` array holding a separable Hann window over ``region``, zero elsewhere.

    Multiplying k-space by it keeps a smoothly tapered centre (a low-resolution image without
    Gibbs ringing); the window omits Hann's zero end points so every kept line has some weight.
    """
    rows, columns = region
    window = torch.zeros(shape, dtype=torch.float64)
    window[rows, columns] = torch.outer(_hann(rows.stop - rows.start), _hann(columns.stop - columns.start))
    return window


def estimate_coil_maps(kspace, calib_width: int | tuple[int, int] | None = 24, method: str = "espirit",
                       *, kernel_width: int = 6, threshold: float = 0.02, crop: float = 0.8) -> torch.Tensor:
    """Coil sensitivity maps from the fully sampled centre of multi-coil k-space.

    Args:
        kspace: complex ``(coils, H, W)`` tensor or array, zero where not sampled (fastMRI axes).
        calib_width: largest calibration size per axis (int or ``(h, w)``); the region actually
            used is the largest fully sampled rectangle around the centre within it
            (``calibration_region``). ``None`` uses all of the fully sampled centre.
        method: ``"espirit"`` or ``"lowres"`` (see the module docstring).
        kernel_width: ESPIRiT kernel size, reduced to a third (at least 2) of a narrower calibration side.
        threshold: ESPIRiT keeps singular vectors above ``threshold × σ_max``.
        crop: ESPIRiT keeps a pixel's map where its eigenvalue is at least ``crop`` (BART's default
            0.8; higher values also cut into the object when the calibration region is small).

    Returns:
        complex64 ``(coils, H, W)`` maps with ``Σ_c |S_c|² = 1`` where they are nonzero.
    """
    data = _as_complex_array(kspace)
    if calib_width is not None and min(_pair(calib_width, "calib_width")) < 2:
        raise ValueError(f"calib_width must be at least 2 per axis (a calibration region needs two lines), "
                         f"got {calib_width!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    region = calibration_region((data.abs() > 0).any(dim=0), calib_width)
    size = tuple(part.stop - part.start for part in region)
    if min(size) < 2:
        raise ValueError(f"kspace has no fully sampled centre to calibrate from (calibration region {size}); "
                         "coil maps need the centre lines of every coil")
    if method == "lowres":
        maps = _lowres_maps(data, region)
    else:
        if not all(isinstance(v, Real) for v in (threshold, crop)) or not 0 < threshold < 1 or not 0 < crop <= 1:
            raise ValueError(f"threshold must be a number in (0, 1) and crop in (0, 1], got {threshold!r}, {crop!r}")
        if not isinstance(kernel_width, int) or kernel_width < 2:
            raise ValueError(f"kernel_width must be an int >= 2, got {kernel_width!r}")
        maps = _espirit_maps(data, region, kernel_width, threshold, crop)
    return maps.to(torch.complex64)


def _pair(value, name: str) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as ``(h, w)``, else a TypeError naming ``name``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    return int(pair[0]), int(pair[1])


def _as_complex_array(kspace) -> torch.Tensor:
    data = torch.as_tensor(kspace).detach().cpu()
    if data.ndim != 3:
        raise ValueError(f"kspace must be multi-coil (coils, H, W), got shape {tuple(data.shape)}")
    if not data.is_complex():
        raise TypeError(f"kspace must be complex, got {data.dtype}")
    if not bool(torch.isfinite(data).all()):
        raise ValueError("kspace contains NaN or Inf values")
    return data.to(torch.complex128)


def _lowres_maps(data: torch.Tensor, region: tuple[slice, slice]) -> torch.Tensor:
    images = ifft2c(data * calibration_window(tuple(data.shape[-2:]), region))
    combined = rss(images)
    # below this the low-resolution image is numerical noise and the ratio meaningless
    floor = 1e-6 * float(combined.max())
    return torch.where(combined > floor, images / combined.clamp_min(floor), 0)


def _hann(n: int) -> torch.Tensor:
    return torch.hann_window(n + 2, periodic=False, dtype=torch.float64)[1:-1]


def _espirit_maps(data: torch.Tensor, region, kernel_width: int, threshold: float, crop: float) -> torch.Tensor:
    coils, height, width = data.shape
    calib = data[:, region[0], region[1]]
    # a kernel wider than a third of the region leaves too few patches to fit its subspace
    kernel = tuple(min(kernel_width, max(2, side // 3)) for side in calib.shape[1:])
    patches = _patch_matrix(calib, kernel)  # (positions, coils * kh * kw)
    _, singular, vh = torch.linalg.svd(patches, full_matrices=False)
    basis = vh[singular > threshold * singular[0]]  # rows span the measured patches
    filt = _projection_filter(basis.T @ basis.conj(), coils, kernel)
    ramp_y, ramp_x = _fourier_ramps(height, kernel[0]), _fourier_ramps(width, kernel[1])
    body = _body_coil(calib)
    maps = torch.zeros((height, width, coils), dtype=data.dtype)
    rows = max(1, _BLOCK_ENTRIES // (width * coils * coils))  # bounds memory on large images
    for top in range(0, height, rows):
        # the filter's Fourier series at each pixel: one Hermitian coils x coils matrix per pixel
        block = torch.einsum("ys,cdst,xt->yxcd", ramp_y[top:top + rows], filt, ramp_x)
        eigenvalues, eigenvectors = torch.linalg.eigh((block + block.mH) / 2)  # ascending
        leading = eigenvectors[..., -1]
        leading = leading * _phase_of(leading @ body)[..., None]
        leading[eigenvalues[..., -1] < crop] = 0
        maps[top:top + rows] = leading
    return maps.permute(2, 0, 1)


def _patch_matrix(calib: torch.Tensor, kernel) -> torch.Tensor:
    windows = calib.unfold(1, kernel[0], 1).unfold(2, kernel[1], 1)  # (coils, py, px, kh, kw)
    # one row per patch position, columns ordered (coil, ky, kx)
    return windows.permute(1, 2, 0, 3, 4).reshape(windows.shape[1] * windows.shape[2], -1)


def _projection_filter(projector: torch.Tensor, coils: int, kernel) -> torch.Tensor:
    """The k-space filter ``(coils, coils, 2kh-1, 2kw-1)`` of "project every patch, average".

    Projecting every patch and averaging the ``kh·kw`` estimates of each k-space point is a
    convolution whose ``coils × coils`` filter at offset ``s`` (index ``s + k - 1``) sums the
    projector entries of all offset pairs ``(o_out, o_in)`` with ``o_out - o_in = s``.
    """
    kh, kw = kernel
    p = projector.reshape(coils, kh, kw, coils, kh, kw)
    filt = torch.zeros((coils, coils, 2 * kh - 1, 2 * kw - 1), dtype=projector.dtype)
    for oy in range(kh):
        for ox in range(kw):
            # every input offset at once for this output offset: s = o_out - o_in, reversed
            filt[:, :, oy:oy + kh, ox:ox + kw] += p[:, oy, ox].flip(-2, -1)
    return filt / (kh * kw)


def _fourier_ramps(n: int, k: int) -> torch.Tensor:
    """``exp(2πi·s·(x - n//2)/n)`` for pixels ``x`` and filter offsets ``s = -(k-1)..k-1``: ``(n, 2k-1)``.

    A k-space convolution by ``h`` multiplies the centred-FFT image by ``Σ_s h(s)·ramp(x, s)``.
    """
    positions = torch.arange(n, dtype=torch.float64)[:, None] - n // 2
    offsets = torch.arange(-(k - 1), k, dtype=torch.float64)[None, :]
    return torch.exp(2j * torch.pi * positions * offsets / n)


def _body_coil(calib: torch.Tensor) -> torch.Tensor:
    """Coil weights ``(coils,)`` of the combination carrying most calibration energy (first PC)."""
    _, _, vh = torch.linalg.svd(calib.reshape(calib.shape[0], -1).T, full_matrices=False)
    return vh[0].conj()


def _phase_of(values: torch.Tensor) -> torch.Tensor:
    """``conj(v)/|v|``, the factor that makes ``v`` real positive (1 where ``v = 0``)."""
    magnitude = values.abs()
    return torch.where(magnitude > 0, values.conj() / magnitude.clamp_min(1e-300), 1)
