"""The ``csprior`` command line: the only place in csprior that prints for the user.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds a parser
whose ``handler`` default takes the parsed arguments and returns an exit code. Errors reach the
user as one line on stderr and exit code 2 (1 for unexpected failures); ``--debug`` shows the
traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from csprior.freed_memory import keep_freed_memory

SUBCOMMANDS = ["demo", "reconstruct", "solve", "mri", "bench", "paper"]


class UserError(Exception):
    """An error caused by the user's input, reported as one line without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The ``csprior`` parser with every subcommand of ``SUBCOMMANDS`` that is installed."""
    parser = argparse.ArgumentParser(prog="csprior", description=(
        "Compressive sensing and inverse problems with untrained generator priors."))
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"csprior.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"csprior.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit code (0 success,
    2 a user error reported in one line, 1 an unexpected failure, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    keep_freed_memory()  # the command line owns its process: fits and baselines reuse freed buffers
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("csprior: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, TypeError, FileNotFoundError, OSError, KeyError) as exc:
        if args.debug:
            raise
        print(f"csprior: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 -- the user gets one line, --debug shows the rest
        if args.debug:
            raise
        print(f"csprior: unexpected {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
