"""Running the paper's methods on one problem and scoring them, shared by ``denoising`` and ``cs``.

Generators go through ``csprior.reconstruct`` with a module built here (so that the channel count
can be set); the baselines go through the benchmark harness's ``run_method`` (the same dispatch the
suites use). ``Score`` is what the tables are made of.
"""
from __future__ import annotations

import logging
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from csprior import metrics, reconstruct
from csprior.generators import build_generator

from ..methods import run_method, unavailable_methods
from ..problems import Problem
from .output import PaperOutput, write_csv, write_text

log = logging.getLogger(__name__)


@dataclass
class Score:
    """One method's outcome on one problem (metrics against the real reference image)."""

    image: str
    setting: str
    method: str
    stopping: str
    iteration: int | None
    psnr: float
    ssim: float
    seconds: float

    def row(self) -> dict:
        """The score as a table row keyed by ``SCORE_COLUMNS`` (no stopping iteration: empty)."""
        return {"image": self.image, "setting": self.setting, "method": self.method, "stopping": self.stopping,
                "iteration": "" if self.iteration is None else self.iteration, "psnr": self.psnr,
                "ssim": self.ssim, "seconds": self.seconds}


SCORE_COLUMNS = ("image", "setting", "method", "stopping", "iteration", "psnr", "ssim", "seconds")


def quality(image: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    """``(psnr, ssim)`` of ``image`` (magnitude if complex) against ``reference`` in [0, 1]."""
    image = image.abs() if image.is_complex() else image
    image = image.reshape(reference.shape).to(torch.float32)
    return metrics.psnr(image, reference, data_range=1.0), metrics.ssim(image, reference, data_range=1.0)


def deep_decoder(problem: Problem, channels: int, seed: int):
    """A Deep Decoder with ``channels`` channels whose output fits ``problem.A``'s input."""
    A = problem.A
    return build_generator("deep-decoder", A.in_shape[-2:], out_channels=2 if A.is_complex else 1,
                           sigmoid=not A.is_complex, seed=seed, channels=channels)


def fit_generator(problem: Problem, prior, *, iterations: int, early_stopping: str, patience: int | None,
                  seed: int):
    """``csprior.reconstruct`` on ``problem`` with the ground truth attached for the PSNR history
    (the truth never steers the fit unless ``early_stopping == "oracle"``)."""
    return reconstruct(problem.y, problem.A, prior, iterations=iterations, early_stopping=early_stopping,
                       patience=patience, x_true=problem.x_true, seed=seed, progress=False, device="cpu",
                       metrics_every=max(iterations, 1))


def baseline(problem: Problem, spec: dict, seed: int):
    """A baseline's ``Result`` through the harness, or None (with a logged reason) when the method's
    optional package is missing."""
    missing = unavailable_methods([spec["method"]])
    if missing:
        log.warning("%s", missing[spec["method"]])
        return None
    return run_method(dict(spec), problem, seed)


def mean_by_method(scores: list[Score]) -> dict[tuple[str, str], tuple[float, float, float, int]]:
    """``(method, stopping) -> (mean PSNR, mean SSIM, mean iteration, images)`` in first-seen order;
    a mean over no values (SSIM of an oracle row, iterations of a baseline) is NaN."""
    groups = defaultdict(list)
    for score in scores:
        groups[score.method, score.stopping].append(score)
    return {key: (_mean([s.psnr for s in group]), _mean([s.ssim for s in group]),
                  _mean([s.iteration for s in group if s.iteration is not None]), len(group))
            for key, group in groups.items()}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else float("nan")


def score_output(name: str, out: Path, scores: list[Score], table: str, markdown: str,
                 plot: Callable[[list[Score], Path], Path], notes: list[str], start: float,
                 source_note: str | None) -> PaperOutput:
    """Write ``NAME.csv`` (per-image scores), ``NAME.md`` and ``NAME.png`` and collect the outcome.

    ``source_note`` (where the images came from when no data folder was given) joins the notes
    reported to the caller after ``markdown`` was written; ``start`` is the run's ``perf_counter``.
    """
    files = [write_csv(out / f"{name}.csv", SCORE_COLUMNS, (s.row() for s in scores)),
             write_text(out / f"{name}.md", markdown),
             plot(scores, out / f"{name}.png")]
    if source_note is not None:
        notes.append(f"{name}: {source_note}")
    return PaperOutput(name, table, files, time.perf_counter() - start, sorted(set(notes)))
