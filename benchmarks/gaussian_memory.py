"""Peak memory and time of one forward + adjoint of a large Gaussian measurement matrix.

``python -m csprior.benchmarks.gaussian_memory [--size 256] [--ratio 0.5] [--budget-mib 1024]``

The default problem is the one the Gaussian operator must handle without its dense matrix: a
256×256 image and ``m = n/2`` measurements, whose matrix would take 8 GiB in float32. The script
builds ``GaussianMatrix`` with the given memory budget, applies ``A`` then ``A^T`` to one random
image, and prints the wall time of each and the process's peak resident memory (``ru_maxrss``)
before and after, i.e. the extra memory the application needed. The fast structured alternative
``RandomizedDCT`` is timed on the same problem for comparison.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

from csprior.operators import GaussianMatrix, RandomizedDCT
from csprior.operators.gaussian import DEFAULT_MEMORY_BUDGET


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image side (default 256)")
    parser.add_argument("--ratio", type=float, default=0.5, help="m / n (default 0.5)")
    parser.add_argument("--budget-mib", type=int, default=DEFAULT_MEMORY_BUDGET // 2 ** 20,
                        help="GaussianMatrix memory budget in MiB (default the operator's)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    shape = (1, args.size, args.size)
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    A = GaussianMatrix(shape, args.ratio, seed=0, memory_budget=args.budget_mib * 2 ** 20)
    m, n = A.out_shape[0], A.n
    print(f"GaussianMatrix {args.size}x{args.size}, n={n}, m={m}: dense matrix would take "
          f"{4 * m * n / 2 ** 30:.2f} GiB; stored={A.stored}, block_rows={A.block_rows}, "
          f"blocks={len(list(A.blocks()))}, threads={args.threads}")
    before = peak_rss_mib()
    y, t_forward = _timed(A, x)
    back, t_adjoint = _timed(A.adjoint, y)
    after = peak_rss_mib()
    print(f"forward {t_forward:.2f} s, adjoint {t_adjoint:.2f} s, forward+adjoint {t_forward + t_adjoint:.2f} s")
    print(f"peak RSS {before:.0f} MiB before, {after:.0f} MiB after (+{after - before:.0f} MiB for forward+adjoint)")

    fast = RandomizedDCT(shape, args.ratio, seed=0)
    z, t_fast_forward = _timed(fast, x)
    _, t_fast_adjoint = _timed(fast.adjoint, z)
    print(f"RandomizedDCT forward+adjoint {1e3 * (t_fast_forward + t_fast_adjoint):.1f} ms")


if __name__ == "__main__":
    main()
