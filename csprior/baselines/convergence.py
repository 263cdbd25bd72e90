"""Bookkeeping of a batched iterative solve: objective histories and per-problem stopping.

Every problem of the batch stops on its own: once its stopping measure (the relative change
``‖x_k − x_{k−1}‖ / ‖x_k‖`` for FISTA and Chambolle–Pock, the relative normal-equation residual for
CGLS) is at most ``tol``, its iterate is kept and its history closed, so a problem's result does not
depend on which other problems shared the batch. The loop ends when every problem has stopped or
the iteration budget is spent.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm


@dataclass
class Solution:
    """Outcome of a batched solve of ``N`` problems.

    Attributes:
        x: iterates returned, ``(N, *in_shape)``.
        histories: per problem, ``{"objective": [value after each iteration]}``.
        stop_iterations: per problem, the 0-based iteration whose iterate is returned.
        stop_reasons: per problem, ``"converged"`` (stopping measure ≤ tol) or ``"max_iterations"``.
    """

    x: torch.Tensor
    histories: list[dict[str, list[float]]]
    stop_iterations: list[int]
    stop_reasons: list[str]

    def select(self, indices) -> "Solution":
        """The sub-batch of the problems at ``indices`` (a sequence of ints)."""
        indices = list(indices)
        return Solution(self.x[indices], [self.histories[i] for i in indices],
                        [self.stop_iterations[i] for i in indices], [self.stop_reasons[i] for i in indices])

    @classmethod
    def concat(cls, parts: list["Solution"]) -> "Solution":
        """Join solutions of consecutive sub-batches into one."""
        return cls(torch.cat([p.x for p in parts]), [h for p in parts for h in p.histories],
                   [s for p in parts for s in p.stop_iterations], [r for p in parts for r in p.stop_reasons])


class Convergence:
    """Track ``n`` problems solved together for at most ``iterations`` steps.

    Iterate over the object to get iteration indices (with a tqdm bar, quiet when ``progress`` is
    False or stderr is not a terminal) and call ``update`` once per iteration with the rows of the
    problems still running. When problems stop, ``update`` returns the boolean mask of the rows that
    go on, and the solver drops the other rows from its state, so stopped problems cost nothing.
    ``solution`` assembles the result in the original order.
    """

    def __init__(self, n: int, iterations: int, tol: float, desc: str, progress: bool):
        self.iterations, self.tol = iterations, tol
        self.running = list(range(n))  # original index of each row still computed
        self.histories = [{"objective": []} for _ in range(n)]
        self.stop_iterations = [iterations - 1] * n
        self.stop_reasons = ["max_iterations"] * n
        self.kept: list[torch.Tensor | None] = [None] * n
        self.bar = tqdm(total=iterations, desc=desc, leave=False,
                        disable=not progress or not sys.stderr.isatty())

    def __iter__(self):
        for iteration in range(self.iterations):
            if not self.running:
                break
            yield iteration
            self.bar.update()
        self.bar.close()

    def update(self, iteration: int, x: torch.Tensor, objective: torch.Tensor,
               change: torch.Tensor) -> torch.Tensor | None:
        """Record iteration ``iteration`` of the running rows: iterates ``x`` ``(rows, ...)``,
        ``objective`` and the stopping measure ``change`` ``(rows,)``.

        Returns None when every row goes on, else the ``(rows,)`` mask of the rows that go on.
        """
        values = objective.detach().cpu().tolist()
        stopped = (change.detach() <= self.tol).cpu()
        for row, index in enumerate(self.running):
            self.histories[index]["objective"].append(values[row])
        if iteration % 20 == 0:
            self.bar.set_postfix(objective=f"{max(values):.4e}", running=len(self.running))
        if not bool(stopped.any()):
            return None
        for row in stopped.nonzero().flatten().tolist():
            index = self.running[row]
            self.kept[index] = x[row].clone()
            self.stop_iterations[index], self.stop_reasons[index] = iteration, "converged"
        self.running = [index for row, index in enumerate(self.running) if not stopped[row]]
        return (~stopped).to(x.device)

    def solution(self, x: torch.Tensor) -> Solution:
        """The returned iterates: each stopped problem's kept iterate, the rows of ``x``
        ``(running, *in_shape)`` for the problems still running; ``Solution.x`` is ``(N, *in_shape)``."""
        for row, index in enumerate(self.running):
            self.kept[index] = x[row]
        return Solution(torch.stack(self.kept), self.histories, self.stop_iterations, self.stop_reasons)
