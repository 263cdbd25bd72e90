"""Run a reconstruction method by name on a benchmark problem; every method returns a ``Result``.

A suite's method table gives the method (``method = "lasso"``) and its keyword arguments, passed
through unchanged, so a suite can set whatever the method takes:

- ``"deep-decoder+conv-decoder"`` (named priors joined by ``+``): ``csprior.reconstruct`` with
  that sequence of priors, an independent ensemble whose members are split between them (the suite
  gives ``ensemble`` and ``ensemble_mode = "independent"``).
- ``"auto"``: ``csprior.reconstruct`` with no prior, i.e. csprior's strongest recipe for the
  operator (``csprior.defaults``); it takes the same keywords as the named priors.
- ``"deep-decoder"``, ``"conv-decoder"``, ``"dip"``: ``csprior.reconstruct`` with that prior
  (``iterations``, ``lr``, ``early_stopping``, ``patience``, ``holdout_fraction``, ...);
  ``early_stopping = "oracle"`` hands the true image to the engine (labelled, for analysis only);
  ``warm_start = { image = ..., iterations = ... }`` starts the fit from a generator fitted to
  another image (``csprior.benchmarks.warm_source``).
- ``"least-squares"``, ``"zero-filled"``, ``"lasso"`` (``lam``, ``basis``), ``"tv"`` (``lam``):
  ``csprior.baselines``; ``lam = "oracle"`` hands the true image to the λ search.
- ``"dct-wiener"``: denoising only; iterated sliding-DCT Wiener filtering from the noisy image
  (``csprior.baselines.dct_wiener``, σ estimated from the image), the control of ``wiener``.
- ``"bm3d"``: denoising only (identity operator); σ is the problem's noise level. Needs the
  optional package ``bm3d``; ``unavailable_methods`` reports it when missing.
- ``wiener = true`` / ``false`` (denoising, any method): refine the method's image with the sliding
  DCT Wiener filter it guides (``csprior.wiener``, noise level estimated from the noisy image), as
  ``reconstruct(..., wiener=True)`` does. The record keeps the unrefined image's PSNR
  (``params["wiener"]["pilot_psnr"]``), so one run shows the refinement's gain.

Runs are on the CPU unless the method table sets ``device``, so that a rerun of a cell with the
same seed gives the same numbers.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from csprior.result import Result

from .problems import Problem
from .warm_source import source_generator

NAMED_PRIORS = ("deep-decoder", "conv-decoder", "dip")
GENERATOR_PRIORS = ("auto", *NAMED_PRIORS)
BASELINES = ("least-squares", "zero-filled", "lasso", "tv", "bm3d", "dct-wiener")
METHODS = GENERATOR_PRIORS + BASELINES
OPTIONAL_PACKAGES = {"bm3d": "bm3d"}


def unavailable_methods(names) -> dict[str, str]:
    """Methods among ``names`` whose optional package is missing: name -> note for the user."""
    missing = {}
    for name in set(names):
        package = OPTIONAL_PACKAGES.get(name)
        if package and importlib.util.find_spec(package) is None:
            missing[name] = (f"method {name!r} needs the optional package {package!r} "
                             f"(pip install \"csprior[{package}]\"); its cells are skipped")
    return missing


def run_method(spec: dict, problem: Problem, seed: int, data_dir: Path | None = None) -> Result:
    """Reconstruct ``problem`` with the method described by ``spec``.

    Args:
        spec: ``{"method": name, "label": ..., **keyword arguments}`` from the suite.
        problem: the inverse problem (see ``csprior.benchmarks.problems``).
        seed: seeds the method (generator initialisation, held-out split).
        data_dir: data folder that a ``warm_start`` image path is read from.

    Returns:
        the method's ``Result``; ``image`` has shape ``problem.A.in_shape``.
    """
    from csprior.wiener import refine_denoised

    name = spec["method"]
    kwargs = {k: v for k, v in spec.items() if k not in ("method", "label", "wiener")}
    if not known_method(name):
        raise ValueError(f"method must be one of {list(METHODS)} or named priors joined by '+', got {name!r}")
    wiener = spec.get("wiener", False)
    if not isinstance(wiener, bool):
        raise ValueError(f"wiener must be true or false, got {wiener!r}")
    if name in GENERATOR_PRIORS or _mixes_priors(name):
        result = _run_generator(name, {**kwargs, "wiener": False}, problem, seed, data_dir)
    else:
        result = _run_baseline(name, kwargs, problem, seed)
    # refined here rather than inside reconstruct (the same function) to record the unrefined PSNR too
    return refine_denoised(result, problem.y, problem.A, x_true=problem.x_true) if wiener else result


def _run_generator(prior: str, kwargs: dict, problem: Problem, seed: int, data_dir: Path | None) -> Result:
    from csprior.defaults import default_recipe, recipe_architecture
    from csprior.reconstruct import reconstruct

    kwargs.setdefault("device", "cpu")
    if "warm_start" in kwargs:
        if _mixes_priors(prior):
            raise ValueError(f"warm_start starts every member from one source generator; {prior!r} mixes architectures")
        source_prior, architecture = prior, kwargs.get("architecture")
        if prior == "auto":  # the source must have the architecture the recipe will fit
            source_prior = default_recipe(problem.A)["prior"]
            architecture = recipe_architecture(problem.A, architecture)
        # an independent ensemble fits its members as separate problems, each from one source
        members = kwargs.get("ensemble", 1) if kwargs.get("ensemble_mode", "joint") == "joint" else 1
        kwargs["warm_start"] = source_generator(source_prior, kwargs["warm_start"], problem.A, seed, data_dir,
                                                members, architecture)
    if kwargs.get("early_stopping") == "oracle":
        kwargs["x_true"] = problem.x_true
    prior = None if prior == "auto" else prior.split("+") if _mixes_priors(prior) else prior
    return reconstruct(problem.y, problem.A, prior, seed=seed, progress=False, **kwargs)


def known_method(name: str) -> bool:
    """Whether ``run_method`` runs ``name``: one of ``METHODS`` or named priors joined by ``+``."""
    return name in METHODS or _mixes_priors(name)


def _mixes_priors(name: str) -> bool:
    """Whether ``name`` joins several named priors with ``+`` (a mixed independent ensemble)."""
    names = name.split("+")
    return len(names) > 1 and all(part in NAMED_PRIORS for part in names)


def _run_baseline(name: str, kwargs: dict, problem: Problem, seed: int) -> Result:
    from csprior import baselines
    from csprior.operators import Identity

    y, A = problem.y, problem.A
    if kwargs.get("lam") == "oracle":
        kwargs["x_true"] = problem.x_true
    if name == "least-squares":
        return baselines.least_squares(y, A, **kwargs)
    if name == "zero-filled":
        return baselines.zero_filled(y, A, **kwargs)
    if name == "lasso":
        return baselines.lasso(y, A, seed=seed, **kwargs)
    if name == "tv":
        return baselines.tv(y, A, seed=seed, **kwargs)
    if name == "dct-wiener":
        if not isinstance(A, Identity):
            raise ValueError(f"dct-wiener is a denoiser: it needs an operator of kind 'denoise', got {type(A).__name__}")
        return baselines.dct_wiener(y, **kwargs)
    if problem.noise_std <= 0:
        raise ValueError("bm3d is a denoiser: it needs an operator of kind 'denoise' (noise σ > 0)")
    return baselines.bm3d(y, problem.noise_std, **kwargs)
