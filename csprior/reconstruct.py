"""The reconstruction engine: fit an untrained generator G(θ) so that A(G(θ)) matches y.

``reconstruct`` minimises ``||A G(θ) - y||²`` (mean over the fitted measurements) with Adam,
watches the fit with an early-stopping rule (``csprior.stopping``) and returns a ``Result``.
Generator channels become operator inputs in ``csprior.channels`` (the one documented place).

A leading batch dimension of ``y`` means independent problems: each gets its own generator (seed
``seed + index``), its own held-out split and its own stopping rule. With ``ensemble=K`` every
problem is fitted K times from different initialisations (member ``k`` uses the generator seed
``seed + index + k * ENSEMBLE_SEED_STRIDE``) and the average of the K outputs is what is
watched, stopped and returned; with ``ensemble_mode="independent"`` the K members are instead K
copies of the problem fitted as a batch (seeds ``seed + index + k``, so each has its own held-out
split, stop and λ) and their returned images are averaged.

All fits of one call run in lockstep, one iteration for every fit at a time. For the named priors
``"deep-decoder"`` and ``"conv-decoder"`` the P·K generators are stacked into one vectorised network
(``csprior.generators.batched``); their loss is the SUM of the per-fit losses, so each fit gets the
gradient of its own problem and one Adam over the stacked parameters takes P·K independent steps.
On CPU, ConvDecoders of at least 128×128 pixels are the exception: there the problems are fitted one
after another (each with its K members stacked): the grouped network took 4 to 17 % longer per iteration there.
A problem whose rule stops keeps its best iterate and its fits are dropped from the stack, so the
remaining fits run faster; the loop ends when every problem has stopped or the budget is spent.
Other priors (``"dip"``, a user's module) fit one problem after another, its K members in lockstep.

Inside ``csprior.resumable.resumable(folder)`` every group of fits saves its state as it runs and
its results when it ends, so an interrupted call run again continues from the last save.

Recovery from a non-finite loss is collective: when any running fit produces NaN/Inf, every
running fit is restored to the last snapshot (taken every 50 iterations and whenever fits are
dropped) and the learning rate of all of them is halved; after 5 recoveries the remaining problems
stop with reason ``"diverged"``.
"""
from __future__ import annotations

import copy
import logging
import math
import sys
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from csprior import metrics, resumable
from csprior.channels import channels_for, channels_to_input
from csprior.defaults import default_recipe, recipe_architecture, recipe_prior
from csprior.fit_arguments import check_fit_arguments
from csprior.freed_memory import keep_freed_memory
from csprior.holdout import split_measurements
from csprior.hybrid import choose_tv_weight, smoothed_tv
from csprior.operators import Identity, LinearOperator, check_tensor
from csprior.result import Result
from csprior.stopping import StoppingRule, make_stopping_rule
from csprior.warm_start import load_warm_start, members_of, resolve_warm_start
from csprior.wiener import check_noise_std, refine_denoised

log = logging.getLogger(__name__)

# Authors' settings: Deep Decoder (Heckel & Hand 2019) Adam lr 0.01; ConvDecoder (Darestani &
# Heckel 2021) Adam lr 0.008; Deep Image Prior (Ulyanov et al. 2018, denoising) lr 0.01 with
# input noise σ = 1/30 and exponential averaging 0.99 of the outputs.
PRIOR_DEFAULTS = {
    "deep-decoder": {"lr": 0.01, "iterations": 3000, "input_noise": 0.0, "ema": None},
    "conv-decoder": {"lr": 0.008, "iterations": 3000, "input_noise": 0.0, "ema": None},
    "dip": {"lr": 0.01, "iterations": 3000, "input_noise": 1 / 30, "ema": 0.99},
}
_SNAPSHOT_EVERY = 50
_MAX_RECOVERIES = 5
ENSEMBLE_SEED_STRIDE = 1_000_003  # keeps ensemble members clear of the seeds of neighbouring problems


@dataclass
class FitSettings:
    """Resolved hyper-parameters of one fit (see ``reconstruct`` for their meaning)."""

    iterations: int
    lr: float
    optimizer: str
    input_noise: float
    input_noise_anneal: bool
    ema: float | None
    holdout_fraction: float
    scale: bool
    data_consistency: bool
    metrics_every: int
    progress: bool
    ensemble: int = 1
    architecture: dict = field(default_factory=dict)


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _runs_on_cpu(device) -> bool:
    return (torch.device(device) if device is not None else default_device()).type == "cpu"


def build_prior(prior, A: LinearOperator, seed: int, architecture: dict | None = None) -> nn.Module:
    """A generator whose output fits ``A.in_shape``: a name is built with the papers' defaults,
    replaced by ``architecture`` (constructor keywords such as ``channels``, ``depth``,
    ``upsample``); a module is deep-copied so every problem gets its own parameters."""
    if isinstance(prior, nn.Module):
        if architecture:
            raise ValueError("architecture applies to a named prior; a module is used as it is")
        return copy.deepcopy(prior)
    if not isinstance(prior, str):
        raise TypeError(f"prior must be a generator module or a name, got {type(prior).__name__}")
    from csprior.generators import build_generator  # generators import torch.nn only; kept lazy for start-up

    return build_generator(prior, A.in_shape[-2:], out_channels=channels_for(A),
                           sigmoid=not A.is_complex, seed=seed, **(architecture or {}))


def reconstruct(y: torch.Tensor, A: LinearOperator, prior=None, *, iterations: int | None = None,
                lr: float | None = None, optimizer: str = "adam", input_noise: float | None = None,
                input_noise_anneal: bool = False,
                ema: float | None = None, early_stopping="holdout", holdout_fraction: float = 0.1,
                patience: int | None = 500, x_true: torch.Tensor | None = None, callback=None,
                device=None, seed: int = 0, progress: bool = True, scale="auto",
                data_consistency: bool = False, metrics_every: int = 10, ensemble: int | None = None,
                tv_weight=None, warm_start=None, architecture: dict | None = None,
                ensemble_mode: str | None = None, wiener: bool | None = None,
                noise_std: float | None = None) -> Result:
    """Reconstruct ``x`` from ``y = A x (+ noise)`` with an untrained generator prior.

    Args:
        y: measurements ``(*batch, *A.out_shape)`` of ``A``'s output dtype; a leading batch holds
            independent problems (fitted together, see the module docstring).
        A: the measurement operator; the result lives in its input domain ``A.in_shape``.
        prior: ``"deep-decoder"``, ``"conv-decoder"``, ``"dip"`` (the papers' settings), a
            sequence of those names (an independent ensemble whose members are split between them,
            ``member_priors``; each name keeps its own learning rate) or a
            generator module whose ``forward(input=None)`` returns ``(1, C, H, W)``; None runs
            csprior's strongest recipe for ``A`` (``csprior.defaults``: the Deep Decoder for real
            images, 128 channels wide when ``A`` has under 40 % as many measurements as unknowns and
            else an independent ensemble of two Deep Decoders and two ConvDecoders, the
            ConvDecoder for complex ones, with the TV hybrid; ``iterations``, ``ema``,
            ``tv_weight`` and ``warm_start`` left at None take the recipe's values, ``architecture``
            keywords replace the recipe's one by one; with ``warm_start`` or ``architecture`` given
            the ensemble is of Deep Decoders alone).
        iterations: maximum iterations (prior's default, 3000; the recipe's 6000 without a prior).
        lr: learning rate (prior's default).
        optimizer: ``"adam"`` or ``"sgd"`` (SGD with momentum 0.9, as in the paper's figures).
        input_noise: std of fresh Gaussian noise added to the generator input each iteration.
        input_noise_anneal: lower that std linearly to 0 over the iteration budget
            (``input_noise · (1 − t / iterations)`` at iteration t).
        ema: exponential averaging factor of the outputs (e.g. 0.99); the (bias-corrected) average is
            what stops and is returned.
        early_stopping: ``"holdout"`` (a seeded ``holdout_fraction`` of the measurements is left out;
            stop where their residual is lowest), ``"wmv"`` (windowed moving variance), ``"fixed"``,
            ``"oracle"`` (best PSNR against ``x_true``; analysis only) or a ``StoppingRule`` (copied
            for each problem of a batch).
        holdout_fraction: share of measurements held out by ``"holdout"``.
        patience: iterations without improvement before the rule stops (None: run the budget).
        x_true: reference ``(*batch, *A.in_shape)``; adds PSNR (every iteration) and SSIM (every
            ``metrics_every``) to the history.
        callback: called as ``callback(iteration, image, record)`` after every iteration of every
            running problem (in problem order within an iteration).
        device: torch device; default CUDA when available, else CPU.
        seed: seeds the generator, the held-out split and the input noise.
        progress: show a tqdm bar (only on a terminal).
        scale: ``"auto"`` (scale complex data so that ``A^H y`` has the norm of the untrained
            generator's output, as ConvDecoder's authors do; real images in [0, 1] are left as they
            are), True or False. Ensemble members share the scale of member 0.
        data_consistency: replace the result by ``x + A^H (y - A x)``: the measured k-space values are
            put back (exact for partial Fourier, and for multi-coil with maps normalised to
            ``Σ|S|² = 1``).
        metrics_every: SSIM interval when ``x_true`` is given.
        ensemble: number K of fits from different random initialisations per problem, averaged
            (see ``ensemble_mode``); None: 1 for a named prior, the recipe's choice when ``prior``
            is None. K > 1 needs a named prior.
        ensemble_mode: ``"joint"``: the K members share one held-out split and their average output
            is watched by one stopping rule and returned. ``"independent"``: each member is fitted
            as a problem of its own (member k of problem i with ``seed + i + k``: its own
            initialisation, held-out split, stop and, with ``tv_weight="holdout"``, λ) and the K
            returned images are averaged, so that together the members use every measurement
            (denoising 128², σ = 25/255: +0.3 dB over ``"joint"``, README "Measured results").
            None: ``"joint"``, or the recipe's choice when ``prior`` is None.
        tv_weight: λ ≥ 0 of the hybrid objective ``mean‖A G(θ) − y‖² + λ·mean TV(G(θ))``
            (``csprior.hybrid``); ``"holdout"``: λ chosen from ``csprior.hybrid.tv_weight_grid(A)``
            on the held-out measurements (one fit per candidate); a sequence of G weights: a sweep
            of one problem (``y`` without a batch axis), one fit per weight from the same seed and
            the same held-out split, fitted together, returned as a batch of G results; None: 0 for
            a named prior, the recipe's choice when ``prior`` is None.
        warm_start: a fitted generator (``Result.generator`` of an earlier call, or a generator
            module of the same architecture) whose weights and input start every fit instead of a
            random initialisation; a K-member ensemble is started member by member from a K-member
            ``Result.generator``, or every member from a single one; ``"phantom"`` fits the prior to
            scikit-image's Shepp–Logan phantom first (1000 iterations) and starts from that.
        architecture: constructor keywords of a named prior replacing its defaults, e.g.
            ``{"channels": 128, "depth": 4, "upsample": "nearest"}`` (``csprior.build_generator``).
        wiener: denoising only (``A`` an ``Identity`` on real images): refine the generator's image
            by an empirical Wiener filter in sliding 8×8 DCT windows that uses it as the pilot
            (``csprior.wiener``, BM3D's second step without block matching); None or False: off.
            Not in the recipe: the same filter iterated from the noisy image alone
            (``csprior.baselines.dct_wiener``) reaches about as much (README "Measured results").
        noise_std: the noise standard deviation the Wiener refinement assumes; None estimates it
            from ``y`` (median absolute Haar detail).

    Returns:
        ``Result`` with ``image`` ``(*batch, *A.in_shape)`` (float32 or complex64), the history
        (``loss`` (mean over the ensemble's fit losses), ``holdout_loss``, ``psnr``, ``ssim``,
        ``ssim_iteration``; member 0's for an independent ensemble, whose ``params["members"]``
        lists every member's prior, stop and λ and whose ``stop_iteration`` is the members' mean), the
        returned iteration and the reason, the fitted ``generator`` (as it
        was when its fit ended; of a mixed ensemble, the members of its first prior), wall time (a problem fitted together with others gets an equal
        share of the joint fit's time) and parameter count (of all K members); batched inputs also
        carry ``problems``. With ``wiener`` the image is the refined one and ``params["wiener"]``
        holds the noise level used (and, given ``x_true``, the PSNR of the generator's image).
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a csprior.operators.LinearOperator, got {type(A).__name__}")
    check_tensor(y, A.out_shape, A.out_dtype if A.out_dtype is not None else A.in_dtype, "y")
    batch = tuple(y.shape[:y.ndim - len(A.out_shape)])
    if math.prod(batch) == 0:
        raise ValueError(f"y must hold at least one problem, got shape {tuple(y.shape)}")
    truths = _check_truth(x_true, A, batch)
    check_fit_arguments(iterations=iterations, lr=lr, optimizer=optimizer, input_noise=input_noise, ema=ema,
                        holdout_fraction=holdout_fraction, patience=patience, metrics_every=metrics_every,
                        scale=scale, architecture=architecture)
    make_stopping_rule(early_stopping, patience=patience, has_truth=truths is not None)  # its errors, before any fit
    if _runs_on_cpu(device):
        keep_freed_memory()  # every iteration's buffers reused instead of page-faulted back
    if prior is None:
        recipe = default_recipe(A)
        # a caller's warm start or architecture describes one generator: the recipe's single prior
        one_architecture = warm_start is not None or bool(architecture)
        prior = recipe["prior"]
        iterations = recipe["iterations"] if iterations is None else iterations
        ema = recipe["ema"] if ema is None else ema
        tv_weight = recipe["tv_weight"] if tv_weight is None else tv_weight
        if architecture is None or isinstance(architecture, dict):  # a bad type is named further on
            architecture = recipe_architecture(A, architecture)
        if warm_start is None and len(A.in_shape) == 2:  # the phantom is one (H, W) image
            warm_start = recipe["warm_start"]
        if not isinstance(tv_weight, (list, tuple)):  # a λ sweep cannot be an independent ensemble
            ensemble = recipe["ensemble"] if ensemble is None else ensemble
            ensemble_mode = recipe["ensemble_mode"] if ensemble_mode is None else ensemble_mode
        if not one_architecture:
            prior = recipe_prior(recipe, ensemble, ensemble_mode)
    wiener = _check_wiener(False if wiener is None else wiener, A, y, noise_std)
    ensemble = 1 if ensemble is None else ensemble
    ensemble_mode = "joint" if ensemble_mode is None else ensemble_mode
    if _check_ensemble(ensemble, ensemble_mode, prior, tv_weight) == "independent" and ensemble > 1:
        return _refined(wiener, y, A, noise_std, truths, _independent_ensemble(
            y, A, prior, batch, ensemble, truths, seed=seed, iterations=iterations, lr=lr, optimizer=optimizer,
            input_noise=input_noise, input_noise_anneal=input_noise_anneal, ema=ema,
            early_stopping=early_stopping, holdout_fraction=holdout_fraction, patience=patience,
            callback=callback, device=device, progress=progress, scale=scale,
            data_consistency=data_consistency, metrics_every=metrics_every, tv_weight=tv_weight,
            warm_start=warm_start, architecture=architecture))
    tv_weight = 0.0 if tv_weight is None else tv_weight
    warm_start = resolve_warm_start(warm_start, A, prior, seed=seed, architecture=architecture, device=device)
    if tv_weight == "holdout":
        return _refined(wiener, y, A, noise_std, truths, _reconstruct_choosing_tv_weight(
            y, A, prior, batch, iterations=iterations, lr=lr, optimizer=optimizer, input_noise=input_noise,
            input_noise_anneal=input_noise_anneal,
            ema=ema, early_stopping=early_stopping, holdout_fraction=holdout_fraction, patience=patience,
            x_true=x_true, callback=callback, device=device, seed=seed, progress=progress, scale=scale,
            data_consistency=data_consistency, metrics_every=metrics_every, ensemble=ensemble,
            warm_start=warm_start, architecture=architecture))
    weights = _tv_weights(tv_weight, batch)
    settings = _resolve_settings(prior, iterations=iterations, lr=lr, optimizer=optimizer,
                                 input_noise=input_noise, input_noise_anneal=input_noise_anneal, ema=ema,
                                 holdout_fraction=holdout_fraction, scale=scale,
                                 data_consistency=data_consistency, metrics_every=metrics_every,
                                 progress=progress, ensemble=ensemble, A=A, architecture=architecture)
    device = torch.device(device) if device is not None else default_device()
    A.to(device)
    problems = y.reshape(-1, *A.out_shape).to(device)
    truths = None if truths is None else truths.to(device)
    if isinstance(tv_weight, (list, tuple)):  # a sweep: the one problem once per weight, one seed
        batch = (len(weights),)
        problems = problems.expand(len(weights), *A.out_shape)
        truths = None if truths is None else truths.expand(len(weights), *A.in_shape)
        seeds = [seed] * len(weights)
    else:
        seeds = [seed + index for index in range(len(problems))]
    rules = [make_stopping_rule(early_stopping, patience=patience, has_truth=truths is not None)
             for _ in range(len(problems))]
    if len(rules) > 1:  # a rule object given by the caller: every problem needs its own state
        rules = [copy.deepcopy(rule) for rule in rules]
    indices = list(range(len(problems)))
    groups = [indices] if _fits_in_lockstep(prior, A, device) else [[index] for index in indices]
    results = []
    for group in groups:
        results += _fit_group(problems[group], A, prior, settings, None if truths is None else truths[group],
                              [seeds[index] for index in group], [rules[index] for index in group], callback,
                              warm_start, [weights[index] for index in group])
    result = Result.stack(results)
    result.image = result.image.reshape(*batch, *A.in_shape)
    return _refined(wiener, y, A, noise_std, truths, result)


ENSEMBLE_MODES = ("joint", "independent")


def _check_wiener(wiener, A: LinearOperator, y: torch.Tensor, noise_std) -> bool:
    """Validate ``wiener`` and ``noise_std``; returns whether to refine."""
    if not isinstance(wiener, bool):
        raise ValueError(f"wiener must be True, False or None, got {wiener!r}")
    if wiener and not isinstance(A, Identity):
        raise ValueError(f"wiener=True refines denoised images: A must be csprior.operators.Identity, got {type(A).__name__}")
    if wiener and y.is_complex():
        raise ValueError("wiener=True refines real images: y must be real, got complex data")
    check_noise_std(noise_std)
    return wiener


def _refined(wiener: bool, y, A: LinearOperator, noise_std, truths, result: Result) -> Result:
    return refine_denoised(result, y, A, noise_std, truths) if wiener else result


def _check_ensemble(ensemble, ensemble_mode, prior, tv_weight) -> str:
    """Validate the ensemble keywords; returns ``ensemble_mode``."""
    if isinstance(ensemble, bool) or not isinstance(ensemble, int) or ensemble < 1:
        raise ValueError(f"ensemble must be an int >= 1, got {ensemble!r}")
    if ensemble_mode not in ENSEMBLE_MODES:
        raise ValueError(f"ensemble_mode must be one of {ENSEMBLE_MODES}, got {ensemble_mode!r}")
    if isinstance(prior, (list, tuple)):
        _check_mixed_priors(prior, ensemble, ensemble_mode)
        return ensemble_mode
    if ensemble > 1 and not isinstance(prior, str):
        raise ValueError("ensemble > 1 needs a named prior (a module cannot be re-initialised from "
                         "other seeds); pass e.g. prior=\"deep-decoder\"")
    if ensemble > 1 and ensemble_mode == "independent" and isinstance(tv_weight, (list, tuple)):
        raise ValueError("a tv_weight sweep fits one problem with one seed; it cannot be combined with "
                         "ensemble_mode=\"independent\" (give one weight or \"holdout\")")
    return ensemble_mode


def _check_mixed_priors(priors, ensemble: int, ensemble_mode: str) -> None:
    """A sequence of prior names is an independent ensemble with at least one member per name."""
    if not priors or not all(isinstance(name, str) and name in PRIOR_DEFAULTS for name in priors):
        raise ValueError(f"prior: a sequence must hold names among {sorted(PRIOR_DEFAULTS)}, got {priors!r}")
    if ensemble_mode != "independent" or ensemble < len(priors):
        raise ValueError(f"prior: a sequence of {len(priors)} names mixes the members of an independent "
                         f"ensemble; it needs ensemble_mode=\"independent\" and ensemble >= {len(priors)}, "
                         f"got {ensemble_mode!r} and {ensemble}")


def member_priors(prior, members: int) -> list[tuple[str, int]]:
    """``(name, count)`` blocks of an independent ensemble: one name gets all ``members``; a sequence
    of names splits them into consecutive blocks as even as possible, earlier names taking the
    remainder (``("deep-decoder", "conv-decoder")`` with 5 members: 3 and 2)."""
    names = [prior] if isinstance(prior, str) else list(prior)
    share, extra = divmod(members, len(names))
    return [(name, share + (index < extra)) for index, name in enumerate(names)]


def _independent_ensemble(y, A, prior, batch, members: int, truths, *, seed: int, **kwargs) -> Result:
    """``ensemble_mode="independent"``: problem ``i`` is fitted as ``members`` copies, batches of
    problems (one per named prior, ``member_priors``) with seeds ``seed + i + k`` for member ``k``,
    and the copies' images ``(members, *A.in_shape)`` are averaged; returns one result per problem
    as ``reconstruct`` does."""
    problems = y.reshape(-1, *A.out_shape)
    results = []
    for index, y_one in enumerate(problems):
        blocks, first_member = [], 0
        for name, count in member_priors(prior, members):
            copies = y_one.expand(count, *A.out_shape)
            truth = None if truths is None else truths[index].expand(count, *A.in_shape)
            blocks.append(reconstruct(copies, A, name, x_true=truth, seed=seed + index + first_member, ensemble=1,
                                      **kwargs))
            first_member += count
        results.append(_average_of_members(blocks, A.in_shape))
    result = Result.stack(results)
    result.image = result.image.reshape(*batch, *A.in_shape)
    return result


def _average_of_members(blocks: list[Result], in_shape) -> Result:
    """One result from the blocks (one per named prior) of independently fitted copies of one problem."""
    members = [member for block in blocks for member in (block.problems or [block])]
    first = members[0]
    summary = [{"seed_offset": k, "prior": m.method, "stop_iteration": m.stop_iteration,
                "stop_reason": m.stop_reason, "tv_weight": m.params.get("tv_weight")} for k, m in enumerate(members)]
    reasons = sorted({m.stop_reason for m in members})
    counts = [m.n_parameters for m in members]
    images = torch.cat([block.image.reshape(-1, *in_shape) for block in blocks])
    return Result(image=images.mean(dim=0), history=first.history,
                  stop_iteration=round(sum(m.stop_iteration for m in members) / len(members)),
                  stop_reason=reasons[0] if len(reasons) == 1 else "/".join(reasons),
                  seconds=sum(block.seconds for block in blocks),
                  method="+".join(dict.fromkeys(m.method for m in members)),
                  params={**first.params, "ensemble": len(members), "ensemble_mode": "independent",
                          "members": summary},
                  n_parameters=None if None in counts else sum(counts),
                  generator=blocks[0].generator)


def _tv_weights(tv_weight, batch: tuple[int, ...]) -> list[float]:
    """One λ per fitted problem: the sweep's weights, or the one weight repeated over the batch."""
    weights = list(tv_weight) if isinstance(tv_weight, (list, tuple)) else [tv_weight] * math.prod(batch)
    if isinstance(tv_weight, (list, tuple)) and (batch or not weights):
        raise ValueError("a sequence of tv_weight sweeps one problem: y must have no batch axis "
                         f"(got batch {batch}) and the sequence must not be empty")
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise ValueError(f'tv_weight must be a number >= 0, a sequence of them or "holdout", got {tv_weight!r}')
    return [float(weight) for weight in weights]


VECTORISED_PRIORS = ("deep-decoder", "conv-decoder")
# From this many pixels up, ConvDecoders fitted one problem after another beat one grouped network on
# CPU. A λ sweep of five, 8 coils, ms per iteration stacked / one after another (one thread; two):
# 64² 82 / 88 (47 / 55), 96² 165 / 161 (96 / 98), 128² 282 / 270 (167 / 157), 180×230 697 / 633
# (413 / 360), 256² 1125 / 988 (654 / 560); python -m csprior.benchmarks.sweep_grouping, speed.md.
# Not where the operator's cost is amortised over the batch (``A.batch_amortised``): through a stored
# Gaussian matrix at 128², the same sweep took 1.45 / 1.21 / 1.07 times as long one after another at
# 50 / 25 / 10 % measurements (two threads; python -m csprior.benchmarks.dense_products --fit).
_LOOP_CONV_DECODERS_FROM_PIXELS = 128 * 128


def _fits_in_lockstep(prior, A: LinearOperator, device: torch.device) -> bool:
    """Whether the problems of one call are fitted as one stacked network (else one after another)."""
    if prior not in VECTORISED_PRIORS:
        return False
    large = math.prod(A.in_shape[-2:]) >= _LOOP_CONV_DECODERS_FROM_PIXELS
    return not (prior == "conv-decoder" and large and _runs_on_cpu(device) and not A.batch_amortised)


def _reconstruct_choosing_tv_weight(y, A, prior, batch, *, x_true, seed, **kwargs) -> Result:
    """``tv_weight="holdout"``: each problem of the batch gets its own λ (``csprior.hybrid``)."""

    problems = y.reshape(-1, *A.out_shape)
    truths = None if x_true is None else x_true.reshape(-1, *A.in_shape)
    results = [choose_tv_weight(y_one, A, prior, x_true=None if truths is None else truths[i], seed=seed + i,
                                **kwargs) for i, y_one in enumerate(problems)]
    result = Result.stack(results)
    result.image = result.image.reshape(*batch, *A.in_shape)
    return result


def _check_truth(x_true, A: LinearOperator, batch: tuple[int, ...]):
    if x_true is None:
        return None
    check_tensor(x_true, A.in_shape, None, "x_true")
    if tuple(x_true.shape) not in ((*batch, *A.in_shape), tuple(A.in_shape)):
        raise ValueError(f"x_true must have shape {(*batch, *A.in_shape)}, got {tuple(x_true.shape)}")
    return x_true.reshape(-1, *A.in_shape).expand(math.prod(batch), *A.in_shape)


def _resolve_settings(prior, *, A, iterations, lr, optimizer, input_noise, input_noise_anneal, ema,
                      holdout_fraction, scale, data_consistency, metrics_every, progress, ensemble,
                      architecture) -> FitSettings:
    """The prior's defaults filled in for the keywords left at None (already checked)."""
    defaults = PRIOR_DEFAULTS.get(prior, PRIOR_DEFAULTS["deep-decoder"]) if isinstance(prior, str) \
        else PRIOR_DEFAULTS["deep-decoder"]
    if isinstance(prior, str) and prior not in PRIOR_DEFAULTS:
        raise ValueError(f"prior must be one of {sorted(PRIOR_DEFAULTS)} or a module, got {prior!r}")
    iterations = defaults["iterations"] if iterations is None else iterations
    lr = defaults["lr"] if lr is None else float(lr)
    input_noise = defaults["input_noise"] if input_noise is None else float(input_noise)
    ema = defaults["ema"] if ema is None else ema
    return FitSettings(iterations=iterations, lr=lr, optimizer=optimizer,
                       input_noise=input_noise,
                       input_noise_anneal=bool(input_noise_anneal),
                       ema=ema, holdout_fraction=holdout_fraction, scale=A.is_complex if scale == "auto" else bool(scale),
                       data_consistency=data_consistency, metrics_every=metrics_every,
                       progress=progress, ensemble=ensemble,
                       architecture=dict(architecture or {}))


def _make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


def _stack(generators: list[nn.Module]) -> nn.Module:
    from csprior.generators.batched import LoopedGenerators, can_stack, stack_generators  # lazy like build_prior

    if all(can_stack(g) for g in generators):
        return stack_generators(generators)
    return LoopedGenerators(generators)


def _member_seed(seed: int, member: int) -> int:
    return seed + member * ENSEMBLE_SEED_STRIDE


class _Problem:
    """One problem of a group: its data, masks, stopping rule, history and outcome."""

    def __init__(self, y, A, settings: FitSettings, seed: int, truth, rule: StoppingRule, tv_weight: float):
        self.y, self.truth, self.rule, self.tv_weight = y, truth, rule, tv_weight
        self.data_range = None if truth is None else _data_range(truth)
        measured = A.measured
        self.fit_w = torch.ones(A.out_shape, device=y.device) if measured is None else measured.to(y.device).float()
        self.held_w = None
        if rule.needs_holdout:
            split = split_measurements(A, y, settings.holdout_fraction, seed)
            self.fit_w, self.held_w = split.fit_mask.float(), split.held_mask.float()
        self.history: dict[str, list[float]] = {"loss": []}
        self.average = None
        self.measured_average = None  # the same average of A(x): A is linear, so it is A(average)
        self.averaged = 0
        self.scale = 1.0
        self.reason = None
        self.iterations_run = 0
        self.final_lr = settings.lr
        self.recoveries = 0
        self.generator = None


class _Group:
    """P problems × K ensemble members fitted in lockstep; fit ``b`` belongs to problem ``b // K``."""

    def __init__(self, ys, A, prior, settings: FitSettings, truths, seeds: list[int], rules: list[StoppingRule],
                 warm_start: nn.Module | None, tv_weights: list[float]):
        self.A, self.settings, self.k = A, settings, settings.ensemble
        device = ys.device
        self.problems = [_Problem(y, A, settings, seed, None if truths is None else truths[i], rule, weight)
                         for i, (y, seed, rule, weight) in enumerate(zip(ys, seeds, rules, tv_weights))]
        member_seeds = [_member_seed(seed, k) for seed in seeds for k in range(self.k)]
        self.generator = _stack([build_prior(prior, A, s, settings.architecture) for s in member_seeds]).to(device)
        if warm_start is not None:
            load_warm_start(self.generator, warm_start, self.k)
        self.generator.train()
        self.noise = [torch.Generator(device=device).manual_seed(s) for s in member_seeds]
        self.running = list(range(len(self.problems)))
        if settings.scale:
            self._set_scales(ys)
        self.lr = settings.lr
        self._gather()
        self.optimizer = _make_optimizer(settings.optimizer, self.generator.parameters(), self.lr)
        self.snapshot = copy.deepcopy(self.generator.state_dict())

    def __getstate__(self) -> dict:
        """What ``csprior.resumable`` saves: everything but the operator, which the caller holds
        (a dense one can be gigabytes) and sets again on load."""
        return {name: value for name, value in self.__dict__.items() if name != "A"}

    @torch.no_grad()
    def _set_scales(self, ys) -> None:
        outputs = self.images(self.generator())
        for problem, output, y in zip(self.problems, outputs[::self.k], ys):
            denominator = float(torch.linalg.vector_norm(self.A.adjoint(y, check=False)))
            problem.scale = float(torch.linalg.vector_norm(output)) / denominator if denominator > 0 else 1.0

    def _gather(self) -> None:
        """Per-fit tensors of the running problems, each repeated for the K members."""
        running = [self.problems[p] for p in self.running]

        def per_fit(values):
            return torch.stack(values).repeat_interleave(self.k, dim=0)
        self.y = per_fit([p.y * p.scale for p in running])
        self.fit_w = per_fit([p.fit_w for p in running])
        self.n_fit = self.fit_w.flatten(1).sum(1)
        weights = [p.tv_weight for p in running]
        self.tv_weight = per_fit([torch.tensor(w, device=self.y.device) for w in weights]) if any(weights) else None

    def images(self, outputs: torch.Tensor) -> torch.Tensor:
        """Generator outputs ``(B, C, H, W)`` as operator inputs ``(B, *A.in_shape)``."""
        return torch.stack([channels_to_input(output.unsqueeze(0), self.A) for output in outputs])

    def forward(self, iteration: int) -> torch.Tensor:
        net_input = None
        std = self.settings.input_noise
        if self.settings.input_noise_anneal:
            std *= 1 - iteration / self.settings.iterations
        if std:
            base = self.generator.net_input
            noise = torch.stack([torch.randn(base.shape[1:], generator=self.noise[b], device=base.device)
                                 for b in range(base.shape[0])])
            net_input = base + std * noise
        return self.images(self.generator(net_input))

    def keep_generators(self, problems: list[_Problem]) -> None:
        """Store each running problem's fitted members (``Result.generator``) before they leave the stack."""
        for i, p in enumerate(self.running):
            if self.problems[p] in problems:
                self.problems[p].generator = members_of(self.generator, range(i * self.k, (i + 1) * self.k))

    def drop_stopped(self) -> None:
        """Remove the fits of problems that stopped from the stack (and from the optimizer)."""
        keep_problems = [p for p in self.running if self.problems[p].reason is None]
        keep = [i * self.k + k for i, p in enumerate(self.running) if self.problems[p].reason is None
                for k in range(self.k)]
        old_generator, old_optimizer = self.generator, self.optimizer
        self.generator = old_generator.select(keep)
        self.noise = [self.noise[b] for b in keep]
        self.optimizer = _make_optimizer(self.settings.optimizer, self.generator.parameters(), self.lr)
        index = torch.as_tensor(keep, device=self.y.device)
        for old, new in zip(old_generator.parameters(), self.generator.parameters()):
            state = old_optimizer.state.get(old)
            if state:
                self.optimizer.state[new] = {name: value[index] if torch.is_tensor(value) and value.ndim else value
                                             for name, value in state.items()}
        self.running = keep_problems
        self._gather()
        self.snapshot = copy.deepcopy(self.generator.state_dict())

    def recover(self) -> None:
        """Restore the last good parameters of every running fit and halve the learning rate."""
        self.generator.load_state_dict(self.snapshot)
        self.lr /= 2
        self.optimizer = _make_optimizer(self.settings.optimizer, self.generator.parameters(), self.lr)


def _fit_group(ys, A, prior, settings: FitSettings, truths, seeds: list[int], rules: list[StoppingRule],
               callback, warm_start, tv_weights: list[float]) -> list[Result]:
    slot = resumable.next_slot(ys.device, ys, truths, prior, settings, seeds, rules, warm_start, tv_weights)
    saved = None if slot is None else slot.saved
    if saved is not None and "results" in saved:
        return saved["results"]
    start = time.perf_counter() - (0.0 if saved is None else saved["seconds"])
    if saved is None:
        group, first, recoveries = _Group(ys, A, prior, settings, truths, seeds, rules, warm_start, tv_weights), 0, 0
    else:
        group, first, recoveries = _restored(saved, A)
    bar = tqdm(range(first, settings.iterations), disable=not settings.progress or not sys.stderr.isatty(),
               desc="fit", leave=False, initial=first, total=settings.iterations)
    for iteration in bar:
        if slot is not None and slot.due():
            slot.save_running({"group": group, "iteration": iteration, "recoveries": recoveries,
                               "seconds": time.perf_counter() - start})
        group.optimizer.zero_grad(set_to_none=True)
        x = group.forward(iteration)
        measured = A(x, check=False)
        power = (measured - group.y).abs().pow(2)
        losses = (power * group.fit_w).flatten(1).sum(1) / group.n_fit
        if group.tv_weight is not None:
            losses = losses + group.tv_weight * smoothed_tv(x, len(A.in_shape))
        if not bool(torch.isfinite(losses).all()):
            recoveries += 1
            log.warning("non-finite loss at iteration %d; restoring the last good state and halving "
                        "the learning rate to %.2e", iteration, group.lr / 2)
            if recoveries > _MAX_RECOVERIES:
                _stop_all(group, "diverged", iteration, recoveries)
                break
            group.recover()
            continue
        losses.sum().backward()
        group.optimizer.step()
        if iteration % _SNAPSHOT_EVERY == 0:
            group.snapshot = copy.deepcopy(group.generator.state_dict())
        with torch.no_grad():
            stopped = _watch(group, iteration, x.detach(), measured.detach(), power.detach(), losses.detach(),
                             callback)
        for problem in stopped:
            problem.final_lr, problem.recoveries = group.lr, recoveries
        group.keep_generators(stopped)
        if len(group.running) == len(stopped):
            break
        if stopped:
            group.drop_stopped()
        if iteration % 20 == 0:
            bar.set_postfix(loss=f"{group.problems[group.running[0]].history['loss'][-1]:.3e}")
    group.keep_generators([group.problems[p] for p in group.running if group.problems[p].generator is None])
    for problem in group.problems:
        if problem.reason is None:
            problem.reason = "max_iterations"
            problem.final_lr, problem.recoveries = group.lr, recoveries
    seconds = (time.perf_counter() - start) / len(group.problems)
    n_parameters = group.generator.n_parameters * settings.ensemble
    results = [_result(problem, A, prior, settings, seconds, n_parameters) for problem in group.problems]
    if slot is not None:
        slot.save_finished(results)
    return results


def _restored(saved: dict, A: LinearOperator) -> tuple[_Group, int, int]:
    """The group saved by ``csprior.resumable`` with its operator set again, the iteration to run
    next and the recoveries so far."""
    group = saved["group"]
    group.A = A
    return group, saved["iteration"], saved["recoveries"]


def _watch(group: _Group, iteration: int, x, measured, power, losses, callback) -> list[_Problem]:
    """Record the iteration of every running problem and update its rule; returns those that stopped."""
    settings, k = group.settings, group.k
    running = [group.problems[p] for p in group.running]
    scales = torch.tensor([p.scale for p in running], device=x.device)
    current = (x.unflatten(0, (len(running), k)).mean(1) if k > 1 else x) / _expand(scales, x.ndim)
    measured = measured.unflatten(0, (len(running), k)).mean(1) if k > 1 else measured
    if settings.ema is not None:
        current, measured = _exponential_averages(running, current, measured, settings.ema)
    held = _held_losses(group, running, measured, power)
    fit_losses = losses.unflatten(0, (len(running), k)).mean(1).tolist()
    stopped = []
    for i, problem in enumerate(running):
        record = {"loss": fit_losses[i]}
        if held is not None:
            record["holdout_loss"] = held[i]
        if problem.truth is not None:
            record["psnr"] = metrics.psnr(current[i], problem.truth, data_range=problem.data_range)
            if iteration % settings.metrics_every == 0:
                record["ssim"] = metrics.ssim(current[i], problem.truth, data_range=problem.data_range)
                record["ssim_iteration"] = iteration
        for key, value in record.items():
            problem.history.setdefault(key, []).append(value)
        if callback is not None:
            callback(iteration, current[i], record)
        problem.iterations_run = iteration + 1
        if problem.rule.update(iteration, current[i], held_loss=record.get("holdout_loss"), psnr=record.get("psnr")):
            problem.reason = problem.rule.name
            stopped.append(problem)
    return stopped


def _exponential_averages(running: list[_Problem], current, measured, ema: float):
    """Update and return the bias-corrected averages of the outputs and of their measurements."""
    for i, problem in enumerate(running):
        if problem.average is None:
            problem.average, problem.measured_average = (1 - ema) * current[i], (1 - ema) * measured[i]
        else:
            problem.average = ema * problem.average + (1 - ema) * current[i]
            problem.measured_average = ema * problem.measured_average + (1 - ema) * measured[i]
        problem.averaged += 1
    # bias-corrected (as Adam's moments): the zero start is divided out, so early iterates do not
    # keep the weight ema^t that starting from the first output would give them (DIP's code does
    # that: with ema 0.99 the random first output still weighs 37 % after 100 iterations)
    corrections = [1 - ema ** problem.averaged for problem in running]
    return (torch.stack([p.average / c for p, c in zip(running, corrections)]),
            torch.stack([p.measured_average / c for p, c in zip(running, corrections)]))


def _held_losses(group: _Group, running: list[_Problem], measured, power) -> list[float] | None:
    """Mean held-out residual per running problem, of the watched (averaged) output, in the fit's units.

    ``measured`` holds the measurements of the watched outputs (``A`` of the ensemble mean or of the
    exponential average, unscaled), so no further operator application is needed."""
    if running[0].held_w is None:
        return None
    held_w = torch.stack([problem.held_w for problem in running])
    if group.k > 1 or group.settings.ema is not None:
        power = (measured - group.y[::group.k]).abs().pow(2)  # group.y: each problem's scaled y, K times
    return ((power * held_w).flatten(1).sum(1) / held_w.flatten(1).sum(1)).tolist()


def _expand(values: torch.Tensor, ndim: int) -> torch.Tensor:
    return values.view(-1, *([1] * (ndim - 1)))


def _stop_all(group: _Group, reason: str, iteration: int, recoveries: int) -> None:
    for p in group.running:
        problem = group.problems[p]
        problem.reason, problem.iterations_run = reason, iteration + 1
        problem.final_lr, problem.recoveries = group.lr, recoveries


def _result(problem: _Problem, A, prior, settings: FitSettings, seconds: float, n_parameters: int) -> Result:
    rule = problem.rule
    image = rule.best_image
    if image is None:
        raise RuntimeError("the fit produced no finite iterate; try a smaller lr")
    if settings.data_consistency:
        image = image + A.adjoint(problem.y - A(image, check=False), check=False)
    reason = problem.reason
    if reason == "max_iterations" and rule.name not in ("fixed",):
        reason = f"max_iterations ({rule.name} best)"
    params = {"lr": settings.lr, "final_lr": problem.final_lr, "iterations": settings.iterations,
              "optimizer": settings.optimizer, "input_noise": settings.input_noise,
              "input_noise_anneal": settings.input_noise_anneal, "ema": settings.ema,
              "early_stopping": rule.name, "holdout_fraction": settings.holdout_fraction,
              "scale": problem.scale, "data_consistency": settings.data_consistency,
              "iterations_run": problem.iterations_run, "recoveries": problem.recoveries,
              "ensemble": settings.ensemble, "tv_weight": problem.tv_weight,
              "architecture": settings.architecture}
    return Result(image=image, history=problem.history, stop_iteration=rule.best_iteration, stop_reason=reason,
                  seconds=seconds, method=prior if isinstance(prior, str) else type(prior).__name__,
                  params=params, n_parameters=n_parameters, generator=problem.generator)


def _data_range(truth: torch.Tensor) -> float:
    """1 for real images in [0, 1] (natural images), else the magnitude maximum (MRI)."""
    if not truth.is_complex() and float(truth.min()) >= 0 and float(truth.max()) <= 1:
        return 1.0
    return float(truth.abs().max())
