"""``csprior paper``: reproduce the claims of Heckel & Soltanolkotabi (ICLR 2020), one command each.

    csprior paper kernels   --out DIR [--n 300]
    csprior paper fitting   --out DIR [--data DIR] [--size 128] [--iterations 1000] [--optimizers sgd,adam]
    csprior paper two-layer --out DIR [--n 512] [--iterations 3500] [--signal step|smooth] [--channels 64]
                            [--filter-width 10]
    csprior paper denoising --out DIR [--data DIR] [--size 256] [--images N] [--sigma 25] [--channels 64,128,256]
                            [--dd-iterations 1900] [--dip-iterations 3000] [--patience 500]
                            [--methods deep-decoder,dip,bm3d,tv] [--baseline-iterations N]
    csprior paper cs        --out DIR [--data DIR] [--size 64] [--images N] [--ratios 0.1,0.25,0.5]
                            [--acceleration 4] [--iterations 3000] [--patience 500]
                            [--methods deep-decoder,lasso,tv,least-squares] [--baseline-iterations N]

Every action also takes --threads N (torch CPU threads) and, except kernels (which draws nothing at
random), --seed S.

Each writes DIR/NAME.csv, DIR/NAME.md and PNG figures and prints the summary table. Every CSV and
Markdown file names the command (all options spelt out), the machine, the date and the settings that
differ from the defaults; NAME.md ends with the wall time. Experiments on images read the shared
data folder (--data or $CSPRIOR_DATA); without it scikit-image's bundled images stand in (said in
the output).
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``paper`` subcommand and one action per experiment to the top-level parser."""
    parser = subparsers.add_parser("paper", help="reproduce the ICLR 2020 paper's claims (tables and figures)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="experiment", metavar="NAME", required=True)

    kernels = _action(actions, "kernels", "dual kernel spectra of the two-layer generator", data=False,
                      seeded=False)
    kernels.add_argument("--n", type=_positive_int, default=300, help="signal length (default 300)")

    fitting = _action(actions, "fitting", "fit the phantom and noise with four architectures")
    fitting.add_argument("--size", type=_positive_int, default=128, help="image side (default 128)")
    fitting.add_argument("--iterations", type=_positive_int, default=1000, help="iterations (default 1000)")
    fitting.add_argument("--optimizers", type=_names, default=("sgd", "adam"), help="sgd,adam (default both)")

    two_layer = _action(actions, "two-layer", "two-layer generator and 1-D deep decoder on a noisy signal",
                        data=False)
    two_layer.add_argument("--n", type=_positive_int, default=512, help="signal length, a multiple of 32")
    two_layer.add_argument("--iterations", type=_positive_int, default=3500, help="iterations (default 3500)")
    two_layer.add_argument("--signal", choices=["step", "smooth"], default="step")
    two_layer.add_argument("--channels", type=_positive_int, default=64, help="channels k (default 64)")
    two_layer.add_argument("--filter-width", type=_positive_int, default=10,
                           help="half-width p of the triangle filter (default 10)")

    denoising = _action(actions, "denoising", "Set11 denoising at σ = 25: DD, DIP, BM3D, TV")
    denoising.add_argument("--size", type=_positive_int, default=256, help="image side (default 256)")
    denoising.add_argument("--images", type=_positive_int, help="first N images (default all)")
    denoising.add_argument("--sigma", type=float, default=25.0, help="noise σ in grey levels (default 25)")
    denoising.add_argument("--channels", type=_int_list, default=(64, 128, 256),
                           help="Deep Decoder channels (default 64,128,256)")
    denoising.add_argument("--dd-iterations", type=_positive_int, default=1900, help="DD budget (default 1900)")
    denoising.add_argument("--dip-iterations", type=_positive_int, default=3000, help="DIP budget (default 3000)")
    denoising.add_argument("--patience", type=_positive_int, default=500, help="automatic-stopping patience")
    denoising.add_argument("--methods", type=_names, default=("deep-decoder", "dip", "bm3d", "tv"),
                           help="subset of deep-decoder,dip,bm3d,tv (default all)")
    denoising.add_argument("--baseline-iterations", type=_positive_int,
                           help="most TV solver iterations per λ (default: the baseline's)")

    cs = _action(actions, "cs", "compressive sensing: DD vs Lasso vs TV vs least squares")
    cs.add_argument("--size", type=_positive_int, default=64, help="image side (default 64)")
    cs.add_argument("--images", type=_positive_int, help="first N images (default all)")
    cs.add_argument("--ratios", type=_float_list, default=(0.1, 0.25, 0.5), help="Gaussian m/n (default 0.1,0.25,0.5)")
    cs.add_argument("--acceleration", type=float, default=4.0, help="partial Fourier factor, 0 to leave out")
    cs.add_argument("--iterations", type=_positive_int, default=3000, help="DD maximum iterations (default 3000)")
    cs.add_argument("--patience", type=_positive_int, default=500, help="automatic-stopping patience")
    cs.add_argument("--methods", type=_names, default=("deep-decoder", "lasso", "tv", "least-squares"),
                    help="subset of deep-decoder,lasso,tv,least-squares (default all)")
    cs.add_argument("--baseline-iterations", type=_positive_int,
                    help="most Lasso/TV solver iterations per λ (default: the baselines')")


def _action(actions, name: str, help: str, data: bool = True, seeded: bool = True) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=help)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    if seeded:
        parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: torch's choice)")
    if data:
        parser.add_argument("--data", type=Path, metavar="DIR", help="data folder (default $CSPRIOR_DATA)")
    parser.set_defaults(handler=_run)
    return parser


def _run(args) -> int:
    import torch

    from csprior.benchmarks.paper import EXPERIMENTS
    from csprior.benchmarks.paper.output import provenance, write_text
    from csprior.benchmarks.suite import resolve_data_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    options = {key: value for key, value in vars(args).items()
               if key not in ("command", "experiment", "handler", "debug", "threads")}
    if "data" in options:
        options["data_dir"] = resolve_data_dir(options.pop("data"))
    options = {key.replace("-", "_"): value for key, value in options.items()}
    started = time.perf_counter()
    with provenance(_provenance_line(args)):
        output = EXPERIMENTS[args.experiment](**options)
    seconds = time.perf_counter() - started
    markdown = Path(args.out) / f"{args.experiment}.md"
    write_text(markdown, markdown.read_text(encoding="utf-8") + f"\nWall time: {seconds:.0f} s.\n")
    sys.stdout.write(output.table)
    for note in output.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in output.files:
        print(path)
    print(f"{args.experiment} finished in {seconds:.1f} s")
    return 0


def _provenance_line(args) -> str:
    """The equivalent command with every option spelt out, the machine and the date (UTC)."""
    import torch

    from csprior.cli import build_parser

    defaults = vars(build_parser().parse_args(["paper", args.experiment, "--out", str(args.out)]))
    words, changed = ["csprior", "paper", args.experiment], []
    for key, value in vars(args).items():
        if key in ("command", "experiment", "handler", "debug") or value is None:
            continue
        flag = f"--{key.replace('_', '-')}"
        words += [flag, shlex.quote(_shown(value))]
        if key not in ("out", "data", "threads") and value != defaults.get(key):
            changed.append(f"{flag} {_shown(value)} (default {_shown(defaults.get(key))})")
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    # settings reduced (or changed) from the defaults are named, so a smaller run is never mistaken for the full one
    differs = f" Differs from the defaults: {'; '.join(changed)}." if changed else ""
    return (f"Command: `{' '.join(words)}`; machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), "
            f"OMP_NUM_THREADS={threads}, torch {torch.__version__} with {torch.get_num_threads()} thread(s); "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.{differs}")


def _shown(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_shown(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(_positive_int(part) for part in _names(text))


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in _names(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
