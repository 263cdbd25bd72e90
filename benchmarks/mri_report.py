"""Real-k-space MRI report through the fastMRI pipeline (python -m csprior.benchmarks.mri_report).

The shared data's real scans are converted to fastMRI files and reconstructed by
``csprior.datasets.run_mri_pipeline`` exactly as ``csprior mri`` would:

- ``brain16ch_full`` (16 coils, 96×96, fully sampled), undersampled retrospectively with fastMRI's
  random column mask seeded by the file name, at 4× (centre fraction 0.08) and 8× (0.04), fastMRI's
  pairs; reference: RSS of the fully sampled coil images.
- ``brain8ch_poisson_bart`` (8 coils, 180×230, ~8× Poisson disc) as acquired, with BART's PICS
  image of the fully sampled data (rescaled to k-space units) as reference.

Methods: zero-filled, ℓ1-wavelet (db4, holdout λ), TV (holdout λ) and ConvDecoder (held-out
measurements stop it; ``--iterations`` caps it). Multi-coil operators use ESPIRiT maps from the
measured centre. Metrics are fastMRI's per-volume SSIM/PSNR/NMSE after the crop to the target size.
The Markdown table is printed and, with ``--save``, written with the command that made it.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from csprior.datasets import MRIOptions, convert_bart_brain8ch, convert_brain16ch, run_mri_pipeline

from .suite import resolve_data_dir

METHODS = ("zero-filled", "l1-wavelet", "tv", "conv-decoder")
# (data set, acceleration, centre fraction); None: the file's own mask
SETTINGS = (("brain16ch_full", 4, 0.08), ("brain16ch_full", 8, 0.04), ("brain8ch_poisson_bart", None, None))
CONVERTERS = {"brain16ch_full": convert_brain16ch, "brain8ch_poisson_bart": convert_bart_brain8ch}


def run_report(data_dir: Path, out_dir: Path, iterations: int | None, seed: int = 0) -> list[dict]:
    """Convert the scans, run every setting, return one table row per setting and method."""
    inputs = out_dir / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    files = {name: convert(data_dir / "mri" / name, inputs / f"{name}.h5") for name, convert in CONVERTERS.items()}
    rows = []
    for name, acceleration, fraction in SETTINGS:
        label = f"{acceleration}x" if acceleration else "acquired"
        options = MRIOptions(methods=METHODS, acceleration=acceleration or 4, center_fraction=fraction,
                             iterations=iterations, seed=seed)
        results = []  # one slice per file, so keeping the volumes costs nothing
        run_mri_pipeline([files[name]], out_dir / f"{name}-{label}", options, on_result=results.append)
        for result in results:
            row = result.row()
            sampling = (f"{row['acceleration']:g}× random, centre {row['center_fraction']:.2f}" if acceleration
                        else f"as acquired (Poisson disc, {_measured_acceleration(result):.2f}×)")
            rows.append({"data": name, "sampling": sampling, "method": row["method"], "ssim": row["ssim"],
                         "psnr": row["psnr"], "nmse": row["nmse"], "seconds": row["seconds"],
                         "setup": row["setup_seconds"], "note": _note(result)})
    return rows


def _measured_acceleration(result) -> float:
    """k-space grid size over the number of sampled positions of the file's mask."""
    mask = result.sampling.mask
    return mask.numel() / float(mask.sum())


def _note(result) -> str:
    """How the method chose its stopping point or λ, from the single slice's ``Result``."""
    (slice_result,) = result.results
    params = slice_result.params
    if result.method == "conv-decoder":
        return (f"returned iteration {slice_result.stop_iteration} of {params.get('iterations_run')} run "
                f"({slice_result.stop_reason})")
    lam = params.get("lam")
    return f"λ = {lam:.3g} ({params.get('lam_rule')})" if isinstance(lam, (int, float)) else ""


def markdown(rows: list[dict]) -> str:
    """The report table in Markdown."""
    lines = ["| data | sampling | method | SSIM | PSNR (dB) | NMSE | seconds | setup s | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['data']} | {r['sampling']} | {r['method']} | {r['ssim']:.4f} | {r['psnr']:.2f} "
                     f"| {r['nmse']:.4f} | {r['seconds']:.1f} | {r['setup']:.1f} | {r['note']} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $CSPRIOR_DATA)")
    parser.add_argument("--out", type=Path, default=Path("out/mri_report"),
                        help="folder for the converted files, reconstructions and metrics.csv files")
    parser.add_argument("--iterations", type=int, default=None,
                        help="ConvDecoder iteration cap (default the engine's 3000)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None, metavar="FILE",
                        help="also write the table, with the command and machine, to FILE (Markdown)")
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data)
    if data_dir is None or not (data_dir / "mri").is_dir():
        raise SystemExit("needs the shared data with its mri/ folder: pass --data or set CSPRIOR_DATA")
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    start = time.perf_counter()
    rows = run_report(data_dir, args.out, args.iterations, args.seed)
    total = time.perf_counter() - start
    table = markdown(rows)
    budget = args.iterations if args.iterations is not None else 3000
    footer = (f"ConvDecoder budget {budget} iterations (held-out early stopping, patience 500); "
              f"torch threads {args.threads}; seconds = method wall time; setup = reading, masking and ESPIRiT "
              f"coil maps, shared by the methods; "
              f"whole report {total:.0f} s.")
    print(table)
    print(footer)
    if args.save is not None:
        command = "python -m csprior.benchmarks.mri_report " + " ".join(sys.argv[1:] if argv is None else argv)
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(
            f"# Real-k-space MRI report\n\n{__doc__.split(chr(10), 2)[2].strip()}\n\n"
            f"Command: `{command}`\n\nMachine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), "
            f"torch {torch.__version__}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.\n\n"
            f"{table}\n\n{footer}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
