"""Is one member of the default bound by its iteration budget? (python -m csprior.benchmarks.member_budget)

At Gaussian 128² 50 % the default's Deep Decoder members reached their best held-out residual
within 150 iterations of the 6000 budget (``ablation-cs128``, ``gaussian-50-128``), and the
default lost to TV by 2.45 dB. This script refits one member (a Deep Decoder or a ConvDecoder) on
a suite's cell (same image, operator, seed and held-out split; the λ the members chose, output
averaging as in the recipe) for a longer budget, runs it to the end (no patience), and prints, for
budgets of 3000, 6000, ... up to ``--iterations``, the iterate the holdout rule would return within
that budget and its PSNR against the truth (analysis only: the rule sees the held-out residual),
next to the best PSNR of the run.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from csprior import reconstruct
from csprior.benchmarks.problems import Problem, build_problem
from csprior.benchmarks.suite import expand, load_suite, resolve_data_dir
from csprior.result import Result


def cell_problem(data_dir: Path, suite: str, experiment: str, image: str) -> tuple[Problem, int]:
    """The problem of ``experiment``'s cells for ``image`` in ``suite`` and the cell's seed."""
    for cell in expand(load_suite(suite), data_dir).cells:
        if cell.experiment == experiment and cell.image_name == image:
            return build_problem(cell.config, data_dir), int(cell.config["seed"])
    raise ValueError(f"suite {suite!r} has no cell of experiment {experiment!r} for image {image!r}")


def refit_member(problem: Problem, seed: int, *, iterations: int, lr: float, channels: int,
                 tv_weight: float, ema: float = 0.99, prior: str = "deep-decoder") -> Result:
    """One fit of ``prior`` (a member of the default recipe: the TV hybrid at ``tv_weight``, output
    averaging ``ema``, the held-out split), run for the whole budget with the truth tracked
    (``history["psnr"]`` per iteration)."""
    return reconstruct(problem.y, problem.A, prior, iterations=iterations, lr=lr,
                       architecture={"channels": channels}, tv_weight=tv_weight, ema=ema,
                       early_stopping="holdout", patience=None, x_true=problem.x_true, seed=seed,
                       progress=False)


def budget_rows(result: Result, budgets) -> list[tuple[int, int, float, float]]:
    """``(budget, iterate the holdout rule returns within it, its PSNR, PSNR at the budget's end)``
    from a run's history, one row per budget (each at most the run's length)."""
    held = np.asarray(result.history["holdout_loss"])
    psnr = np.asarray(result.history["psnr"])
    rows = []
    for budget in budgets:
        best = int(np.argmin(held[:budget]))
        rows.append((budget, best + 1, float(psnr[best]), float(psnr[budget - 1])))
    return rows


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $CSPRIOR_DATA)")
    parser.add_argument("--suite", default="ablation-cs128")
    parser.add_argument("--experiment", default="gaussian-50-128")
    parser.add_argument("--image", default="01")
    parser.add_argument("--prior", default="deep-decoder", choices=["deep-decoder", "conv-decoder"],
                        help="the member's generator (the recipe's ConvDecoders: --lr 0.008 --tv-weight 0.01)")
    parser.add_argument("--iterations", type=int, default=12000)
    parser.add_argument("--lr", type=float, default=0.01, help="the recipe's 0.01 by default")
    parser.add_argument("--channels", type=int, default=64, help="the recipe's 64 at this ratio by default")
    parser.add_argument("--tv-weight", type=float, default=0.03, help="the λ the members chose")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    data_dir = resolve_data_dir(args.data)
    if data_dir is None:
        parser.error("needs the data folder: --data or $CSPRIOR_DATA")
    problem, seed = cell_problem(data_dir, args.suite, args.experiment, args.image)
    start = time.perf_counter()
    result = refit_member(problem, seed, iterations=args.iterations, lr=args.lr, channels=args.channels,
                          tv_weight=args.tv_weight, prior=args.prior)
    seconds = time.perf_counter() - start
    psnr = np.asarray(result.history["psnr"])
    print(f"{args.suite} / {args.experiment} / image {args.image}: one {args.prior}, {args.channels} channels, "
          f"lr {args.lr:g}, λ {args.tv_weight:g}, output averaging 0.99; {seconds:.0f} s; best PSNR of the run "
          f"{psnr.max():.2f} at iteration {int(psnr.argmax()) + 1} (PSNR uses the truth: analysis only)")
    print("| budget | holdout-best iterate | its PSNR | PSNR at the budget's end |\n|--:|--:|--:|--:|")
    budgets = sorted({min(b, args.iterations) for b in range(3000, args.iterations + 3000, 3000)})
    for budget, iterate, best_psnr, end_psnr in budget_rows(result, budgets):
        print(f"| {budget} | {iterate} | {best_psnr:.2f} | {end_psnr:.2f} |")


if __name__ == "__main__":
    main()
