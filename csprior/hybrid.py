"""The hybrid objective ``‖A G(θ) − y‖² + λ·TV(G(θ))``: a generator prior with a TV penalty.

The untrained generator and total variation fail differently (the generator leaves ringing and
texture noise, TV flattens texture), so their sum can beat both. The penalty is the isotropic TV
of the generator's output, smoothed as ``√(|∂x|² + ε²)`` so that its gradient exists where the
image is flat, and averaged over pixels so that one λ suits every image size.

``choose_tv_weight`` picks λ from a grid (``tv_weight_grid``: smaller weights for complex data,
where the real grid's smallest nonzero λ was already too strong) by the held-out measurements:
every candidate is fitted on the same split with the same stopping rule and the one whose held-out
residual at its returned iterate is lowest wins. No ground truth is used.
"""
from __future__ import annotations

import logging
import time

import torch

from csprior.defaults import sparse_kspace

log = logging.getLogger(__name__)

TV_SMOOTHING = 1e-3
# candidates for λ in units of (mean squared residual) per (mean TV per pixel). Measured with the
# Deep Decoder on camera 64² from 25 % Gaussian measurements (1500 iterations, holdout stop):
# 28.35 dB at λ = 0, 28.96 at 0.01, 29.02 at 0.03, 29.60 at 0.1, 28.56 at 0.3, 25.43 at 1
# At Gaussian 128² 10 %, where 0.3 won in every cell, the held-out residual rose past it (λ 1 and 3,
# csprior.benchmarks.tv_weight_edge), so the grid stops at 0.3
TV_WEIGHT_GRID = (0.0, 0.01, 0.03, 0.1, 0.3)
# complex (MRI) data: the real grid is too coarse at its small end. Recipe (ConvDecoder from a phantom
# fit, 6000 iterations) on the 16-coil brain at 4×: the held-out residual rose from 4.7e-4 at λ = 0 to
# 8.0e-4 at 0.01, so λ = 0 was chosen (31.35 dB); fixed λ = 0.001 gave 32.98, 0.003 32.63 (TV: 32.05)
COMPLEX_TV_WEIGHT_GRID = (0.0, 0.0003, 0.001, 0.003, 0.01)
# sparsely sampled k-space (``csprior.defaults.sparse_kspace``): the same grid up to 0.1. 16-coil brain
# at 8×, three masks × three fits of the recipe (a scratch sweep, PSNR used for analysis only): the
# fits' PSNR peaked above 0.01 (at 0.03 or 0.1) in 7 of 9, and 0.01, the grid's edge, was chosen in 5
SPARSE_KSPACE_TV_WEIGHT_GRID = COMPLEX_TV_WEIGHT_GRID + (0.03, 0.1)


def smoothed_tv(x: torch.Tensor, n_image_dims: int) -> torch.Tensor:
    """Mean smoothed isotropic TV per pixel of each image.

    Args:
        x: images ``(B, *image_shape)`` real or complex, the last two axes ``(H, W)``.
        n_image_dims: ``len(image_shape)`` (further leading image axes, e.g. channels, are summed).

    Returns:
        ``(B,)`` real: ``mean_{ij} √(|x[i+1,j]−x[i,j]|² + |x[i,j+1]−x[i,j]|² + ε²) − ε``, with zero
        differences beyond the last row and column.
    """
    vertical = torch.zeros_like(x)
    horizontal = torch.zeros_like(x)
    vertical[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
    horizontal[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
    magnitude = (vertical.abs().pow(2) + horizontal.abs().pow(2) + TV_SMOOTHING ** 2).sqrt() - TV_SMOOTHING
    return magnitude.flatten(x.ndim - n_image_dims).mean(dim=-1)


def tv_weight_grid(A) -> tuple[float, ...]:
    """The candidate λ of ``tv_weight="holdout"`` for operator ``A``: ``SPARSE_KSPACE_TV_WEIGHT_GRID``
    for sparsely sampled complex data, ``COMPLEX_TV_WEIGHT_GRID`` for other complex data,
    ``TV_WEIGHT_GRID`` otherwise."""
    if sparse_kspace(A):
        return SPARSE_KSPACE_TV_WEIGHT_GRID
    return COMPLEX_TV_WEIGHT_GRID if A.is_complex else TV_WEIGHT_GRID


def held_out_residual(result) -> float:
    """What ``choose_tv_weight`` compares: a fit's held-out residual at the iterate it returned."""
    losses = result.history["holdout_loss"]
    return losses[min(result.stop_iteration, len(losses) - 1)]


def choose_tv_weight(y, A, prior, grid=None, **kwargs):
    """Fit ``prior`` once per candidate λ and return the result whose held-out residual is lowest.

    The candidates are one sweep (``reconstruct(..., tv_weight=list(grid))``): the same seed, the
    same held-out split, fitted together (one stacked network for the Deep Decoder and the
    ConvDecoder, so one application of ``A`` serves every candidate). Every candidate runs to its
    own stop: stopping the ones that trail early would be unsafe, because the held-out curves cross
    (the recipe's sweep, one member: at 64² Gaussian 25 % and 50 % the eventual choice trailed the
    leader at iteration 1000 by 21 to 36 %); a margin that never lost the choice in seven sweeps
    saved only about 15 % of the iterations.

    Args:
        y: measurements ``(*A.out_shape)`` of one problem.
        A: the measurement operator.
        prior: as in ``csprior.reconstruct``.
        grid: candidate weights (non-negative floats); None: ``tv_weight_grid(A)``.
        **kwargs: passed to ``csprior.reconstruct`` (``early_stopping`` must be ``"holdout"``).

    Returns:
        the chosen ``Result``; its ``params`` record ``tv_weight``, ``tv_weight_rule = "holdout"``,
        the grid and each candidate's held-out residual; ``seconds`` covers every candidate.
    """
    from csprior.reconstruct import reconstruct

    if kwargs.get("early_stopping", "holdout") != "holdout":
        raise ValueError('tv_weight="holdout" needs early_stopping="holdout" (the candidates are '
                         "compared on the held-out measurements)")
    grid = tv_weight_grid(A) if grid is None else grid
    if not grid or any(isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0 for w in grid):
        raise ValueError(f"grid must be a non-empty sequence of non-negative numbers, got {grid!r}")
    start = time.perf_counter()
    sweep = reconstruct(y, A, prior, tv_weight=[float(w) for w in grid], **kwargs)
    candidates = [sweep[i] for i in range(len(grid))]
    scores = []
    for weight, result in zip(grid, candidates):
        scores.append(held_out_residual(result))
        log.info("tv_weight %.3g: held-out residual %.4g at iteration %d", weight, scores[-1], result.stop_iteration)
    result = candidates[min(range(len(grid)), key=scores.__getitem__)]
    result.image = result.image.reshape(A.in_shape)  # a one-weight sweep is a batch of one
    result.params.update(tv_weight_rule="holdout", tv_weight_grid=[float(w) for w in grid],
                         tv_weight_scores=scores)
    result.seconds = time.perf_counter() - start
    return result
