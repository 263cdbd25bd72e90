"""ConvDecoder λ sweeps stacked or one after another (python -m csprior.benchmarks.sweep_grouping).

The TV hybrid fits one ConvDecoder per candidate λ. ``csprior.reconstruct`` can fit those problems
in lockstep as one grouped network (``csprior.generators.batched``) or one after another; on CPU it
stacks them below ``_LOOP_CONV_DECODERS_FROM_PIXELS`` and loops from there up. This script times
both ways on the engine itself: a Shepp–Logan phantom of each size, 8 simulated coils, a 4× random
column mask (as the suites draw it),
``reconstruct(y, A, "conv-decoder", tv_weight=[five λ], early_stopping="fixed")``; each way twice,
alternately, the faster of the two kept. It prints milliseconds per iteration of the whole sweep and
the ratio stacked / looped (above 1: looping is faster).
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from csprior import operators as ops
from csprior.benchmarks.problems import _cartesian_mask
from csprior.datasets import shepp_logan, simulated_coil_maps
from csprior.hybrid import COMPLEX_TV_WEIGHT_GRID
from csprior.reconstruct import reconstruct

_engine = sys.modules["csprior.reconstruct"]  # the module: the package re-exports the function under its name
_ALWAYS_LOOP, _NEVER_LOOP = 0, float("inf")


def sweep_problem(shape: tuple[int, int], coils: int = 8):
    """``(y, A)``: the phantom at ``shape`` through ``coils`` simulated coils and a 4× column mask."""
    mask = _cartesian_mask({"acceleration": 4, "mask": "random"}, shape, seed=0)
    A = ops.MultiCoilPartialFourier(mask, simulated_coil_maps(shape, coils, seed=0))
    return A(shepp_logan(shape).to(torch.complex64)), A


def sweep_ms(y, A, loop_from_pixels: float, iterations: int) -> float:
    """Milliseconds per iteration of the five-λ sweep with the engine's switch set to ``loop_from_pixels``."""
    saved = _engine._LOOP_CONV_DECODERS_FROM_PIXELS
    _engine._LOOP_CONV_DECODERS_FROM_PIXELS = loop_from_pixels
    try:
        start = time.perf_counter()
        reconstruct(y, A, "conv-decoder", tv_weight=list(COMPLEX_TV_WEIGHT_GRID), iterations=iterations,
                    early_stopping="fixed", progress=False, device="cpu")
        return (time.perf_counter() - start) / iterations * 1000
    finally:
        _engine._LOOP_CONV_DECODERS_FROM_PIXELS = saved


def _shape(text: str) -> tuple[int, int]:
    try:
        height, width = (int(side) for side in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are HxW, e.g. 180x230, got {text!r}") from None
    if min(height, width) < 16:
        raise argparse.ArgumentTypeError(f"sides must be at least 16, got {text!r}")
    return height, width


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=_shape, default=[(64, 64), (96, 96), (128, 128), (180, 230)],
                        help="image sizes HxW (default: 64x64 96x96 128x128 180x230)")
    parser.add_argument("--iterations", type=int, default=15, help="timed iterations per run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error("--iterations must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"ConvDecoder, five-λ sweep, 8 coils; CPU, {torch.get_num_threads()} threads; torch {torch.__version__}")
    print("| size | stacked ms/it | looped ms/it | stacked / looped |\n|---|--:|--:|--:|")
    for shape in args.sizes:
        y, A = sweep_problem(shape)
        runs = {"stacked": [], "looped": []}
        for _ in range(2):
            runs["stacked"].append(sweep_ms(y, A, _NEVER_LOOP, args.iterations))
            runs["looped"].append(sweep_ms(y, A, _ALWAYS_LOOP, args.iterations))
        stacked, looped = min(runs["stacked"]), min(runs["looped"])
        print(f"| {shape[0]}×{shape[1]} | {stacked:.0f} | {looped:.0f} | {stacked / looped:.2f} |", flush=True)


if __name__ == "__main__":
    main()
