"""Time the dense-matrix products of ``GaussianMatrix`` (python -m csprior.benchmarks.dense_products).

Table 1: milliseconds of each way to apply an ``m × n`` float32 matrix (the Gaussian matrix of a
``--size``² image at ``--ratio``) to ``b`` vectors: the plain products ``V @ M^T`` and ``R @ M``
against ``csprior.operators.dense_products``' ``forward_product`` and ``adjoint_product``, timed
alternately, median of ``--repeats``.

Table 2 (``--fit``): milliseconds per iteration of what a fit does with the operator, the engine's
five-candidate λ sweep (``reconstruct(y, A, prior, tv_weight=[grid], early_stopping="fixed")``)
with the Deep Decoder at the compressive default's 128 channels and with the ConvDecoder, in three
settings timed alternately, the faster of ``--fit-repeats`` runs each: the engine before these
products (the plain ones patched in; ConvDecoders from 128² up fitted one after another on CPU),
the candidates stacked into one network with csprior's products (the engine now), and one after
another with csprior's products.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

import torch

from csprior.freed_memory import keep_freed_memory
from csprior.hybrid import TV_WEIGHT_GRID
from csprior.operators import GaussianMatrix
from csprior.operators import dense_products
from csprior.operators import gaussian as gaussian_module
from csprior.reconstruct import reconstruct

_engine = sys.modules["csprior.reconstruct"]  # the module: the package re-exports the function under its name


def plain_forward(vectors: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``vectors (b, n) @ matrix.T`` as one product, ``(b, m)``."""
    return vectors @ matrix.T


def plain_adjoint(vectors: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``vectors (b, m) @ matrix`` as one product, ``(b, n)``."""
    return vectors @ matrix


WAYS = {"V @ M^T": (plain_forward, True), "forward_product": (dense_products.forward_product, True),
        "R @ M": (plain_adjoint, False), "adjoint_product": (dense_products.adjoint_product, False)}


def product_table(matrix: torch.Tensor, counts, repeats: int) -> str:
    """Markdown table: median ms of each of ``WAYS`` for each number of vectors in ``counts``."""
    lines = ["| vectors | " + " | ".join(WAYS) + " |", "|---:|" + "---:|" * len(WAYS)]
    generator = torch.Generator().manual_seed(0)
    for count in counts:
        inputs = {True: torch.randn(count, matrix.shape[1], generator=generator),
                  False: torch.randn(count, matrix.shape[0], generator=generator)}
        times = {name: [] for name in WAYS}
        for _ in range(repeats):
            for name, (product, forward) in WAYS.items():
                start = time.perf_counter()
                product(inputs[forward], matrix)
                times[name].append(time.perf_counter() - start)
        lines.append(f"| {count} | " + " | ".join(f"{1e3 * statistics.median(t):.1f}" for t in times.values()) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def engine_setting(plain: bool, lockstep: bool):
    """While the block runs: ``GaussianMatrix`` uses the plain products if ``plain``, and the engine
    fits the problems of a call stacked (``lockstep``) or one after another."""
    saved = gaussian_module.forward_product, gaussian_module.adjoint_product, _engine._fits_in_lockstep
    if plain:
        gaussian_module.forward_product, gaussian_module.adjoint_product = plain_forward, plain_adjoint
    _engine._fits_in_lockstep = lambda prior, A, device: lockstep
    try:
        yield
    finally:
        gaussian_module.forward_product, gaussian_module.adjoint_product, _engine._fits_in_lockstep = saved


def sweep_ms(y, A, prior: str, architecture, iterations: int) -> float:
    """Milliseconds per iteration of the five-candidate λ sweep of ``prior`` on ``(y, A)``."""
    start = time.perf_counter()
    reconstruct(y, A, prior, tv_weight=list(TV_WEIGHT_GRID), iterations=iterations, early_stopping="fixed",
                architecture=architecture, progress=False, device="cpu")
    return (time.perf_counter() - start) / iterations * 1000


def fit_table(A: GaussianMatrix, size: int, iterations: int, repeats: int) -> str:
    """Markdown table: ms per sweep iteration in each setting (module docstring), per prior."""
    image = torch.rand(1, size, size, generator=torch.Generator().manual_seed(0))
    y = A(image)
    lines = ["| sweep of five | engine before | stacked, csprior's products | one after another, csprior's "
             "products | before / now |", "|---|---:|---:|---:|---:|"]
    for prior, architecture in (("deep-decoder", {"channels": 128}), ("conv-decoder", None)):
        looped_before = prior == "conv-decoder" and size * size >= _engine._LOOP_CONV_DECODERS_FROM_PIXELS
        settings = {"before": (True, not looped_before), "stacked": (False, True), "looped": (False, False)}
        times = {name: [] for name in settings}
        sweep_ms(y, A, prior, architecture, 2)  # warm-up: first allocations, oneDNN's kernel choice
        for _ in range(repeats):
            for name, (plain, lockstep) in settings.items():
                with engine_setting(plain, lockstep):
                    times[name].append(sweep_ms(y, A, prior, architecture, iterations))
        best = {name: min(values) for name, values in times.items()}
        now = best["stacked"] if _engine._fits_in_lockstep(prior, A, torch.device("cpu")) else best["looped"]
        name = prior + (" 128 ch." if architecture else "")
        lines.append(f"| {name} | {best['before']:.1f} | {best['stacked']:.1f} | {best['looped']:.1f} | "
                     f"{best['before'] / now:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="image side (default 128)")
    parser.add_argument("--ratio", type=float, default=0.5, help="measurements per pixel (default 0.5)")
    parser.add_argument("--vectors", type=int, nargs="+", default=[1, 2, 5, 10], help="vectors per product")
    parser.add_argument("--repeats", type=int, default=7, help="timings per product (median kept)")
    parser.add_argument("--fit", action="store_true", help="also time the engine's λ sweep (table 2)")
    parser.add_argument("--fit-iterations", type=int, default=10, help="iterations per timed sweep")
    parser.add_argument("--fit-repeats", type=int, default=2, help="timed sweeps per setting (fastest kept)")
    args = parser.parse_args(argv)
    if args.size < 8 or not 0 < args.ratio <= 1 or min(args.vectors) < 1 or args.repeats < 1:
        parser.error("--size must be at least 8, --ratio in (0, 1], --vectors and --repeats at least 1")
    keep_freed_memory()
    A = GaussianMatrix((1, args.size, args.size), args.ratio, seed=0)
    if not A.stored:
        parser.error(f"the {A.out_shape[0]} × {A.n} matrix exceeds the operator's memory budget")
    print(f"# {args.size}² image, {args.ratio:.0%} measurements: matrix {A.out_shape[0]} × {A.n} float32, "
          f"{torch.get_num_threads()} threads; median ms of {args.repeats}")
    print(product_table(A.matrix, args.vectors, args.repeats))
    if args.fit:
        print(f"\n# ms per iteration of the λ sweep, fastest of {args.fit_repeats} runs of {args.fit_iterations}")
        print(fit_table(A, args.size, args.fit_iterations, args.fit_repeats))


if __name__ == "__main__":
    main()
