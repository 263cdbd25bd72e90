"""``csprior demo``: run the ``quick`` benchmark suite and print its table.

The suite needs no download (scikit-image's bundled images and a synthetic MRI phantom). Results
go to ``--out`` (default ``./csprior-demo``); a second run reuses the cells already there.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("csprior-demo")


def register(subparsers) -> None:
    """Add the ``demo`` subcommand to the top-level parser."""
    parser = subparsers.add_parser("demo", help="run the quick benchmark (minutes on a laptop CPU) and print its table",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"results folder (default ./{DEFAULT_OUT})")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local worker processes (default: one per core, at most 4)")
    parser.set_defaults(handler=_demo)


def _demo(args) -> int:
    from csprior.benchmarks.plots import plot_results
    from csprior.benchmarks.results_store import ResultsStore
    from csprior.benchmarks.runner import available_cores, run_suite
    from csprior.benchmarks.suite import expand, load_suite
    from csprior.benchmarks.tables import format_table
    from csprior.cli.bench import report_run

    suite = load_suite("quick")
    print(f"csprior demo: suite 'quick' ({suite.description}) into {args.out}")
    # the demo folder is the demo's own: a rerun continues it instead of refusing
    workers = args.workers if args.workers is not None else min(4, available_cores())
    summary = run_suite(suite, args.out, resume=True, workers=workers)
    code = report_run(summary)
    ids = {cell.id for cell in expand(suite).cells}
    records = [r for r in ResultsStore(args.out).records() if r["cell"] in ids]
    if records:
        print()
        print(format_table(records, "md"))
        for path in plot_results(args.out):
            print(f"figure: {path}")
    return code
