"""``csprior solve``: reconstruct an image from measurements you already have, ``y = M vec(x)``.

The measurements ``y`` ``(m,)`` and the matrix ``M`` ``(m, H·W)`` are read from ``.npy`` files
(real or complex; integers are read as float32) and wrapped as ``csprior.operators.MatrixOperator``;
the image is reconstructed from them alone, its parameters (stopping, λ) chosen on held-out
measurements as everywhere in csprior. The result is saved as PNG (clipped to [0, 1]; the magnitude
of a complex image) and, with ``--npy``, as the float or complex array. ``--reference`` only scores
the result (PSNR / SSIM); nothing is tuned on it.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from csprior.cli import UserError

GENERATORS = ("auto", "deep-decoder", "conv-decoder", "dip")
BASELINES = ("least-squares", "lasso", "tv")


def register(subparsers) -> None:
    """Add the ``solve`` subcommand to the top-level parser."""
    parser = subparsers.add_parser("solve", help="reconstruct from your own measurements and matrix (.npy)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("measurements", type=Path, help=".npy file: the measurements y, shape (m,)")
    parser.add_argument("--matrix", type=Path, required=True, help=".npy file: the matrix M, shape (m, H*W)")
    parser.add_argument("--shape", type=int, nargs=2, metavar=("H", "W"),
                        help="image shape, H*W = the matrix's columns (default: square)")
    parser.add_argument("--method", choices=GENERATORS + BASELINES, default="auto",
                        help="auto (default): csprior's strongest untrained prior for the operator; a named "
                             "untrained prior; or a baseline (lasso in the DCT and tv with λ on held-out "
                             "measurements, least-squares)")
    parser.add_argument("--iterations", type=int, default=None, help="iteration budget (default: the method's own)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initialisation and the held-out split")
    parser.add_argument("--reference", type=Path, default=None,
                        help=".npy file: an image (H, W) to score the result against (not used to tune)")
    parser.add_argument("--out", type=Path, required=True, metavar="PNG", help="where to save the reconstruction")
    parser.add_argument("--npy", action="store_true", help="also save the array as OUT with suffix .npy")
    parser.set_defaults(handler=_solve)


def _solve(args) -> int:
    import numpy as np
    import imageio.v3 as iio  # scikit-image's own image writer

    from csprior import metrics
    from csprior.atomic_file import save_npy_atomic, write_bytes_atomic

    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, got {args.out}")
    y, A = _problem(args)
    result = _reconstruct(args, y, A)
    image = result.image.detach().cpu().reshape(A.in_shape).numpy()
    shown = np.clip(np.abs(image) if np.iscomplexobj(image) else image, 0, 1)
    write_bytes_atomic(args.out, iio.imwrite("<bytes>", (shown * 255).round().astype(np.uint8), extension=".png"))
    if args.npy:
        save_npy_atomic(args.out.with_suffix(".npy"), image)
    stop = f", stopped at iteration {result.stop_iteration} ({result.stop_reason})" if result.stop_reason else ""
    score = ""
    if args.reference is not None:
        reference = _load(args.reference, "--reference", ndim=2)
        if reference.shape != A.in_shape or np.iscomplexobj(reference):
            raise UserError(f"--reference must be a real image of shape {A.in_shape}, got {reference.dtype} "
                            f"{reference.shape}")
        magnitude = np.abs(image)
        score = (f": PSNR {metrics.psnr(magnitude, reference):.2f} dB, "
                 f"SSIM {metrics.ssim(magnitude, reference):.4f} against {args.reference}")
    print(f"{args.method} from {y.shape[-1]} measurements of a {A.in_shape[0]}×{A.in_shape[1]} image{score}, "
          f"{result.seconds:.1f} s{stop}; saved {args.out}")
    return 0


def _problem(args):
    """The measurements ``(m,)`` and the ``MatrixOperator`` described by the files, checked."""
    import torch

    from csprior.operators import MatrixOperator

    matrix = _load(args.matrix, "--matrix", ndim=2)
    y = _load(args.measurements, "measurements", ndim=1)
    if y.shape[0] != matrix.shape[0]:
        raise UserError(f"measurements {args.measurements} hold {y.shape[0]} values but --matrix {args.matrix} "
                        f"has {matrix.shape[0]} rows: they must match")
    shape = _image_shape(args.shape, matrix.shape[1])
    return torch.from_numpy(y), MatrixOperator(torch.from_numpy(matrix), shape)


def _load(path: Path, option: str, ndim: int):
    """A finite float32 or complex64 array with ``ndim`` axes from the ``.npy`` file at ``path``."""
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{option}: no such file {path}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"{option}: {path} is not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufc" or array.dtype.kind == "b":
        raise UserError(f"{option}: {path} must hold a numeric array, got {getattr(array, 'dtype', type(array))}")
    if array.ndim != ndim:
        raise UserError(f"{option}: {path} must have {ndim} axes, got shape {array.shape}")
    if array.size == 0 or not np.isfinite(array).all():
        raise UserError(f"{option}: {path} must be non-empty and finite (no NaN or Inf)")
    return np.ascontiguousarray(array, dtype=np.complex64 if array.dtype.kind == "c" else np.float32)


def _image_shape(shape, columns: int) -> tuple[int, int]:
    """``(H, W)`` from ``--shape``, or the square of ``columns`` pixels."""
    if shape is None:
        side = math.isqrt(columns)
        if side * side != columns:
            raise UserError(f"--matrix has {columns} columns, not a square image: give --shape H W")
        return side, side
    if min(shape) < 1 or shape[0] * shape[1] != columns:
        raise UserError(f"--shape {shape[0]} {shape[1]} must have H*W = {columns}, the matrix's columns")
    return tuple(shape)


def _reconstruct(args, y, A):
    from csprior import baselines, reconstruct

    budget = {} if args.iterations is None else {"iterations": args.iterations}
    if args.method in GENERATORS:
        prior = None if args.method == "auto" else args.method
        return reconstruct(y, A, prior, seed=args.seed, **budget)
    if args.method == "least-squares":
        return baselines.least_squares(y, A, **budget)
    solve = baselines.lasso if args.method == "lasso" else baselines.tv
    return solve(y, A, "holdout", seed=args.seed, **budget)
