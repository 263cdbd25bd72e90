"""How much of BM3D's lead on denoising is its prior (python -m csprior.benchmarks.denoise_pilots).

Issue 8's denoising target (the default within 0.5 dB of BM3D) is missed. This script asks whether
a classical second stage on top of a stored reconstruction would close it, and whether any gain
comes from the untrained prior or from the second stage: each stored image of the denoising
results is used as the *pilot* of

- an empirical Wiener filter in sliding 8×8 DCT blocks (``csprior.wiener``: BM3D's second step
  without block matching), applied twice, the second time with the first result as the pilot
  (until commit 1b7d4e2 this script had its own copy, which left the border windows out instead of
  reflecting them: ``denoise_pilots.md`` was measured with it);
- BM3D's collaborative Wiener step (the ``bm3d`` package with the pilot as ``stage_arg``).

Pilots from different priors (the Deep Decoder default, oracle-tuned TV) show whether the prior
matters once the second stage runs; BM3D's own first step (hard thresholding of grouped blocks)
and full BM3D are printed as references. PSNR as the harness computes it (no clipping); σ is the
problem's known noise level. Needs the optional package ``bm3d`` and stored images
(``csprior bench run ablation-denoise``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from csprior import metrics
from csprior.benchmarks.problems import build_problem
from csprior.benchmarks.results_store import read_records
from csprior.benchmarks.suite import resolve_data_dir
from csprior.wiener import wiener_refine

DEFAULT_METHODS = ("auto-independent4", "dd-ema", "tv-oracle")
STAGES = ("as fitted", "+ DCT Wiener ×2", "+ BM3D's Wiener step")
REFERENCES = ("BM3D step 1 only", "BM3D")


def refinements(noisy: np.ndarray, pilot: np.ndarray, sigma: float) -> dict[str, np.ndarray]:
    """The pilot itself and its second stages, each ``(H, W)``."""
    import bm3d

    twice = wiener_refine(torch.from_numpy(noisy), torch.from_numpy(pilot), sigma, passes=2).numpy()
    return dict(zip(STAGES, (pilot, twice, bm3d.bm3d(noisy, sigma, stage_arg=pilot.astype(np.float64)))))


def bm3d_references(noisy: np.ndarray, sigma: float) -> dict[str, np.ndarray]:
    """BM3D's hard-thresholding step alone and full BM3D, each ``(H, W)``."""
    import bm3d

    return dict(zip(REFERENCES, (bm3d.bm3d(noisy, sigma, stage_arg=bm3d.BM3DStages.HARD_THRESHOLDING),
                                 bm3d.bm3d(noisy, sigma))))


def _psnr(image: np.ndarray, truth: np.ndarray) -> float:
    return float(metrics.psnr(torch.from_numpy(image).float(), torch.from_numpy(truth).float(),
                              data_range=1.0))


def measure(results_dir: Path, data_dir: Path | None, methods) -> dict[str, dict[str, float]]:
    """PSNR ``{row: {image: dB}}`` of every refinement of ``methods``' stored denoising images, rows in
    the order of ``methods`` and BM3D's references last."""
    table: dict[str, dict[str, float]] = {f"{method} {stage}": {} for method in methods for stage in STAGES}
    table.update({name: {} for name in REFERENCES})
    references_done = set()
    for record in read_records(results_dir / "results.jsonl"):
        if record["config"]["operator"]["kind"] != "denoise" or record["method"] not in methods:
            continue
        problem = build_problem(record["config"], data_dir)
        truth, noisy = problem.x_true.squeeze().numpy(), problem.y.squeeze().numpy().astype(np.float64)
        sigma = float(record["config"]["operator"]["sigma"]) / 255
        pilot = np.load(results_dir / record["image_file"]).squeeze().astype(np.float64)
        for stage, image in refinements(noisy, pilot, sigma).items():
            table[f"{record['method']} {stage}"][record["image"]] = _psnr(image, truth)
        if record["image"] not in references_done:
            references_done.add(record["image"])
            for name, image in bm3d_references(noisy, sigma).items():
                table[name][record["image"]] = _psnr(image, truth)
    return {name: row for name, row in table.items() if row}


def markdown(table: dict[str, dict[str, float]]) -> str:
    """The table as markdown: one row per pilot and stage, PSNR per image and their mean."""
    images = sorted({image for row in table.values() for image in row})
    lines = ["| pilot and stage | " + " | ".join(images) + " | mean |", "|---" + "|--:" * (len(images) + 1) + "|"]
    for name, row in table.items():
        values = [row.get(image, float("nan")) for image in images]
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {np.mean(values):.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a results directory holding denoising cells and their images")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), help="the stored rows to use as pilots")
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: $CSPRIOR_DATA)")
    args = parser.parse_args(argv)
    table = measure(args.results, resolve_data_dir(args.data), list(dict.fromkeys(args.methods)))
    if not table:
        parser.error(f"no denoising rows of {args.methods} in {args.results}")
    print(markdown(table))


if __name__ == "__main__":
    main()
