"""Warm starts in benchmark suites: a generator method starts from a fit to another image.

A generator method's table may set::

    warm_start = { image = "images/dip/F16_GT.png", iterations = 1000 }

Before the cell's fit the same prior (with the method's ``ensemble`` size) is fitted for
``iterations`` (fixed, no early stopping) to that image: a path relative to the data folder, an
absolute path, or a bundled scikit-image name, loaded gray and resized to the problem's image size.
The source is seen directly: through the identity for real images, through fully sampled k-space
(a real-valued complex image) for complex (MRI) problems. The fitted generator then starts the
cell's fit (``csprior.warm_start``). Source fits are cached per process by their settings, so the
cells of one worker share them.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch

from csprior.datasets import load_image
from csprior.operators import LinearOperator
from csprior.warm_start import fit_source

_KEYS = {"image", "iterations"}


def source_generator(prior: str, spec: dict, A: LinearOperator, seed: int, data_dir: Path | None,
                     ensemble: int = 1, architecture: dict | None = None) -> torch.nn.Module:
    """The generator fitted to ``spec["image"]`` in ``A``'s image domain (see the module docstring).

    Args:
        prior: generator name, as the cell's method.
        spec: ``{"image": str, "iterations": int}`` from the suite.
        A: the cell's operator; the source image gets its ``in_shape[-2:]`` and its real/complex domain.
        seed: initialisation seed of the source fit.
        data_dir: folder that relative image paths are read from.
        ensemble: members fitted (and handed on) per source, as the cell's ``ensemble``.
        architecture: the cell's generator keywords (``csprior.reconstruct``), so the source fits it.
    """
    if not isinstance(spec, dict) or set(spec) != _KEYS:
        raise ValueError(f"warm_start must be a table with keys {sorted(_KEYS)}, got {spec!r}")
    iterations = spec["iterations"]
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"warm_start.iterations must be a positive int, got {iterations!r}")
    image = str(spec["image"])
    if data_dir is not None and not Path(image).is_absolute() and (data_dir / image).exists():
        image = str(data_dir / image)
    return _fitted(prior, image, iterations, tuple(A.in_shape), A.is_complex, seed, ensemble,
                   tuple(sorted((architecture or {}).items())))


@functools.lru_cache(maxsize=8)
def _fitted(prior: str, image: str, iterations: int, in_shape: tuple[int, ...], is_complex: bool, seed: int,
            ensemble: int, architecture: tuple) -> torch.nn.Module:
    if len(in_shape) != 2:
        raise ValueError(f"warm_start needs a problem whose image is (H, W); this operator's input is {in_shape}")
    return fit_source(load_image(image, size=in_shape)[0, 0], prior, complex_domain=is_complex,
                      iterations=iterations, seed=seed, ensemble=ensemble, architecture=dict(architecture),
                      device="cpu")
