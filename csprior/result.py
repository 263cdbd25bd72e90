"""The one result type every reconstruction method in csprior returns.

The harness treats the generator fit and every baseline alike through this record.

For a single problem the per-problem fields hold plain values (``stop_iteration`` an int,
``history`` a dict of per-iteration lists). When ``y`` carried a leading batch of independent
problems, ``image`` is stacked over that batch and ``problems`` holds one single-problem
``Result`` per problem (indexable as ``result[i]``); the top-level per-problem fields then
describe problem 0 only, so callers that handle batches should iterate ``result.problems``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Result:
    """Outcome of a reconstruction.

    Attributes:
        image: reconstruction in the operator's input domain and dtype, ``(*batch, *A.in_shape)``.
        history: per-iteration records, name -> list of floats (``loss``, ``holdout_loss``,
            ``psnr``/``ssim`` when a reference was given, ``objective`` for baselines).
        stop_iteration: iteration whose iterate is returned (0-based; iterations run for
            baselines without early stopping).
        stop_reason: why the method stopped (``"holdout"``, ``"converged"``, ``"max_iterations"`` ...).
        seconds: wall time of the whole call.
        method: method name, e.g. ``"deep-decoder"`` or ``"lasso-dct"``.
        params: hyper-parameters actually used (λ, learning rate, ...), including how they were
            chosen (``"selection": "holdout" | "oracle" | "given"``).
        n_parameters: trainable parameter count of a generator, ``None`` for baselines.
        problems: per-problem results when the input held a batch of problems, else empty.
        generator: the fitted generator (``torch.nn.Module``) as it was when a generator fit ended,
            to warm-start another fit (``csprior.warm_start``); ``None`` for baselines.
    """

    image: torch.Tensor
    history: dict[str, list[float]] = field(default_factory=dict)
    stop_iteration: int = 0
    stop_reason: str = ""
    seconds: float = 0.0
    method: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    n_parameters: int | None = None
    problems: list["Result"] = field(default_factory=list)
    generator: Any = None

    def __len__(self) -> int:
        return max(1, len(self.problems))

    def __getitem__(self, index: int) -> "Result":
        if not self.problems:
            if index in (0, -1):
                return self
            raise IndexError(f"index {index} out of range for a single-problem result")
        return self.problems[index]

    @classmethod
    def stack(cls, problems: list["Result"]) -> "Result":
        """Combine single-problem results into one batched result (images stacked on dim 0)."""
        if len(problems) == 1:
            return problems[0]
        first = problems[0]
        return cls(image=torch.stack([p.image for p in problems]), history=first.history,
                   stop_iteration=first.stop_iteration, stop_reason=first.stop_reason,
                   seconds=sum(p.seconds for p in problems), method=first.method,
                   params=first.params, n_parameters=first.n_parameters, problems=list(problems),
                   generator=first.generator)
