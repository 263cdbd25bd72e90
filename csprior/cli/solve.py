"""``csprior solve``: reconstruct an image from measurements you already have.

Three kinds of measurements, one option each:

- ``--matrix M.npy``: ``y = M vec(x)``, with ``y`` ``(m,)`` and ``M`` ``(m, H·W)`` read from ``.npy``
  files (real or complex; integers are read as float32), wrapped as ``csprior.operators.MatrixOperator``.
- ``--mask MASK``: inpainting; the measurements are an image (file or ``.npy`` ``(H, W)``) whose
  pixels are observed where the mask image (or boolean ``.npy``) is bright / True.
- ``--denoise``: the measurements are the noisy image itself.

The image is reconstructed from the measurements alone, its parameters (stopping, λ, the noise
level of ``bm3d`` and ``dct-wiener``) chosen from them as everywhere in csprior. The result is saved as PNG (clipped to [0, 1]; the magnitude
of a complex image) and, with ``--npy``, as the float or complex array. ``--reference`` only scores
the result (PSNR / SSIM); nothing is tuned on it.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from csprior.cli import UserError
from csprior.cli.checkpoint_option import add_checkpoint_option, checkpointed

GENERATORS = ("auto", "deep-decoder", "conv-decoder", "dip")
BASELINES = ("least-squares", "lasso", "tv", "bm3d", "dct-wiener")
DENOISERS = ("bm3d", "dct-wiener")  # baselines that need the noisy image itself


def register(subparsers) -> None:
    """Add the ``solve`` subcommand to the top-level parser."""
    parser = subparsers.add_parser("solve", help="reconstruct from your own measurements and matrix (.npy)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("measurements", type=Path,
                        help="with --matrix a .npy file y (m,); with --mask or --denoise an image file or .npy (H, W)")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--matrix", type=Path, help=".npy file: the matrix M, shape (m, H*W)")
    kind.add_argument("--mask", type=Path,
                      help="image file (bright = observed) or boolean .npy (H, W): inpaint the unobserved pixels")
    kind.add_argument("--denoise", action="store_true", help="the measurements are the noisy image")
    parser.add_argument("--shape", type=int, nargs=2, metavar=("H", "W"),
                        help="with --matrix: image shape, H*W = the matrix's columns (default: square)")
    parser.add_argument("--method", choices=GENERATORS + BASELINES, default="auto",
                        help="auto (default): csprior's strongest untrained prior for the operator; a named "
                             "untrained prior; or a baseline (lasso in the DCT and tv with λ on held-out "
                             "measurements, least-squares; with --denoise bm3d and dct-wiener, σ estimated)")
    parser.add_argument("--iterations", type=int, default=None, help="iteration budget (default: the method's own)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the initialisation and the held-out split")
    parser.add_argument("--reference", type=Path, default=None,
                        help="image file or .npy (H, W) to score the result against (not used to tune)")
    parser.add_argument("--out", type=Path, required=True, metavar="PNG", help="where to save the reconstruction")
    parser.add_argument("--npy", action="store_true", help="also save the array as OUT with suffix .npy")
    add_checkpoint_option(parser)
    parser.set_defaults(handler=_solve)


def _solve(args) -> int:
    from csprior import metrics

    if args.out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, got {args.out}")
    y, A = _problem(args)
    reference = None if args.reference is None else _reference(args.reference, A.in_shape)
    with checkpointed(args):
        result = _reconstruct(args, y, A)
        image = result.image.detach().cpu().reshape(A.in_shape).numpy()
        _save(image, args.out, args.npy)
    count = y.numel() if A.measured is None else int(A.measured.sum())
    shown = abs(image) if image.dtype.kind == "c" else image
    score = "" if reference is None else (f": PSNR {metrics.psnr(shown, reference):.2f} dB, SSIM "
                                          f"{metrics.ssim(shown, reference):.4f} against {args.reference}")
    iterative = result.stop_reason not in (None, "direct")
    stop = f", stopped at iteration {result.stop_iteration} ({result.stop_reason})" if iterative else ""
    print(f"{args.method} from {count} measurements of a {A.in_shape[0]}×{A.in_shape[1]} image{score}, "
          f"{result.seconds:.1f} s{stop}; saved {args.out}")
    return 0


def _save(image, out: Path, npy: bool) -> None:
    """``image`` as PNG (clipped to [0, 1]; a complex image's magnitude) and, if ``npy``, as ``.npy``."""
    import imageio.v3 as iio  # scikit-image's own image writer
    import numpy as np

    from csprior.atomic_file import save_npy_atomic, write_bytes_atomic

    shown = np.clip(np.abs(image) if np.iscomplexobj(image) else image, 0, 1)
    write_bytes_atomic(out, iio.imwrite("<bytes>", (shown * 255).round().astype(np.uint8), extension=".png"))
    if npy:
        save_npy_atomic(out.with_suffix(".npy"), image)


def _reference(path: Path, shape):
    """The image ``shape`` the result is scored against (a ``.npy`` array or an image file)."""
    reference = _image(path, "--reference")
    if reference.shape != tuple(shape):
        raise UserError(f"--reference must be an image of shape {tuple(shape)}, got {reference.shape}")
    return reference


def _problem(args):
    """The measurements and the operator described by the options and files, checked."""
    import torch

    from csprior.operators import Identity, Inpainting, MatrixOperator

    if args.shape is not None and args.matrix is None:
        raise UserError("--shape applies to --matrix; with --mask or --denoise the image gives the shape")
    if args.method in DENOISERS and not args.denoise:
        raise UserError(f"--method {args.method} is a denoiser: it needs --denoise")
    if args.matrix is None:
        image = torch.from_numpy(_image(args.measurements, "measurements"))
        if args.denoise:
            return image, Identity(image.shape)
        A = Inpainting(_mask(args.mask, image.shape))
        return A(image), A  # the unobserved pixels carry no information: zeroed
    matrix = _load(args.matrix, "--matrix", ndim=2)
    y = _load(args.measurements, "measurements", ndim=1)
    if y.shape[0] != matrix.shape[0]:
        raise UserError(f"measurements {args.measurements} hold {y.shape[0]} values but --matrix {args.matrix} "
                        f"has {matrix.shape[0]} rows: they must match")
    shape = _image_shape(args.shape, matrix.shape[1])
    return torch.from_numpy(y), MatrixOperator(torch.from_numpy(matrix), shape)


def _image(path: Path, option: str):
    """A real ``(H, W)`` image: a ``.npy`` array (any finite values) or an image file (grey, [0, 1])."""
    from csprior.datasets import load_image

    if path.suffix.lower() == ".npy":
        array = _load(path, option, ndim=2)
        if array.dtype.kind == "c":
            raise UserError(f"{option}: {path} must be a real image, got complex values")
        return array
    try:
        return load_image(path)[0, 0].numpy()
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(f"{option}: {exc}") from None


def _mask(path: Path, shape):
    """The boolean observation mask ``shape`` from an image file or a ``.npy`` array."""
    from csprior.operators import load_mask

    if path.suffix.lower() == ".npy":
        mask = _load(path, "--mask", ndim=2, boolean=True) != 0
    else:
        try:
            mask = load_mask(path).numpy()
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(f"--mask: {exc}") from None
    if mask.shape != tuple(shape):
        raise UserError(f"--mask must have the image's shape {tuple(shape)}, got {mask.shape}")
    if not mask.any():
        raise UserError("--mask observes no pixel: at least one must be observed (bright / True)")
    return mask


def _load(path: Path, option: str, ndim: int, boolean: bool = False):
    """A finite float32 or complex64 array with ``ndim`` axes from the ``.npy`` file at ``path``
    (booleans too when ``boolean``)."""
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{option}: no such file {path}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"{option}: {path} is not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in ("biufc" if boolean else "iufc"):
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
    from csprior.wiener import estimate_noise_std

    budget = {} if args.iterations is None else {"iterations": args.iterations}
    if args.method in GENERATORS:
        prior = None if args.method == "auto" else args.method
        return reconstruct(y, A, prior, seed=args.seed, **budget)
    if args.method == "least-squares":
        return baselines.least_squares(y, A, **budget)
    if args.method == "bm3d":
        try:
            return baselines.bm3d(y, float(estimate_noise_std(y)))
        except ImportError as exc:  # the optional package is missing: the user can install it
            raise UserError(str(exc)) from exc
    if args.method == "dct-wiener":
        return baselines.dct_wiener(y)
    solve = baselines.lasso if args.method == "lasso" else baselines.tv
    return solve(y, A, "holdout", seed=args.seed, **budget)
