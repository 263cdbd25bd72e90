"""The reconstruction engine: fit an untrained generator G(θ) so that A(G(θ)) matches y.

``reconstruct`` minimises ``||A G(θ) - y||²`` (mean over the fitted measurements) with Adam,
watches the fit with an early-stopping rule (``csprior.stopping``) and returns a ``Result``.
Generator channels become operator inputs in ``csprior.channels`` (the one documented place).

A leading batch dimension of ``y`` means independent problems: each gets its own generator (seed
``seed + index``) and its own stopping; they are fitted one after another for now, behind the
batched API.
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

from csprior import metrics
from csprior.channels import channels_for, channels_to_input
from csprior.holdout import split_measurements
from csprior.operators import LinearOperator, check_tensor
from csprior.result import Result
from csprior.stopping import StoppingRule, make_stopping_rule

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


@dataclass
class FitSettings:
    """Resolved hyper-parameters of one fit (see ``reconstruct`` for their meaning)."""

    iterations: int
    lr: float
    optimizer: str
    input_noise: float
    ema: float | None
    early_stopping: object
    holdout_fraction: float
    patience: int | None
    scale: bool
    data_consistency: bool
    metrics_every: int
    progress: bool
    extra: dict = field(default_factory=dict)


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_prior(A: LinearOperator) -> str:
    """The prior ``reconstruct`` uses when none is given: ConvDecoder for complex (MRI) data,
    the Deep Decoder for real images."""
    return "conv-decoder" if A.is_complex else "deep-decoder"


def build_prior(prior, A: LinearOperator, seed: int) -> nn.Module:
    """A generator whose output fits ``A.in_shape``: a name is built with the papers' defaults,
    a module is deep-copied so every problem gets its own parameters."""
    if isinstance(prior, nn.Module):
        return copy.deepcopy(prior)
    if not isinstance(prior, str):
        raise TypeError(f"prior must be a generator module or a name, got {type(prior).__name__}")
    from csprior.generators import build_generator  # generators import torch.nn only; kept lazy for start-up

    return build_generator(prior, A.in_shape[-2:], out_channels=channels_for(A),
                           sigmoid=not A.is_complex, seed=seed)


def reconstruct(y: torch.Tensor, A: LinearOperator, prior=None, *, iterations: int | None = None,
                lr: float | None = None, optimizer: str = "adam", input_noise: float | None = None,
                ema: float | None = None, early_stopping="holdout", holdout_fraction: float = 0.1,
                patience: int | None = 500, x_true: torch.Tensor | None = None, callback=None,
                device=None, seed: int = 0, progress: bool = True, scale="auto",
                data_consistency: bool = False, metrics_every: int = 10) -> Result:
    """Reconstruct ``x`` from ``y = A x (+ noise)`` with an untrained generator prior.

    Args:
        y: measurements ``(*batch, *A.out_shape)`` of ``A``'s output dtype; a leading batch holds
            independent problems.
        A: the measurement operator; the result lives in its input domain ``A.in_shape``.
        prior: ``"deep-decoder"``, ``"conv-decoder"``, ``"dip"`` or a generator module whose
            ``forward(input=None)`` returns ``(1, C, H, W)``; default ``default_prior(A)``.
        iterations: maximum iterations (prior's default, 3000).
        lr: learning rate (prior's default).
        optimizer: ``"adam"`` or ``"sgd"`` (SGD with momentum 0.9, as in the paper's figures).
        input_noise: std of fresh Gaussian noise added to the generator input each iteration.
        ema: exponential averaging factor of the outputs (e.g. 0.99); the average is what stops and
            is returned.
        early_stopping: ``"holdout"`` (a seeded ``holdout_fraction`` of the measurements is left out;
            stop where their residual is lowest), ``"wmv"`` (windowed moving variance), ``"fixed"``,
            ``"oracle"`` (best PSNR against ``x_true``; analysis only) or a ``StoppingRule``.
        holdout_fraction: share of measurements held out by ``"holdout"``.
        patience: iterations without improvement before the rule stops (None: run the budget).
        x_true: reference ``(*batch, *A.in_shape)``; adds PSNR (every iteration) and SSIM (every
            ``metrics_every``) to the history.
        callback: called as ``callback(iteration, image, record)`` after every iteration.
        device: torch device; default CUDA when available, else CPU.
        seed: seeds the generator, the held-out split and the input noise.
        progress: show a tqdm bar (only on a terminal).
        scale: ``"auto"`` (scale complex data so that ``A^H y`` has the norm of the untrained
            generator's output, as ConvDecoder's authors do; real images in [0, 1] are left as they
            are), True or False.
        data_consistency: replace the result by ``x + A^H (y - A x)``: the measured k-space values are
            put back (exact for partial Fourier, and for multi-coil with maps normalised to
            ``Σ|S|² = 1``).
        metrics_every: SSIM interval when ``x_true`` is given.

    Returns:
        ``Result`` with ``image`` ``(*batch, *A.in_shape)`` (float32 or complex64), the history
        (``loss``, ``holdout_loss``, ``psnr``, ``ssim``, ``ssim_iteration``), the returned
        iteration and the reason, wall time and parameter count; batched inputs also carry
        ``problems``.
    """
    if not isinstance(A, LinearOperator):
        raise TypeError(f"A must be a csprior.operators.LinearOperator, got {type(A).__name__}")
    check_tensor(y, A.out_shape, A.out_dtype if A.out_dtype is not None else A.in_dtype, "y")
    batch = tuple(y.shape[:y.ndim - len(A.out_shape)])
    truths = _check_truth(x_true, A, batch)
    prior = default_prior(A) if prior is None else prior
    settings = _resolve_settings(prior, iterations=iterations, lr=lr, optimizer=optimizer,
                                 input_noise=input_noise, ema=ema, early_stopping=early_stopping,
                                 holdout_fraction=holdout_fraction, patience=patience, scale=scale,
                                 data_consistency=data_consistency, metrics_every=metrics_every,
                                 progress=progress, A=A)
    device = torch.device(device) if device is not None else default_device()
    A.to(device)
    problems = y.reshape(-1, *A.out_shape).to(device)
    results = []
    for index, y_one in enumerate(problems):
        truth = None if truths is None else truths[index].to(device)
        results.append(_fit_one(y_one, A, prior, settings, truth, seed + index, callback))
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


def _resolve_settings(prior, *, A, iterations, lr, optimizer, input_noise, ema, early_stopping,
                      holdout_fraction, patience, scale, data_consistency, metrics_every,
                      progress) -> FitSettings:
    defaults = PRIOR_DEFAULTS.get(prior, PRIOR_DEFAULTS["deep-decoder"]) if isinstance(prior, str) \
        else PRIOR_DEFAULTS["deep-decoder"]
    if isinstance(prior, str) and prior not in PRIOR_DEFAULTS:
        raise ValueError(f"prior must be one of {sorted(PRIOR_DEFAULTS)} or a module, got {prior!r}")
    iterations = defaults["iterations"] if iterations is None else int(iterations)
    lr = defaults["lr"] if lr is None else float(lr)
    if iterations < 1:
        raise ValueError(f"iterations must be positive, got {iterations}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f'optimizer must be "adam" or "sgd", got {optimizer!r}')
    ema = defaults["ema"] if ema is None else ema
    if ema is not None and not 0 <= ema < 1:
        raise ValueError(f"ema must be in [0, 1), got {ema}")
    if metrics_every < 1:
        raise ValueError(f"metrics_every must be positive, got {metrics_every}")
    if scale not in ("auto", True, False):
        raise ValueError(f'scale must be "auto", True or False, got {scale!r}')
    return FitSettings(iterations=iterations, lr=lr, optimizer=optimizer,
                       input_noise=defaults["input_noise"] if input_noise is None else float(input_noise),
                       ema=ema, early_stopping=early_stopping, holdout_fraction=holdout_fraction,
                       patience=patience, scale=A.is_complex if scale == "auto" else bool(scale),
                       data_consistency=data_consistency, metrics_every=metrics_every,
                       progress=progress)


def _make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


class _Fit:
    """State of one generator fit: the module, optimizer, masks and the last good snapshot."""

    def __init__(self, y, A, prior, settings: FitSettings, seed: int, has_truth: bool):
        self.A, self.settings = A, settings
        self.generator = build_prior(prior, A, seed).to(y.device)
        self.generator.train()
        self.noise_gen = torch.Generator(device=y.device).manual_seed(seed)
        self.rule: StoppingRule = make_stopping_rule(settings.early_stopping, patience=settings.patience,
                                                     has_truth=has_truth)
        measured = A.measured
        self.fit_w = torch.ones(A.out_shape, device=y.device) if measured is None else measured.to(y.device).float()
        self.held_w = None
        if self.rule.needs_holdout:
            split = split_measurements(A, y, settings.holdout_fraction, seed)
            self.fit_w, self.held_w = split.fit_mask.float(), split.held_mask.float()
        self.n_fit = float(self.fit_w.sum())
        self.scale = self._scale_factor(y) if settings.scale else 1.0
        self.y = y * self.scale
        self.lr = settings.lr
        self.optimizer = _make_optimizer(settings.optimizer, self.generator.parameters(), self.lr)
        self.snapshot = copy.deepcopy(self.generator.state_dict())

    @torch.no_grad()
    def _scale_factor(self, y) -> float:
        output = channels_to_input(self.generator(), self.A)
        backprojected = self.A.adjoint(y, check=False)
        denominator = float(torch.linalg.vector_norm(backprojected))
        return float(torch.linalg.vector_norm(output)) / denominator if denominator > 0 else 1.0

    def image(self) -> torch.Tensor:
        net_input = None
        if self.settings.input_noise:
            base = self.generator.net_input
            noise = torch.randn(base.shape, generator=self.noise_gen, device=base.device)
            net_input = base + self.settings.input_noise * noise
        output = self.generator() if net_input is None else self.generator(net_input)
        return channels_to_input(output, self.A)

    def residual_power(self, x) -> torch.Tensor:
        return (self.A(x, check=False) - self.y).abs().pow(2)

    def recover(self) -> None:
        """Restore the last good parameters and halve the learning rate after a NaN/Inf loss."""
        self.generator.load_state_dict(self.snapshot)
        self.lr /= 2
        self.optimizer = _make_optimizer(self.settings.optimizer, self.generator.parameters(), self.lr)


def _fit_one(y, A, prior, settings: FitSettings, truth, seed, callback) -> Result:
    start = time.perf_counter()
    fit = _Fit(y, A, prior, settings, seed, has_truth=truth is not None)
    data_range = None if truth is None else _data_range(truth)
    history: dict[str, list[float]] = {"loss": []}
    average = None
    recoveries, reason = 0, "max_iterations"
    bar = tqdm(range(settings.iterations), disable=not settings.progress or not sys.stderr.isatty(),
               desc="fit", leave=False)
    iteration = -1
    for iteration in bar:
        fit.optimizer.zero_grad(set_to_none=True)
        x = fit.image()
        power = fit.residual_power(x)
        loss = (power * fit.fit_w).sum() / fit.n_fit
        if not torch.isfinite(loss):
            recoveries += 1
            log.warning("non-finite loss at iteration %d; restoring the last good state and halving "
                        "the learning rate to %.2e", iteration, fit.lr / 2)
            if recoveries > _MAX_RECOVERIES:
                reason = "diverged"
                break
            fit.recover()
            continue
        loss.backward()
        fit.optimizer.step()
        if iteration % _SNAPSHOT_EVERY == 0:
            fit.snapshot = copy.deepcopy(fit.generator.state_dict())
        with torch.no_grad():
            current = x.detach() / fit.scale
            if settings.ema is not None:
                average = current if average is None else settings.ema * average + (1 - settings.ema) * current
                current = average
            record = _record(fit, current, power.detach(), loss, truth, data_range, iteration)
        for key, value in record.items():
            history.setdefault(key, []).append(value)
        if callback is not None:
            callback(iteration, current, record)
        if iteration % 20 == 0:
            bar.set_postfix(loss=f"{record['loss']:.3e}")
        if fit.rule.update(iteration, current, held_loss=record.get("holdout_loss"), psnr=record.get("psnr")):
            reason = fit.rule.name
            break
    image = fit.rule.best_image
    if image is None:
        raise RuntimeError("the fit produced no finite iterate; try a smaller lr")
    if settings.data_consistency:
        image = image + A.adjoint(y - A(image, check=False), check=False)
    if reason == "max_iterations" and fit.rule.name not in ("fixed",):
        reason = f"max_iterations ({fit.rule.name} best)"
    params = {"lr": settings.lr, "final_lr": fit.lr, "iterations": settings.iterations,
              "optimizer": settings.optimizer, "input_noise": settings.input_noise, "ema": settings.ema,
              "early_stopping": fit.rule.name, "holdout_fraction": settings.holdout_fraction,
              "scale": fit.scale, "data_consistency": settings.data_consistency,
              "iterations_run": iteration + 1, "recoveries": recoveries}
    n_params = sum(p.numel() for p in fit.generator.parameters() if p.requires_grad)
    return Result(image=image, history=history, stop_iteration=fit.rule.best_iteration, stop_reason=reason,
                  seconds=time.perf_counter() - start, method=prior if isinstance(prior, str) else type(prior).__name__,
                  params=params, n_parameters=n_params)


def _record(fit: _Fit, current, power, loss, truth, data_range, iteration) -> dict[str, float]:
    record = {"loss": float(loss)}
    if fit.held_w is not None:
        if fit.settings.ema is not None:
            power = fit.residual_power(current * fit.scale)
        record["holdout_loss"] = float((power * fit.held_w).sum() / fit.held_w.sum())
    if truth is not None:
        record["psnr"] = metrics.psnr(current, truth, data_range=data_range)
        if iteration % fit.settings.metrics_every == 0:
            record["ssim"] = metrics.ssim(current, truth, data_range=data_range)
            record["ssim_iteration"] = iteration
    return record


def _data_range(truth: torch.Tensor) -> float:
    """1 for real images in [0, 1] (natural images), else the magnitude maximum (MRI)."""
    if not truth.is_complex() and float(truth.min()) >= 0 and float(truth.max()) <= 1:
        return 1.0
    return float(truth.abs().max())
