"""``csprior reconstruct``: simulate measurements of one image and reconstruct it with one method.

The image (a file, or a scikit-image name such as ``camera``) is the ground truth: it is measured
with the chosen operator (plus noise if asked), reconstructed from those measurements alone, and
the result is saved as PNG (and ``.npy`` with ``--npy``) with its PSNR/SSIM printed. The problem
is built exactly as a benchmark cell is (``csprior.benchmarks.problems``), so a result here equals
the corresponding cell of a suite with the same seed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from csprior.cli import UserError
from csprior.cli.checkpoint_option import add_checkpoint_option, checkpointed

OPERATOR_KEYS = {"gaussian": "ratio", "subsample": "ratio", "inpainting": "missing", "denoise": "sigma"}


def register(subparsers) -> None:
    """Add the ``reconstruct`` subcommand to the top-level parser."""
    from csprior.benchmarks.methods import METHODS

    parser = subparsers.add_parser("reconstruct", help="measure one image and reconstruct it",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image", help="image file (PNG/JPEG/TIFF/npy) or a scikit-image name such as 'camera'")
    parser.add_argument("--size", type=int, default=64, help="resize to SIZE×SIZE (default 64)")
    parser.add_argument("--operator", choices=sorted(OPERATOR_KEYS), default="gaussian")
    parser.add_argument("--ratio", type=float, default=0.25,
                        help="gaussian/subsample: measurements per pixel m/n (default 0.25)")
    parser.add_argument("--missing", type=float, default=0.5, help="inpainting: fraction of pixels lost (default 0.5)")
    parser.add_argument("--sigma", type=float, default=25.0, help="denoise: noise std on the 0-255 scale (default 25)")
    parser.add_argument("--noise", type=float, default=0.0, help="std of noise added to the measurements (default 0)")
    parser.add_argument("--method", type=_method_name, default="auto",
                        help=f"auto (default): csprior's strongest untrained prior for the operator "
                             f"(several fits); or one of {', '.join(m for m in METHODS if m != 'auto')}; or named priors joined by + "
                             f"(deep-decoder+conv-decoder) for an --independent ensemble split between them")
    parser.add_argument("--iterations", type=int, default=None,
                        help="iteration budget (default: the method's own)")
    parser.add_argument("--ensemble", type=int, default=None, metavar="K",
                        help="average K fits from different initialisations (untrained priors only; default: "
                             "1 for a named prior, the recipe's choice for auto: 4 independent fits, 2 Deep "
                             "Decoders and 2 ConvDecoders, where measurements are at least 40 %% of the pixels; "
                             "--ensemble 1 opts out)")
    parser.add_argument("--independent", action="store_true",
                        help="fit the K members as independent problems, each with its own held-out split, "
                             "stop and TV weight (ensemble_mode='independent'); default: one shared split")
    parser.add_argument("--wiener", action="store_true",
                        help="denoise only: refine the result by the sliding-DCT Wiener filter it guides "
                             "(csprior.wiener; the method dct-wiener is the same filter from the noisy image alone)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, metavar="PNG", help="where to save the reconstruction")
    parser.add_argument("--npy", action="store_true", help="also save the float image as OUT with suffix .npy")
    add_checkpoint_option(parser)
    parser.set_defaults(handler=_reconstruct)


def _method_name(name: str) -> str:
    from csprior.benchmarks.methods import METHODS, known_method

    if not known_method(name):
        raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(METHODS)} or named priors joined by +")
    return name


def _reconstruct(args) -> int:
    import numpy as np
    import imageio.v3 as iio  # scikit-image's own image writer

    from csprior import metrics
    from csprior.atomic_file import save_npy_atomic, write_bytes_atomic
    from csprior.benchmarks.methods import run_method
    from csprior.benchmarks.problems import build_problem, describe_operator

    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, got {args.out}")
    problem = build_problem(_config(args), data_dir=None)
    spec = {"method": args.method}
    if args.iterations is not None:
        spec["iterations"] = args.iterations
    spec.update(_ensemble_options(args))
    if args.wiener:
        if args.operator != "denoise":
            raise UserError(f"--wiener refines denoising results: it needs --operator denoise, not {args.operator}")
        spec["wiener"] = True
    with checkpointed(args):
        result = run_method(spec, problem, seed=args.seed)
        image = result.image.detach().cpu().reshape(problem.reference.shape).clamp(0, 1)
        write_bytes_atomic(args.out, iio.imwrite("<bytes>", (image.numpy() * 255).round().astype(np.uint8),
                                                 extension=".png"))
        if args.npy:
            save_npy_atomic(args.out.with_suffix(".npy"), image.numpy())
    psnr = metrics.psnr(image, problem.reference, data_range=problem.data_range)
    ssim = metrics.ssim(image, problem.reference, data_range=problem.data_range)
    stop = f", stopped at iteration {result.stop_iteration} ({result.stop_reason})" if result.stop_reason else ""
    print(f"{args.method} on {describe_operator(problem_operator(args))}: PSNR {psnr:.2f} dB, SSIM {ssim:.4f}, "
          f"{result.seconds:.1f} s{stop}; saved {args.out}")
    return 0


def _ensemble_options(args) -> dict:
    from csprior.benchmarks.methods import GENERATOR_PRIORS

    mixed = "+" in args.method
    if mixed and not (args.independent and args.ensemble):
        raise UserError(f"--method {args.method} splits an independent ensemble between the priors: "
                        "give --ensemble K (at least one member per prior) and --independent")
    if args.ensemble is None and not args.independent:
        return {}
    if args.ensemble is not None and args.ensemble < 1:
        raise UserError(f"--ensemble must be at least 1, got {args.ensemble}")
    if args.method not in GENERATOR_PRIORS and not mixed:
        raise UserError(f"--ensemble and --independent apply to untrained priors {GENERATOR_PRIORS}, "
                        f"not to the baseline {args.method!r}")
    options = {"ensemble_mode": "independent" if args.independent else "joint"}
    return options if args.ensemble is None else {**options, "ensemble": args.ensemble}


def problem_operator(args) -> dict:
    """The operator table of the benchmark problem described by the command-line options."""
    key = OPERATOR_KEYS[args.operator]
    operator = {"kind": args.operator, key: getattr(args, key)}
    if args.operator != "denoise":
        operator["noise"] = args.noise
    return operator


def _config(args) -> dict:
    source = Path(args.image)
    if source.exists():
        image = {"dataset": "folder", "path": str(source.resolve()), "size": args.size}
    else:
        image = {"dataset": "skimage", "name": args.image, "size": args.size}
    return {"image": image, "operator": problem_operator(args), "seed": args.seed}
