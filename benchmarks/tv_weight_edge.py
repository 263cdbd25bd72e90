"""λ beyond the hybrid's grid (python -m csprior.benchmarks.tv_weight_edge).

At Gaussian 128² 10 % the holdout rule chose the largest λ of ``csprior.hybrid.TV_WEIGHT_GRID``
(0.3) in every cell, so the grid's edge might be cutting the default short. This script refits one
method of a suite on that suite's cells (same images, operator, seed and held-out split) as a sweep
of given λ, which may reach past the grid, and prints for each λ what the holdout rule compares (the
held-out residual at the returned iterate) next to what it cannot see (PSNR and SSIM against the
truth, for analysis only). If the residual rises past the edge, the rule would not have gone there,
and a wider grid would only add candidates to fit.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from csprior import metrics, reconstruct
from csprior.benchmarks.problems import build_problem
from csprior.benchmarks.suite import expand, load_suite, resolve_data_dir
from csprior.hybrid import held_out_residual


def _cells(data_dir: Path, suite: str, experiment: str, method: str, ratio: float):
    cells = [cell for cell in expand(load_suite(suite), data_dir).cells
             if cell.experiment == experiment and cell.method == method and abs(cell.ratio - ratio) < 1e-9]
    if not cells:
        raise ValueError(f"suite {suite!r} has no cell of experiment {experiment!r}, method {method!r} at ratio {ratio}")
    return cells


def rows(data_dir: Path, weights, *, suite="ablation-cs128", experiment="gaussian-128-channels",
         method="auto-128ch", ratio=0.1, iterations=None):
    """Yield ``(image, λ, held-out residual, stop, psnr, ssim, seconds of the image's sweep)``.

    Args:
        data_dir: the data folder (``$CSPRIOR_DATA``).
        weights: the λ to sweep (non-negative floats), fitted together with one seed.
        suite, experiment, method, ratio: which cells to refit; the method's table gives the settings.
        iterations: overrides the table's iteration budget (None: keep it).
    """
    for cell in _cells(data_dir, suite, experiment, method, ratio):
        problem = build_problem(cell.config, data_dir)
        spec = {k: v for k, v in cell.config["method"].items() if k not in ("method", "label", "tv_weight")}
        if iterations is not None:
            spec["iterations"] = iterations
        prior = None if cell.config["method"]["method"] == "auto" else cell.config["method"]["method"]
        start = time.perf_counter()
        sweep = reconstruct(problem.y, problem.A, prior, seed=int(cell.config["seed"]), tv_weight=list(weights),
                            device="cpu", progress=False, **spec)
        seconds = time.perf_counter() - start
        for k, weight in enumerate(weights):
            result = sweep[k]
            image = result.image.reshape(problem.reference.shape)
            yield (cell.image_name, weight, held_out_residual(result), result.stop_iteration,
                   metrics.psnr(image, problem.reference, data_range=problem.data_range),
                   metrics.ssim(image, problem.reference, data_range=problem.data_range), seconds)


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $CSPRIOR_DATA)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    parser.add_argument("--suite", default="ablation-cs128")
    parser.add_argument("--experiment", default="gaussian-128-channels")
    parser.add_argument("--method", default="auto-128ch")
    parser.add_argument("--ratio", type=float, default=0.1)
    parser.add_argument("--iterations", type=int, default=None, help="default: the method table's budget")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    data_dir = resolve_data_dir(args.data)
    if data_dir is None:
        parser.error("needs the data folder: --data or $CSPRIOR_DATA")
    print(f"{args.suite} / {args.experiment} / {args.method} at {args.ratio:g}: one λ sweep per image; "
          "PSNR / SSIM use the truth (analysis only, the rule sees the held-out residual)")
    print("| image | λ | held-out residual | stop | PSNR | SSIM | s (sweep) |\n|---|--:|--:|--:|--:|--:|--:|")
    for image, weight, residual, stop, psnr, ssim, seconds in rows(
            data_dir, args.weights, suite=args.suite, experiment=args.experiment, method=args.method,
            ratio=args.ratio, iterations=args.iterations):
        print(f"| {image} | {weight:g} | {residual:.4g} | {stop} | {psnr:.2f} | {ssim:.3f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
