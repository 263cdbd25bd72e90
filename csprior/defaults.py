"""What ``reconstruct(y, A)`` runs when no prior is named: csprior's strongest untrained prior.

Chosen from measurements on this project's benchmarks (``benchmarks/results/``, README "Measured
results"), not from the papers: a named prior (``"deep-decoder"``, ...) keeps the papers' settings.

- Real images (denoising, inpainting, compressive sensing): the Deep Decoder with exponential
  averaging of its outputs (0.99) and the TV hybrid with λ chosen on held-out measurements.
  Averaging: denoising 128², σ = 25/255, three Set11 images: +0.69 to +1.03 dB over the plain
  Deep Decoder (``benchmarks/results/engine_targets.md``). Hybrid: Gaussian CS 64², two images:
  +1.57 dB at 10 %, +2.10 at 25 %, +0.22 at 50 % (``ablation-small``).
- Complex (MRI) images: the ConvDecoder started from a ConvDecoder fitted to scikit-image's
  Shepp–Logan phantom (``warm_start="phantom"``), with the TV hybrid, λ on held-out k-space
  columns. Warm start: real 16-coil brain at 4×, 3000 iterations, holdout stop: 30.87 dB /
  SSIM 0.872 against 28.67 / 0.826 from random weights (``ablation-mri``). Hybrid, with the finer
  λ grid for complex data (``csprior.hybrid.COMPLEX_TV_WEIGHT_GRID``), 6000 iterations: 33.06 /
  0.940 at 4× (λ 0.001; the real grid chose λ 0: 31.35 / 0.889; holdout TV 32.05 / 0.921) and
  20.42 / 0.503 at 8× (zero-filled 19.05 / 0.468), one mask; over three masks (``mri-seeds``)
  31.77 / 0.921 at 4× (holdout TV run to convergence 32.10 / 0.922: the recipe loses by 0.33 dB; three
  independent fits, ``auto-independent3``, 31.93 / 0.922 at 3.5 times the seconds, still 0.17 behind) and
  18.81 / 0.487 at 8× (zero-filled 19.38, holdout TV 20.64). On a second scan, the 8-coil brain as acquired
  (Poisson ~8×), the recipe (one fit, before the sparse-k-space ensemble) loses to TV: 30.18 /
  0.825 against 36.31 / 0.940 against BART's PICS image, and on the k-space samples of the scan's
  second acquisition, which no method sees, by 0.44 dB (−12.65 against −13.09 dB for the best of
  λ 0, 0.01, 0.03, 0.1 fitted once each; ``mri-second-acquisition``). The Deep Decoder with the same hybrid is weaker on both scans
  (``ablation-mri``, ``brain16ch-dd``, ``brain8ch-dd``): 30.63 dB at 4×, 14.49 at 8× (one fit stopped at
  iteration 13), 28.07 on the 8-coil scan.
- Sparse k-space (``sparse_kspace``: under 17 % of the samples measured, Cartesian MRI at about
  7× and beyond): the complex recipe fitted three times as independent problems, λ grid up to 0.1
  (``csprior.hybrid.SPARSE_KSPACE_TV_WEIGHT_GRID``). 16-coil brain at 8×, three masks
  (``mri-seeds``, ``auto-independent3``): 20.57 ± 1.11 dB / 0.531 against one fit's 18.81 ± 2.42 /
  0.487, zero-filled 19.38 and holdout TV 20.64, at about 6 times one fit's seconds. One λ shared
  by the three fits, chosen on their summed held-out residuals, did worse in a scratch sweep
  (20.05 against 20.66 for a λ per fit): a fit stopped early on a high-energy column dominates the sum.
  Where the switch sits (one fit of the recipe with the same wide grid against three): at 7×
  (``brain16ch-7x``, masks measuring 15.6 / 16.7 / 15.6 %) three fits 21.49 / 25.30 / 21.23 dB
  against 20.54 / 25.21 / 21.35, +0.30 on average (holdout TV run to convergence, 21.62 / 26.35 / 21.46, beats both);
  at 6× (``brain16ch-6x``, masks 1 and 2 measuring 17.7 / 18.8 %) they lost, 24.21 against 25.73
  and 19.59 against 20.77. Hence 17 %, between the two; the first switch, 20 %, was chosen at 8×
  only.

Width: with fewer than 40 % as many measurements as unknowns (compressive sensing, strong
subsampling or inpainting) the Deep Decoder gets 128 channels instead of the authors' 64, at about
twice the time per iteration (128² Gaussian 25 %, the five candidates: 322 against 144 ms, one
thread). Gaussian CS, two Set11 images, the recipe with 6000 iterations, 128 against 64 channels:
128² 10 % 27.56 against 26.86 dB (64 channels, 3000 iterations), 25 % 32.95 against 30.98 (3000)
and, on image 01, 30.23 against 28.94 (6000); 64² 10 % 24.32 against 24.02, 25 % 30.22 against
29.57, but 50 % 35.32 against 36.11 (6000): hence the switch between the measured 25 and 50 %
(``ablation-cs128``, ``ablation-small``). Denoising keeps 64 (128 channels: +0.24 dB on the plain
fit at three times the cost, ``ablation-architecture``).

Ensemble: with at least 40 % as many measurements as unknowns (denoising, inpainting of up to 60 %
missing pixels, Gaussian CS at high ratios), where one fit of the recipe loses to TV or BM3D, the
recipe is fitted four times as independent problems (``ensemble=4, ensemble_mode="independent"``:
own initialisation, held-out split, λ and stop each; images averaged). Two Set11 images, the
recipe with 6000 iterations: Gaussian 64² 50 % 36.54 against 36.11 dB (holdout TV 36.39 at 1000 iterations, 37.27 run to convergence),
denoising 128² σ = 25/255 29.29 against 28.87 (BM3D 30.53), at about 2 and 4.7 times the seconds
(``ablation-small``, ``ablation-denoise``, ``auto-independent4``). Two of the four members are
ConvDecoders (``members``; its authors' 64 channels and learning rate 0.008, the recipe's averaging,
hybrid and stop): different architectures err differently, so their average gains more. Same two
images: Gaussian 64² 50 % 37.31 against 36.54 dB with four Deep Decoders (oracle TV run to convergence 37.35), at
853 against 597 s per image; denoising 29.37 against 29.29, at 1160 against 1270 s
(``gaussian-64-mixed``, ``denoise-128-mixed``). Four ConvDecoders did better still on the Gaussian
cell, 37.64 (35.88 / 39.40), at 1275 s per image (``gaussian-64-convdecoder``), but worse on
denoising, 29.11 (27.81 / 30.41; ``denoise-128-convdecoder``): the mix trails them by 0.33 dB on the
Gaussian cell at two thirds of their seconds and leads by 0.26 dB on denoising.
Inpainting 64², 50 % missing (``inpainting-64``): 31.02 dB against holdout TV 27.72 and oracle TV
27.78. A caller's ``ensemble=1``, a joint ensemble, a
warm start or an ``architecture`` (each describes one generator) keep the Deep Decoder alone. At denoising the default also
loses to a classical filter, the iterated sliding-DCT Wiener filter (``csprior.baselines.dct_wiener``:
29.62 dB), and refining the default's image with that filter (``wiener=True``: 29.68) is left out of
the recipe because the gain is the filter's (``denoise-128-wiener``). Below 40 % one fit is kept: it
already beats oracle-tuned TV there and the 128-channel fit costs twice as much per iteration.

Budget: 6000 iterations instead of the papers' 3000, because at high sampling ratios the fits are
still improving at 3000 (the holdout stop ends them earlier where they are not): Gaussian 64² at
50 %, the recipe with 6000: 36.11 dB against 34.16 with 3000; ConvDecoder at 4× from random
weights: 29.73 against 28.67.

The hybrid fits one generator per candidate λ (``csprior.hybrid.tv_weight_grid``, five; for complex
data five smaller ones, up to 0.01: at 4× on the 16-coil brain the real grid's 0.01 already raised
the held-out residual), stacked
into one network that shares each application of ``A``: the default costs five plain fits where the
generator dominates (denoising) and less where the operator does (Gaussian 128², 25 %: 144 against
241 ms per iteration one after the other, one thread); pass a prior by name for a single fit.
"""
from __future__ import annotations

import math

from csprior.operators import LinearOperator

REAL_IMAGE_RECIPE = {"prior": "deep-decoder", "iterations": 6000, "ema": 0.99, "tv_weight": "holdout",
                     "warm_start": None}
COMPRESSIVE_ARCHITECTURE = {"channels": 128}
COMPRESSIVE_BELOW = 0.4  # measurements per unknown under which COMPRESSIVE_ARCHITECTURE is used
NON_COMPRESSIVE_ENSEMBLE = {"ensemble": 4, "ensemble_mode": "independent", "members": ("deep-decoder", "conv-decoder")}
SINGLE_FIT = {"ensemble": 1, "ensemble_mode": "joint", "members": None}
SPARSE_KSPACE_BELOW = 0.17  # share of measured k-space samples under which SPARSE_KSPACE_ENSEMBLE is used
SPARSE_KSPACE_ENSEMBLE = {"ensemble": 3, "ensemble_mode": "independent", "members": None}
COMPLEX_IMAGE_RECIPE = {"prior": "conv-decoder", "iterations": 6000, "ema": None, "tv_weight": "holdout",
                        "warm_start": "phantom"}


def default_recipe(A: LinearOperator) -> dict:
    """The prior and the settings ``reconstruct`` uses for ``A`` when no prior is given:
    ``{"prior": name, "iterations": int, "ema": float | None, "tv_weight": float | "holdout",
    "warm_start": None | "phantom", "architecture": dict, "ensemble": int, "ensemble_mode": str,
    "members": None | tuple of names}`` (``architecture``: constructor keywords of the prior;
    ``members``: the priors an independent ensemble's members are split between, ``recipe_prior``)."""
    recipe = dict(COMPLEX_IMAGE_RECIPE if A.is_complex else REAL_IMAGE_RECIPE)
    compressive = not A.is_complex and measurement_count(A) < COMPRESSIVE_BELOW * math.prod(A.in_shape)
    recipe["architecture"] = dict(COMPRESSIVE_ARCHITECTURE if compressive else {})
    many_measurements = not A.is_complex and not compressive
    recipe.update(NON_COMPRESSIVE_ENSEMBLE if many_measurements
                  else SPARSE_KSPACE_ENSEMBLE if sparse_kspace(A) else SINGLE_FIT)
    return recipe


def recipe_prior(recipe: dict, ensemble: int, ensemble_mode: str):
    """The prior ``reconstruct`` fits for ``recipe`` with the ensemble actually run: the recipe's
    ``members`` for an independent ensemble with at least one member per name, else its ``prior``
    (one fit, a joint ensemble, or a caller's ``ensemble=1``)."""
    members = recipe["members"]
    if members and ensemble_mode == "independent" and ensemble >= len(members):
        return members
    return recipe["prior"]


def sparse_kspace(A: LinearOperator) -> bool:
    """Complex data with under ``SPARSE_KSPACE_BELOW`` of the operator's outputs measured (Cartesian
    MRI at about 7× and beyond), where the recipe averages several fits and widens its λ grid."""
    return A.is_complex and measurement_count(A) < SPARSE_KSPACE_BELOW * math.prod(A.out_shape)


def recipe_architecture(A: LinearOperator, architecture: dict | None = None) -> dict | None:
    """The recipe's generator keywords for ``A`` with the caller's ``architecture`` replacing them one
    by one; None when both are empty."""
    return {**default_recipe(A)["architecture"], **(architecture or {})} or None


def measurement_count(A: LinearOperator) -> int:
    """Number of outputs of ``A`` that carry measurements (``A.measured``, else all of ``A.out_shape``)."""
    measured = A.measured
    return math.prod(A.out_shape) if measured is None else int(measured.sum())
