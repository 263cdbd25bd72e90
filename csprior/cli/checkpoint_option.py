"""``--checkpoint DIR``: the fits of one ``reconstruct`` or ``solve`` command saved as they run, so
the same command run again after an interruption continues them (``csprior.resumable``)."""
from __future__ import annotations

import argparse
import contextlib
import shutil
from pathlib import Path


def add_checkpoint_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, default=None, metavar="DIR",
                        help="save the fit every few minutes in DIR; the same command run again continues "
                             "from there (DIR is removed once the result is saved)")


@contextlib.contextmanager
def checkpointed(args):
    """Run the block's fits resumably in ``args.checkpoint`` (nothing when it is None); the folder is
    removed when the block, which saves the result, ends without an error."""
    from csprior.resumable import resumable

    with resumable(args.checkpoint):
        yield
    if args.checkpoint is not None:
        shutil.rmtree(args.checkpoint)
