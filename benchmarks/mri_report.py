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
The ConvDecoder's oracle-stop PSNR (its best iterate against the reference, which a user cannot
know) is recorded beside them for analysis, labelled oracle.
The Markdown table is printed and, with ``--save STEM``, written to ``STEM.md`` and ``STEM.csv``
(atomically, each with a line naming the command, machine and date).
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from csprior.datasets import MRIOptions, convert_bart_brain8ch, convert_brain16ch, run_mri_pipeline

from .paper.output import provenance, write_csv, write_text
from .suite import resolve_data_dir

METHODS = ("zero-filled", "l1-wavelet", "tv", "conv-decoder")
# case -> (data set, acceleration, centre fraction); None: the file's own mask
CASES = {"16ch-4x": ("brain16ch_full", 4, 0.08), "16ch-8x": ("brain16ch_full", 8, 0.04),
         "bart": ("brain8ch_poisson_bart", None, None)}
CONVERTERS = {"brain16ch_full": convert_brain16ch, "brain8ch_poisson_bart": convert_bart_brain8ch}
CSV_COLUMNS = ("data", "sampling", "method", "ssim", "psnr", "nmse", "seconds", "setup_seconds", "oracle_psnr",
               "note")


def run_report(data_dir: Path, out_dir: Path, iterations: int | None, seed: int = 0,
               cases=tuple(CASES)) -> list[dict]:
    """Convert the scans, run each case of ``CASES``; one row (``CSV_COLUMNS``) per case and method."""
    inputs = out_dir / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    names = {CASES[case][0] for case in cases}
    files = {name: CONVERTERS[name](data_dir / "mri" / name, inputs / f"{name}.h5") for name in sorted(names)}
    rows = []
    for case in cases:
        name, acceleration, fraction = CASES[case]
        options = MRIOptions(methods=METHODS, acceleration=acceleration or 4, center_fraction=fraction,
                             iterations=iterations, seed=seed, track_oracle=True)
        results = []  # one slice per file, so keeping the volumes costs nothing
        run_mri_pipeline([files[name]], out_dir / case, options, on_result=results.append)
        for result in results:
            row = result.row()
            sampling = (f"{row['acceleration']:g}× random, centre {row['center_fraction']:.2f}" if acceleration
                        else f"as acquired (Poisson disc, {_measured_acceleration(result):.2f}×)")
            rows.append({"data": name, "sampling": sampling, "method": row["method"], "ssim": row["ssim"],
                         "psnr": row["psnr"], "nmse": row["nmse"], "seconds": row["seconds"],
                         "setup_seconds": row["setup_seconds"], "oracle_psnr": result.oracle_psnr,
                         "note": _note(result)})
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
    lines = ["| data | sampling | method | SSIM | PSNR (dB) | NMSE | seconds | setup s | oracle-stop PSNR (oracle) "
             "| notes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        oracle = "–" if r["oracle_psnr"] is None else f"{r['oracle_psnr']:.2f}"
        lines.append(f"| {r['data']} | {r['sampling']} | {r['method']} | {r['ssim']:.4f} | {r['psnr']:.2f} "
                     f"| {r['nmse']:.4f} | {r['seconds']:.1f} | {r['setup_seconds']:.1f} | {oracle} | {r['note']} |")
    return "\n".join(lines)


def provenance_line(argv: list[str]) -> str:
    """The command, the machine and the date (UTC), on one line."""
    command = shlex.join(["python", "-m", "csprior.benchmarks.mri_report", *argv])
    return (f"Command: `{command}`; machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, torch {torch.__version__} with "
            f"{torch.get_num_threads()} thread(s); {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")


def main(argv=None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $CSPRIOR_DATA)")
    parser.add_argument("--out", type=Path, default=Path("out/mri_report"),
                        help="folder for the converted files, reconstructions and metrics.csv files")
    parser.add_argument("--iterations", type=int, default=None,
                        help="ConvDecoder iteration cap (default the engine's 3000)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma list of cases to run, among {', '.join(CASES)} (default all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None, metavar="STEM",
                        help="also write STEM.md and STEM.csv with the command, machine and date")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    cases = tuple(c.strip() for c in args.cases.split(",") if c.strip())
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        parser.error(f"--cases must name some of {', '.join(CASES)}, got {args.cases!r}")
    data_dir = resolve_data_dir(args.data)
    if data_dir is None or not (data_dir / "mri").is_dir():
        raise SystemExit("needs the shared data with its mri/ folder: pass --data or set CSPRIOR_DATA")
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    start = time.perf_counter()
    rows = run_report(data_dir, args.out, args.iterations, args.seed, cases)
    total = time.perf_counter() - start
    table = markdown(rows)
    budget = args.iterations if args.iterations is not None else 3000
    footer = (f"ConvDecoder budget {budget} iterations (held-out early stopping, patience 500); its oracle-stop "
              f"PSNR is the best PSNR of the iterates it ran against the reference (oracle: analysis only, "
              f"unavailable in practice). seconds = method wall time (ℓ1-wavelet and TV include their holdout "
              f"λ search); setup = reading, masking and ESPIRiT coil maps, shared by the methods; "
              f"whole report {total:.0f} s.")
    print(table)
    print(footer)
    if args.save is not None:
        description = __doc__.split("\n", 2)[2].strip()
        with provenance(provenance_line(argv)):
            write_text(args.save.with_suffix(".md"),
                       f"# Real-k-space MRI report\n\n{description}\n\n{table}\n\n{footer}\n")
            write_csv(args.save.with_suffix(".csv"), CSV_COLUMNS, rows)


if __name__ == "__main__":
    main()
