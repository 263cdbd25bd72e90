"""Empirical Wiener refinement of a denoised image: the second step of BM3D, without block matching.

A first estimate ``pilot`` of the clean image (here the untrained generator's) tells, coefficient by
coefficient, how much signal each local DCT coefficient of the noisy image carries. Every ``b × b``
window of the noisy image ``y`` (all of them, one per pixel, reflected at the borders) is
transformed by the orthonormal 2-D DCT, each coefficient is shrunk by the Wiener gain
``p² / (p² + σ²)`` with ``p`` the pilot's coefficient, and the windows are transformed back and
averaged with BM3D's aggregation weights (``1 / Σ gain²`` per window: windows that kept less noise
count more). A better pilot gives better gains; the filter itself learns nothing. The filtered image
is a better pilot than the first, so the filter runs ``passes`` times, each from the noisy image
with the previous pass's output as the pilot.

The noise level, when not given, is the median absolute Haar diagonal detail of ``y`` over 0.6745
(Donoho & Johnstone's robust estimator), which needs no clean data.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from csprior import metrics
from csprior.operators import Identity, LinearOperator, dct_ortho
from csprior.result import Result

# Window side: BM3D's. Set11 images 03 and 04, σ = 25/255, a four-fit Deep Decoder pilot, two passes:
# 4 and 6 did 0.09 to 0.21 dB better, 12 0.08 and 0.30 worse (scratch, 2026-12-01); 8 is what the ablation ran
WIENER_BLOCK = 8
# the same pilots, block 8: a second pass +0.37 and +0.09 dB, a third +0.27 and +0.03; two as the ablation ran
WIENER_PASSES = 2
MAD_TO_STD = 0.6745  # median |N(0, 1)|
_WINDOWS_PER_STRIP = 1 << 16  # windows filtered at once: about 16 MB per coefficient tensor in float32


def estimate_noise_std(y: torch.Tensor) -> torch.Tensor:
    """Robust noise level of white Gaussian noise in images ``(..., H, W)`` (H, W ≥ 2), real.

    Returns ``(...)``: median |Haar diagonal detail| / 0.6745 over each image's 2 × 2 blocks.
    """
    _check_images(y, "y", minimum=2)
    height, width = (y.shape[-2] // 2) * 2, (y.shape[-1] // 2) * 2
    blocks = y[..., :height, :width]
    diagonal = (blocks[..., 0::2, 0::2] - blocks[..., 0::2, 1::2] - blocks[..., 1::2, 0::2]
                + blocks[..., 1::2, 1::2]) / 2
    return diagonal.abs().flatten(-2).median(dim=-1).values / MAD_TO_STD


def wiener_refine(y: torch.Tensor, pilot: torch.Tensor, noise_std=None, block: int = WIENER_BLOCK,
                  passes: int = WIENER_PASSES) -> torch.Tensor:
    """Sliding-window DCT Wiener filter of noisy images ``y`` guided by ``pilot``, ``passes`` times.

    Args:
        y: noisy images ``(..., H, W)``, real, H and W ≥ ``block``.
        pilot: first estimates of the clean images, the shape of ``y``.
        noise_std: noise standard deviation, a float or a tensor ``(...)`` (one per image); None
            estimates it from ``y`` (``estimate_noise_std``).
        block: window side.
        passes: how many times the filter runs, each pass guided by the previous one's output.

    Returns:
        The refined images, the shape and dtype of ``y``.
    """
    if isinstance(block, bool) or not isinstance(block, int) or block < 2:
        raise ValueError(f"block must be an int >= 2, got {block!r}")
    _check_images(y, "y", minimum=block)
    if pilot.shape != y.shape:
        raise ValueError(f"pilot must have the shape of y, {tuple(y.shape)}, got {tuple(pilot.shape)}")
    sigma = estimate_noise_std(y) if noise_std is None else torch.as_tensor(noise_std, dtype=y.dtype,
                                                                             device=y.device)
    if not bool(torch.isfinite(sigma).all()) or bool((sigma < 0).any()):  # a tensor: one σ per image
        raise ValueError(f"noise_std must be finite and >= 0, got {noise_std!r}")
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise ValueError(f"passes must be an int >= 1, got {passes!r}")
    height, width = y.shape[-2:]
    images = y.reshape(-1, 1, height, width)
    sigma = sigma.expand(y.shape[:-2]).reshape(-1, 1, 1, 1)
    dct = _dct_matrix(block, y.dtype, y.device)
    refined = pilot.reshape(images.shape).to(y.dtype)
    for _ in range(passes):
        refined = _filter_once(images, refined, sigma, dct)
    return refined.reshape(y.shape)


def check_noise_std(noise_std) -> None:
    """Raise ValueError unless ``noise_std`` is None or a finite number >= 0."""
    from csprior.baselines.inputs import check_tol  # lazy: csprior.baselines imports this module

    if noise_std is not None:
        check_tol(noise_std, "noise_std")


def _filter_once(noisy: torch.Tensor, guide: torch.Tensor, sigma: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """One Wiener pass over ``(N, 1, H, W)`` images, strip by strip of rows so that memory stays
    bounded: a strip with ``block - 1`` rows of context on each side holds every window that
    touches its own rows, so the strips give exactly the whole-image result. ``dct``: the
    ``(block, block)`` DCT matrix."""
    pad = dct.shape[0] - 1
    noisy_padded = F.pad(noisy, (pad,) * 4, mode="reflect")
    guide_padded = F.pad(guide, (pad,) * 4, mode="reflect")
    height, width = noisy.shape[-2:]
    rows = max(1, _WINDOWS_PER_STRIP // (noisy.shape[0] * (width + pad)))
    strips = []
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        context = slice(top, bottom + 2 * pad)
        filtered = _filter_strip(noisy_padded[..., context, :], guide_padded[..., context, :], sigma, dct)
        strips.append(filtered[..., pad:pad + bottom - top, pad:pad + width])
    return torch.cat(strips, dim=-2)


def _filter_strip(noisy: torch.Tensor, guide: torch.Tensor, sigma: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """Every window of the ``(N, 1, h, w)`` strips filtered and averaged back onto the strip."""
    block = dct.shape[0]
    coefficients = _window_coefficients(noisy, dct)
    pilot_power = _window_coefficients(guide, dct).square()
    gain = pilot_power / (pilot_power + sigma.square()).clamp_min(torch.finfo(noisy.dtype).tiny)
    weight = 1 / gain.square().sum(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
    return (_overlap_add(dct.T @ (coefficients * gain) @ dct * weight, noisy.shape, block)
            / _overlap_add(weight.expand_as(coefficients), noisy.shape, block))


def refine_denoised(result: Result, y: torch.Tensor, A: LinearOperator, noise_std: float | None = None,
                    x_true: torch.Tensor | None = None) -> Result:
    """A denoising result with each problem's image replaced by its Wiener refinement.

    Args:
        result: a ``Result`` whose ``image`` is ``(*batch, *A.in_shape)``, with ``problems`` when batched
            (from ``reconstruct`` or a baseline).
        y: the noisy images ``(*batch, *A.in_shape)`` (one ``y`` for a λ sweep's several fits).
        A: an ``Identity``.
        noise_std: the noise level, or None to estimate it from ``y``.
        x_true: clean images of ``y``'s shape, only to record the PSNR of the unrefined image.

    Returns:
        The result with refined images; ``params["wiener"]`` of every problem holds the block size,
        passes, noise level and how it was chosen (and ``pilot_psnr`` given ``x_true``).
    """
    if not isinstance(A, Identity):
        raise ValueError(f"the Wiener refinement needs a denoising problem (A an Identity), got {type(A).__name__}")
    problems = list(result.problems) or [result]
    noisy = y.reshape(-1, *A.in_shape).expand(len(problems), *A.in_shape)
    truths = None if x_true is None else x_true.reshape(-1, *A.in_shape).expand(len(problems), *A.in_shape)
    for index, problem in enumerate(problems):
        pilot = problem.image
        with torch.no_grad():
            sigma = estimate_noise_std(noisy[index].to(pilot)) if noise_std is None else torch.tensor(noise_std)
            problem.image = wiener_refine(noisy[index].to(pilot), pilot, sigma)
        record = {"block": WIENER_BLOCK, "passes": WIENER_PASSES, "noise_std": sigma.tolist(),
                  "noise_std_selection": "estimated" if noise_std is None else "given"}
        if truths is not None:
            record["pilot_psnr"] = metrics.psnr(pilot, truths[index].to(pilot))
        problem.params = {**problem.params, "wiener": record}
    refined = Result.stack(problems)
    refined.image = refined.image.reshape(result.image.shape)
    return refined


def _check_images(x: torch.Tensor, name: str, minimum: int) -> None:
    if not torch.is_tensor(x) or x.is_complex() or not x.is_floating_point() or x.ndim < 2:
        raise ValueError(f"{name} must be a real floating-point tensor (..., H, W), got "
                         f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}")
    if min(x.shape[-2:]) < minimum:
        raise ValueError(f"{name} must be at least {minimum} × {minimum} pixels, got {tuple(x.shape[-2:])}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")


def _dct_matrix(n: int, dtype, device) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``(n, n)``: row k is frequency k."""
    return dct_ortho(torch.eye(n, dtype=torch.float64)).T.to(dtype=dtype, device=device)


def _window_coefficients(images: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """DCT coefficients ``(N, windows, block, block)`` of every ``block × block`` window inside
    ``(N, 1, h, w)`` images (``dct``: the ``(block, block)`` DCT matrix)."""
    block = dct.shape[0]
    windows = F.unfold(images, block).transpose(1, 2).reshape(images.shape[0], -1, block, block)
    return dct @ windows @ dct.T


def _overlap_add(windows: torch.Tensor, shape, block: int) -> torch.Tensor:
    """Sum of windows ``(N, L, block, block)`` back on the grid ``shape`` ``(N, 1, h, w)`` they came from."""
    n, _, height, width = shape
    return F.fold(windows.reshape(n, -1, block * block).transpose(1, 2), (height, width), block)
