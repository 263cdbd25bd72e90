"""``csprior bench``: run benchmark suites, tabulate and plot their results.

    csprior bench list
    csprior bench run SUITE --out DIR [--resume] [--workers N] [--scheduler ADDRESS] [--data DIR]
                      [--no-images] [--reuse DIR ...]
    csprior bench table DIR [--format md|csv|latex] [--output FILE]
    csprior bench plot DIR [--out FOLDER]

SUITE is a shipped suite's name (see ``list``) or the path of a TOML file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``bench`` subcommand and its actions to the top-level parser."""
    parser = subparsers.add_parser("bench", help="run benchmark suites; tabulate and plot results",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list the shipped suites")
    listing.set_defaults(handler=_list)

    run = actions.add_parser("run", help="run every cell of a suite into a results folder")
    run.add_argument("suite", metavar="SUITE", help="shipped suite name or path of a .toml file")
    run.add_argument("--out", required=True, type=Path, metavar="DIR", help="results folder")
    run.add_argument("--resume", action="store_true",
                     help="continue a run in DIR: skip the cells already recorded")
    run.add_argument("--workers", type=int, default=1, metavar="N",
                     help="local worker processes (default 1: run in this process)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="Dask scheduler address (e.g. tcp://host:8786): run the cells on that cluster")
    run.add_argument("--data", type=Path, metavar="DIR", help="data folder (default $CSPRIOR_DATA)")
    run.add_argument("--no-images", action="store_true", help="do not save reconstructions as .npy")
    run.add_argument("--reuse", type=Path, action="append", default=[], metavar="DIR",
                     help="another results folder: copy the records of identical cells from it instead of "
                          "running them (repeatable)")
    run.set_defaults(handler=_run)

    table = actions.add_parser("table", help="mean ± std per method and setting")
    table.add_argument("folder", metavar="DIR", type=Path, help="results folder")
    table.add_argument("--format", choices=["md", "csv", "latex"], default="md")
    table.add_argument("--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    table.set_defaults(handler=_table)

    plot = actions.add_parser("plot", help="PSNR/SSIM against sampling ratio and a reconstruction grid (PNG)")
    plot.add_argument("folder", metavar="DIR", type=Path, help="results folder")
    plot.add_argument("--out", type=Path, metavar="FOLDER", help="where to write the PNGs (default DIR)")
    plot.set_defaults(handler=_plot)


def _list(args) -> int:
    from csprior.benchmarks.suite import load_suite, shipped_suites

    for name in shipped_suites():
        suite = load_suite(name)
        print(f"{name:12s} {suite.description}")
    return 0


def _run(args) -> int:
    from csprior.benchmarks.runner import run_suite
    from csprior.cli import UserError

    try:
        summary = run_suite(args.suite, args.out, resume=args.resume, workers=args.workers,
                            scheduler=args.scheduler, data_dir=args.data, save_images=not args.no_images,
                            reuse=args.reuse)
    except ImportError as exc:  # an optional package (Dask) the user asked for is missing
        raise UserError(str(exc)) from exc
    return report_run(summary)


def report_run(summary) -> int:
    """Print a run's summary; exit code 1 when cells failed, else 0."""
    for note in summary.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    if summary.total == 0:
        print("nothing to run", file=sys.stderr)
        return 0
    reused = f", {summary.reused} reused" if summary.reused else ""
    print(f"{summary.finished} cells run, {summary.already_done} already done{reused}, {len(summary.failed)} failed "
          f"(of {summary.total}) in {summary.seconds:.1f} s; results in {summary.results}")
    for line in summary.failed:
        print(f"failed: {line}", file=sys.stderr)
    if summary.failed:
        print("rerun with --resume to retry the failed cells", file=sys.stderr)
        return 1
    return 0


def _table(args) -> int:
    from csprior.atomic_file import write_text_atomic
    from csprior.benchmarks.results_store import ResultsStore
    from csprior.benchmarks.tables import format_table

    store = ResultsStore(args.folder)
    if not store.path.exists():
        raise FileNotFoundError(f"no results file {store.path}")
    text = format_table(store.records(), args.format)
    if args.output:
        write_text_atomic(args.output, text)
        print(f"table written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _plot(args) -> int:
    from csprior.benchmarks.plots import plot_results
    from csprior.benchmarks.results_store import ResultsStore

    if not ResultsStore(args.folder).path.exists():
        raise FileNotFoundError(f"no results file {ResultsStore(args.folder).path}")
    for path in plot_results(args.folder, args.out):
        print(path)
    return 0
