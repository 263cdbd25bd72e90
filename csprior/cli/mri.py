"""``csprior mri``: reconstruct fastMRI files, write fastMRI submission files and per-volume metrics.

    csprior mri PATH... --out DIR [--method M[,M...]]... [--acceleration 4] [--center-fraction F]
                [--mask random|equispaced|equispaced_fraction] [--slices all|mid|i|i:j]
                [--iterations N] [--seed S] [--coil-maps espirit|lowres] [--data-consistency] [--warm-start]
                [--device DEVICE]

PATH is a fastMRI HDF5 file or a folder of them (*.h5). Files without a stored mask are fully
sampled: they are undersampled with fastMRI's mask seeded by the file name, as fastMRI's
validation does. Files with a stored mask (test files) are reconstructed as acquired and
--acceleration/--center-fraction/--mask do not apply to them. Multi-coil files use ESPIRiT coil
maps from the measured centre.

Output: DIR/<file name> in fastMRI's submission layout (dataset "reconstruction", magnitude,
centre-cropped to the target size) when one method runs, DIR/<method>/<file name> for several;
DIR/metrics.csv with one row per file and method (fastMRI per-volume NMSE, PSNR, SSIM against
the file's target, empty for files without one). The table is printed at the end.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from csprior.cli import UserError


def register(subparsers) -> None:
    """Add the ``mri`` subcommand to the top-level parser."""
    from csprior.datasets.mri_pipeline import MASK_KINDS, METHODS

    parser = subparsers.add_parser("mri", help="reconstruct fastMRI files; write submission files and metrics",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="fastMRI .h5 file or folder of them")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--method", action="append", metavar="M",
                        help=f"one of {', '.join(METHODS)}; repeat or give a comma list (default conv-decoder)")
    parser.add_argument("--acceleration", type=float, default=4.0, help="retrospective undersampling (default 4)")
    parser.add_argument("--center-fraction", type=float, default=None, metavar="F",
                        help="fully sampled central columns (default fastMRI's pair: 0.32/acceleration, "
                             "i.e. 0.08 at 4x, 0.04 at 8x)")
    parser.add_argument("--mask", choices=MASK_KINDS, default="random", help="retrospective mask kind (default random)")
    parser.add_argument("--slices", default="all", metavar="all|mid|i|i:j",
                        help="slices to reconstruct (default all; 'mid' is the middle slice)")
    parser.add_argument("--iterations", type=int, default=None, metavar="N",
                        help="iteration budget of the generator methods (default 3000 for conv-decoder/"
                             "deep-decoder, the recipe's 6000 for auto; stops earlier by held-out measurements)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generators and held-out splits (default 0)")
    parser.add_argument("--coil-maps", choices=("espirit", "lowres"), default="espirit",
                        help="coil sensitivity estimator for multi-coil files (default espirit)")
    parser.add_argument("--data-consistency", action="store_true",
                        help="put the measured k-space back into the generator methods' images")
    parser.add_argument("--warm-start", action="store_true",
                        help="start each slice's generator from the one fitted to the previous slice")
    parser.add_argument("--device", default=None, help="torch device of the generator methods (default: cuda if present)")
    parser.set_defaults(handler=_mri)


def _mri(args) -> int:
    from csprior.datasets.mri_pipeline import METRICS_FILE, MRIOptions, format_metrics_table, run_mri_pipeline

    try:
        options = MRIOptions(methods=_methods(args.method), acceleration=args.acceleration,
                             center_fraction=args.center_fraction, mask=args.mask, slices=args.slices,
                             iterations=args.iterations, seed=args.seed, coil_maps=args.coil_maps,
                             data_consistency=args.data_consistency, device=args.device, progress=True,
                             warm_start=args.warm_start)
    except ValueError as exc:
        raise UserError(_one_line(f"invalid option: {exc}")) from exc
    try:
        rows = run_mri_pipeline(args.paths, args.out, options)
    except (ValueError, TypeError, OSError) as exc:
        raise UserError(_one_line(str(exc))) from exc
    print(format_metrics_table(rows))
    where = args.out if len(options.methods) == 1 else args.out / "<method>"
    print(f"wrote {len(rows)} reconstruction file(s) to {where}; metrics in {args.out / METRICS_FILE}")
    return 0


def _methods(values: list[str] | None) -> tuple[str, ...]:
    """``--method`` values (repeated and/or comma lists) in order, without repeats."""
    names = [name.strip() for value in (values or ["conv-decoder"]) for name in value.split(",") if name.strip()]
    return tuple(dict.fromkeys(names))


def _one_line(message: str) -> str:
    return " ".join(message.split())
