"""Early-stopping rules for generator fits.

An untrained generator fits the image before the noise, so the iterate to return is an early one.
Each rule watches the fit iteration by iteration and remembers the iterate it would return:

- ``HoldoutStopping`` — needs no ground truth: lowest residual on held-out measurements, stops after
  ``patience`` iterations without a new minimum.
- ``VarianceStopping`` — needs no ground truth: ES-WMV (Wang et al., 2023), the windowed moving
  variance of the iterates; returns the iterate where that variance is smallest.
- ``FixedStopping`` — runs the whole budget and returns the last iterate.
- ``OracleStopping`` — best PSNR against the true image; for analysis only (labelled "oracle").
"""
from __future__ import annotations

import math
from collections import deque

import torch


class StoppingRule:
    """Base class: ``update`` returns True when the fit should stop.

    Attributes:
        name: the rule's name, used as the result's stop reason.
        best_iteration: iteration of the iterate to return.
        best_image: that iterate (detached clone), or None before the first update.
    """

    name = "rule"
    needs_holdout = False
    needs_truth = False

    def __init__(self):
        self.best_iteration = 0
        self.best_image: torch.Tensor | None = None

    def update(self, iteration: int, image: torch.Tensor, *, held_loss: float | None = None,
               psnr: float | None = None) -> bool:
        """Take the watched iterate of ``iteration`` and say whether the fit should stop.

        Args:
            iteration: 0-based iteration number.
            image: the watched iterate of one problem, ``A.in_shape`` (the exponential average
                or the ensemble mean where those are on); keep it with ``_keep`` to return it.
            held_loss: mean residual on the held-out measurements (rules with ``needs_holdout``).
            psnr: PSNR against ``x_true`` in dB (rules with ``needs_truth``; analysis only).

        Returns:
            True to stop now; ``best_iteration`` / ``best_image`` then name the iterate returned.
        """
        raise NotImplementedError

    def _keep(self, iteration: int, image: torch.Tensor) -> None:
        self.best_iteration = iteration
        self.best_image = image.detach().clone()


class FixedStopping(StoppingRule):
    """Run the full iteration budget and return the last iterate."""

    name = "fixed"

    def update(self, iteration, image, *, held_loss=None, psnr=None):
        self._keep(iteration, image)
        return False


class _BestOf(StoppingRule):
    """Keep the iterate minimising a score; stop after ``patience`` iterations without a new minimum."""

    def __init__(self, patience: int | None, min_delta: float = 0.0):
        super().__init__()
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be a positive int or None, got {patience}")
        self.patience, self.min_delta = patience, min_delta
        self.best_score = float("inf")

    def _consider(self, iteration: int, image: torch.Tensor, score: float) -> bool:
        margin = self.min_delta * abs(self.best_score) if math.isfinite(self.best_score) else 0.0
        if score < self.best_score - margin:
            self.best_score = score
            self._keep(iteration, image)
        return self.patience is not None and iteration - self.best_iteration >= self.patience


class HoldoutStopping(_BestOf):
    """Stop where the held-out measurement residual is lowest (no ground truth needed).

    The held-out residual of a small hold-out set is noisy from one iteration to the next, so the
    rule minimises its centred moving average over ``smoothing`` iterations and returns the iterate
    at the centre of the best window (kept in a short buffer).
    """

    name = "holdout"
    needs_holdout = True

    def __init__(self, patience: int | None = 500, min_delta: float = 0.0, smoothing: int = 21):
        super().__init__(patience, min_delta)
        if smoothing < 1 or smoothing % 2 == 0:
            raise ValueError(f"smoothing must be a positive odd int, got {smoothing}")
        self.smoothing = smoothing
        self._losses: deque[float] = deque(maxlen=smoothing)
        self._images: deque[tuple[int, torch.Tensor]] = deque(maxlen=smoothing // 2 + 1)

    def update(self, iteration, image, *, held_loss=None, psnr=None):
        if held_loss is None:
            raise ValueError("HoldoutStopping needs held_loss at every update")
        self._losses.append(held_loss)
        self._images.append((iteration, image.detach().clone()))
        # until the window fills, the average runs over the iterations seen so far
        centre_iteration, centre_image = self._images[0]
        score = sum(self._losses) / len(self._losses)
        if score < self.best_score - (self.min_delta * abs(self.best_score)
                                      if math.isfinite(self.best_score) else 0.0):
            self.best_score = score
            self.best_iteration, self.best_image = centre_iteration, centre_image
        return self.patience is not None and iteration - self.best_iteration >= self.patience


class OracleStopping(_BestOf):
    """Return the iterate with the best PSNR against ``x_true`` (analysis only, labelled oracle)."""

    name = "oracle"
    needs_truth = True

    def __init__(self, patience: int | None = None):
        super().__init__(patience)

    def update(self, iteration, image, *, held_loss=None, psnr=None):
        if psnr is None:
            raise ValueError("OracleStopping needs the PSNR against x_true at every update")
        return self._consider(iteration, image, -psnr)


class VarianceStopping(_BestOf):
    """ES-WMV: minimum of the windowed moving variance of the iterates (Wang et al., 2023).

    ``VAR_t = (1/W) Σ_{w<W} ||x_{t-w} - mean_W||²`` over the last ``window`` iterates; the rule
    returns the iterate at which VAR_t was smallest and stops after ``patience`` iterations without
    a new minimum.
    """

    name = "wmv"

    def __init__(self, window: int = 50, patience: int | None = 500):
        super().__init__(patience)
        if window < 2:
            raise ValueError(f"window must be at least 2, got {window}")
        self.window = window
        self._recent: deque[torch.Tensor] = deque()
        self._sum: torch.Tensor | None = None
        self._sum_sq = 0.0

    def update(self, iteration, image, *, held_loss=None, psnr=None):
        # running sums make each update O(image) instead of O(window * image)
        x = image.detach().to(torch.complex128 if image.is_complex() else torch.float64)
        self._recent.append(x)
        self._sum = x.clone() if self._sum is None else self._sum + x
        self._sum_sq += float(x.abs().pow(2).sum())
        if len(self._recent) > self.window:
            old = self._recent.popleft()
            self._sum -= old
            self._sum_sq -= float(old.abs().pow(2).sum())
        if len(self._recent) < self.window:
            return False
        variance = (self._sum_sq - float(self._sum.abs().pow(2).sum()) / self.window) / self.window
        return self._consider(iteration, image, variance)


def make_stopping_rule(early_stopping, *, patience: int | None, has_truth: bool) -> StoppingRule:
    """Build a rule from a name (``"holdout"``, ``"wmv"``, ``"fixed"``, ``"oracle"``) or pass one through."""
    if isinstance(early_stopping, StoppingRule):
        if early_stopping.needs_truth and not has_truth:
            raise ValueError(f"early_stopping rule {type(early_stopping).__name__} needs x_true")
        return early_stopping
    if early_stopping in (None, "fixed", False):
        return FixedStopping()
    if early_stopping == "holdout":
        return HoldoutStopping(patience=patience)
    if early_stopping == "wmv":
        return VarianceStopping(patience=patience)
    if early_stopping == "oracle":
        if not has_truth:
            raise ValueError('early_stopping="oracle" needs x_true')
        return OracleStopping()
    raise ValueError(f'early_stopping must be "holdout", "wmv", "fixed", "oracle" or a StoppingRule, '
                     f"got {early_stopping!r}")
