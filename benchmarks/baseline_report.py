"""Classical baselines on Set11 from Gaussian measurements (python -m csprior.benchmarks.baseline_report).

All 11 Set11 images, resized to 64×64 (``csprior.datasets.load_images``, anti-aliased), are measured
noiselessly by one seeded ``GaussianMatrix`` per sampling ratio (10 %, 25 %, 50 % of the 4096
pixels). Methods: minimum-norm least squares (CGLS; it has no λ, so it appears once, rule "none"),
Lasso in the orthonormal 2-D DCT, Lasso in a periodised orthogonal wavelet (``--wavelet``, default
db4, at PyWavelets' default depth, 3 levels at 64×64, unless ``--wavelet-level`` is given; the
method is then named ``lasso-<wavelet>-L<level>``) and isotropic TV,
each with λ chosen on held-out measurements (``lam="holdout"``: 10 % held out, no ground truth) and
with λ chosen by an oracle sweep against the true image (``lam="oracle"``, analysis only), both over
the methods' default log grids (15 values, 3 a decade, extended by a decade beyond an end where a
pick sits, at most twice; the oracle then also tries 8 values between its best grid λ and the
neighbours). The images of one ratio are solved as one batch; "seconds" is the batch's wall time
divided by the number of images. PSNR/SSIM (``csprior.metrics``, data range 1, reconstructions not
clipped) are mean ± standard deviation over the images. "λ at grid edge" counts the images whose
chosen λ is the smallest or largest λ tried; "final solve hit cap" those whose returned solve
stopped at the iteration cap rather than the tolerance.
"""
from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from csprior import metrics
from csprior.atomic_file import write_text_atomic
from csprior.baselines import lasso, least_squares, tv
from csprior.datasets import load_images
from csprior.operators import GaussianMatrix

from .suite import resolve_data_dir

RATIOS = (0.10, 0.25, 0.50)
METHODS = ("least-squares", "lasso-dct", "lasso-wavelet", "tv")
RULES = ("holdout", "oracle")
COLUMNS = ["ratio", "method", "lam_rule", "n", "psnr_mean", "psnr_std", "ssim_mean", "ssim_std", "seconds_mean",
           "lam_median", "lam_at_grid_edge", "hit_iteration_cap"]


def _methods(names, iterations: int, seed: int, wavelet: str, level: int | None) -> dict:
    """Table name -> ``solve(y, A, rule, truth) -> Result`` for a batch ``y`` ``(N, m)``, for the λ methods
    among ``names`` (a subset of ``METHODS``)."""
    common = {"iterations": iterations, "seed": seed, "progress": False}
    wavelet_name = f"lasso-{wavelet}" + ("" if level is None else f"-L{level}")
    methods = {
        "lasso-dct": ("lasso-dct", lambda y, A, rule, truth: lasso(y, A, rule, basis="dct", x_true=truth,
                                                                   **common)),
        "lasso-wavelet": (wavelet_name, lambda y, A, rule, truth: lasso(y, A, rule, basis=wavelet, level=level,
                                                                        x_true=truth, **common)),
        "tv": ("tv", lambda y, A, rule, truth: tv(y, A, rule, x_true=truth, **common)),
    }
    return dict(methods[name] for name in names if name in methods)


def _row(ratio: float, method: str, rule: str, result, truth: torch.Tensor) -> dict:
    """Aggregate one batched ``Result`` against ``truth`` ``(N, 1, H, W)`` into a table row."""
    problems = result.problems or [result]
    psnr = np.array([metrics.psnr(p.image, t) for p, t in zip(problems, truth)])
    ssim = np.array([metrics.ssim(p.image, t) for p, t in zip(problems, truth)])
    lams = [p.params["lam"] for p in problems if "lam" in p.params]
    # the holdout rule picks λ_fit on the grid, then refits with λ_fit / f; the oracle picks λ itself
    key = "lam_fit" if rule == "holdout" else "lam"
    edges = sum(p.params[key] in (min(p.params["lam_grid"]), max(p.params["lam_grid"]))
                for p in problems if "lam_grid" in p.params)
    return {"ratio": ratio, "method": method, "lam_rule": rule, "n": len(problems),
            "psnr_mean": psnr.mean(), "psnr_std": psnr.std(), "ssim_mean": ssim.mean(), "ssim_std": ssim.std(),
            "seconds_mean": result.seconds / len(problems),
            "lam_median": float(np.median(lams)) if lams else float("nan"), "lam_at_grid_edge": edges,
            "hit_iteration_cap": sum(p.stop_reason == "max_iterations" for p in problems)}


def run_report(images: torch.Tensor, ratios, iterations: int, seed: int, methods=METHODS, wavelet: str = "db4",
               wavelet_level: int | None = None, log_progress=print) -> list[dict]:
    """All rows for ``images`` ``(N, 1, H, W)``: least squares (if among ``methods``), then every λ
    method under both λ rules."""
    rows = []
    for ratio in ratios:
        A = GaussianMatrix(images.shape[1:], float(ratio), seed=seed)
        y = A(images)
        if "least-squares" in methods:
            result = least_squares(y, A, iterations=iterations, progress=False)
            rows.append(_row(ratio, "least-squares", "none", result, images))
            log_progress(_progress_line(rows[-1]))
        for method, solve in _methods(methods, iterations, seed, wavelet, wavelet_level).items():
            for rule in RULES:
                result = solve(y, A, rule, images if rule == "oracle" else None)
                rows.append(_row(ratio, method, rule, result, images))
                log_progress(_progress_line(rows[-1]))
    return rows


def _progress_line(row: dict) -> str:
    return (f"{row['ratio']:.0%} {row['method']:<14} {row['lam_rule']:<8} PSNR {row['psnr_mean']:.2f} "
            f"SSIM {row['ssim_mean']:.4f} {row['seconds_mean']:.1f} s/image")


def markdown(rows: list[dict]) -> str:
    """The report table in Markdown (oracle rows labelled "oracle")."""
    lines = ["| ratio | method | λ rule | n | PSNR (dB) | SSIM | seconds/image | median λ | λ at grid edge "
             "| final solve hit cap |",
             "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for r in rows:
        lam = "—" if np.isnan(r["lam_median"]) else f"{r['lam_median']:.3g}"
        edge = "—" if r["lam_rule"] == "none" else f"{r['lam_at_grid_edge']}/{r['n']}"
        lines.append(f"| {r['ratio']:.0%} | {r['method']} | {r['lam_rule']} | {r['n']} "
                     f"| {r['psnr_mean']:.2f} ± {r['psnr_std']:.2f} | {r['ssim_mean']:.4f} ± {r['ssim_std']:.4f} "
                     f"| {r['seconds_mean']:.2f} | {lam} | {edge} | {r['hit_iteration_cap']}/{r['n']} |")
    return "\n".join(lines)


def to_csv(rows: list[dict], header: list[str]) -> str:
    """The rows as CSV, preceded by ``# ``-prefixed header lines."""
    buffer = io.StringIO()
    buffer.writelines(f"# {line}\n" for line in header)
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $CSPRIOR_DATA)")
    parser.add_argument("--size", type=int, default=64, help="image side after resizing (default 64)")
    parser.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS), help="sampling ratios m/n")
    parser.add_argument("--iterations", type=int, default=5000, help="iteration cap of every solve (default 5000)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first LIMIT images (timing runs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the matrices and the held-out split")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="folder for baselines.md and baselines.csv (default benchmarks/results)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="methods to run")
    parser.add_argument("--wavelet", default="db4", help="orthogonal wavelet of lasso-wavelet (default db4)")
    parser.add_argument("--wavelet-level", type=int, default=None,
                        help="wavelet levels (default PyWavelets' depth for the size and filter)")
    parser.add_argument("--name", default="baselines", help="output file stem (default baselines)")
    parser.add_argument("--no-save", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data)
    if data_dir is None or not (data_dir / "images" / "set11").is_dir():
        raise SystemExit("needs the shared data with images/set11: pass --data or set CSPRIOR_DATA")
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.ERROR)  # grid-edge warnings are counted in the table instead
    images = torch.cat([image for _, image in load_images(data_dir / "images" / "set11", size=args.size,
                                                           limit=args.limit)])
    start = time.perf_counter()
    rows = run_report(images, args.ratios, args.iterations, args.seed, args.methods, args.wavelet,
                      args.wavelet_level)
    total = time.perf_counter() - start
    command = "python -m csprior.benchmarks.baseline_report " + " ".join(sys.argv[1:] if argv is None else argv)
    machine = (f"{platform.machine()}, {os.cpu_count()} CPU cores (shared), torch threads {args.threads}, "
               f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, torch {torch.__version__}")
    date = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    table = markdown(rows)
    footer = f"Iteration cap {args.iterations} per solve, tolerance 1e-5 (relative change); whole run {total:.0f} s."
    print(table)
    print(footer)
    if args.no_save:
        return
    header = [f"Command: {command}", f"Machine: {machine}", f"Date: {date}"]
    write_text_atomic(args.out / f"{args.name}.md",
                 f"# Classical baselines on Set11, {args.size}×{args.size}, Gaussian measurements\n\n"
                 + "\n\n".join(f"{line.split(': ', 1)[0]}: `{line.split(': ', 1)[1]}`" if line.startswith("Command")
                               else line for line in header)
                 + f"\n\n{__doc__.split(chr(10), 2)[2].strip()}\n\n{table}\n\n{footer}\n")
    write_text_atomic(args.out / f"{args.name}.csv", to_csv(rows, header))


if __name__ == "__main__":
    main()
