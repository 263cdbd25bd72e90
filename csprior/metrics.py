"""Image-quality metrics: PSNR, SSIM and NMSE on real or complex (magnitude) images.

``psnr``/``ssim``/``nmse`` compare one image with its reference (per-image metrics). For fastMRI's
per-volume conventions (``data_range`` = volume maximum, SSIM with scikit-image's 7×7 uniform
window, slices stacked) use the ``volume_*`` functions.
Complex inputs are compared by magnitude, as in MRI evaluation.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from skimage.metrics import structural_similarity


def _to_numpy(x, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = x.abs() if x.is_complex() else x
        return x.to(torch.float64).numpy()
    x = np.asarray(x)
    if x.dtype.kind not in "fciu":
        raise TypeError(f"{name} must be numeric, got {x.dtype}")
    return (np.abs(x) if np.iscomplexobj(x) else x).astype(np.float64)


def _pair(x, ref):
    a, b = _to_numpy(x, "x"), _to_numpy(ref, "ref")
    if a.shape != b.shape:
        raise ValueError(f"x has shape {a.shape} but ref has shape {b.shape}")
    if a.size == 0:
        raise ValueError("x and ref must not be empty")
    if not np.isfinite(b).all():  # a NaN in x is a failed reconstruction and scores NaN; in ref it is bad input
        raise ValueError("ref contains NaN or Inf values")
    return a, b


def _data_range(ref: np.ndarray, data_range: float | None) -> float:
    """1 for references in [0, 1], else ``ref.max()``, unless given; must be finite and positive."""
    if data_range is None:
        data_range = 1.0 if ref.min() >= 0 and ref.max() <= 1 else float(ref.max())
        if data_range <= 0:
            raise ValueError(f"ref's maximum is {data_range}: give data_range (the peak value) explicitly")
    if isinstance(data_range, bool) or not isinstance(data_range, Real) or not (0 < data_range < np.inf):
        raise ValueError(f"data_range must be a finite positive number, got {data_range!r}")
    return float(data_range)


def nmse(x, ref) -> float:
    """Normalised mean squared error ``||x - ref||² / ||ref||²`` over all entries (any shape)."""
    a, b = _pair(x, ref)
    energy = np.sum(b ** 2)
    if energy == 0:
        raise ValueError("ref is zero everywhere: its NMSE is undefined")
    return float(np.sum((a - b) ** 2) / energy)


def psnr(x, ref, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB over all entries (any shape).

    ``data_range`` defaults to 1 for reference images in [0, 1] and to ``ref.max()`` otherwise.
    NaN in ``x`` gives NaN; ``ref`` must be finite.
    """
    a, b = _pair(x, ref)
    data_range = _data_range(b, data_range)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))


def ssim(x, ref, data_range: float | None = None) -> float:
    """Structural similarity of 2-D images ``(..., H, W)`` averaged over leading dimensions.

    scikit-image's SSIM with a 7×7 uniform window (fastMRI's setting); ``data_range`` as in
    ``psnr``.
    """
    a, b = _pair(x, ref)
    if a.ndim < 2:
        raise ValueError(f"ssim needs images (..., H, W), got shape {a.shape}")
    data_range = _data_range(b, data_range)
    a2, b2 = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    window = min(7, *a.shape[-2:])
    window -= 1 - window % 2  # scikit-image needs an odd window no larger than the image
    values = [structural_similarity(t, r, data_range=data_range, win_size=window)
              for r, t in zip(a2, b2)]
    return float(np.mean(values))


def volume_metrics(volume, target) -> dict[str, float]:
    """fastMRI's per-volume metrics of a ``(slices, H, W)`` reconstruction against its target.

    NMSE over the volume; PSNR and SSIM with ``data_range = target.max()`` (the volume maximum),
    SSIM averaged over slices with a 7×7 uniform window. Inputs must already be centre-cropped
    to the same size.
    """
    a, b = _pair(volume, target)
    if a.ndim != 3:
        raise ValueError(f"volume must be (slices, H, W), got shape {a.shape}")
    peak = float(b.max())
    return {"nmse": nmse(a, b), "psnr": psnr(a, b, data_range=peak), "ssim": ssim(a, b, data_range=peak)}
