"""What keeping freed buffers buys (python -m csprior.benchmarks.freed_memory).

Each workload runs in fresh Python processes, once with glibc's allocator as Python starts it
(``CSPRIOR_KEEP_FREED_MEMORY=0``) and once as csprior sets it (``csprior.freed_memory``), the two
settings alternating ``--repeats`` times; the table gives the median of each and their ratio.
Workloads (CPU):

- ``denoise-default``: ``reconstruct(y, Identity)`` with no prior (csprior's default recipe: four
  independent members × five TV weights), 128², σ = 25/255, ``--iterations`` iterations; seconds.
- ``gaussian-default``: the same for Gaussian measurements of 25 % of 128² pixels; seconds.
- ``mri-default``: the same for 4 coils at 128², every fourth column and 16 central ones (the
  ConvDecoder recipe, phantom warm start included); seconds.
- ``stacked-deep-decoder`` / ``stacked-conv-decoder``: instance-iterations per second of 8
  generators at 64² fitted as one stacked network, and of the same fitted in a loop
  (``csprior.benchmarks.speed``'s batched table).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import torch

from csprior.freed_memory import SWITCH_VARIABLE, keep_freed_memory

RECONSTRUCTIONS = ("denoise-default", "gaussian-default", "mri-default")
STACKED = ("stacked-deep-decoder", "stacked-conv-decoder")
SETTINGS = {"glibc defaults": "0", "freed buffers kept": "1"}


def run_workload(name: str, iterations: int) -> dict[str, float]:
    """Measure one workload in this process; returns its figures (see the module docstring)."""
    if name in STACKED:
        from .speed import batched_throughput
        loop, stacked = batched_throughput(name.removeprefix("stacked-"), 64, 8, torch.device("cpu"),
                                           iterations, warmup=2)
        return {"loop it/s": loop, "stacked it/s": stacked}
    import csprior
    from csprior.operators import GaussianMatrix, Identity, MultiCoilPartialFourier

    generator = torch.Generator().manual_seed(0)
    image = torch.rand(128, 128, generator=generator)
    if name == "denoise-default":
        A = Identity((128, 128))
        y = image + 25 / 255 * torch.randn(128, 128, generator=generator)
    elif name == "gaussian-default":
        A = GaussianMatrix((128, 128), 0.25, seed=0)
        y = A(image)
    else:
        maps = torch.randn(4, 128, 128, dtype=torch.complex64, generator=generator)
        columns = torch.zeros(128, dtype=torch.bool)
        columns[::4] = True
        columns[56:72] = True
        A = MultiCoilPartialFourier(columns.expand(128, 128), maps)
        y = A(image.to(torch.complex64))
    start = time.perf_counter()
    csprior.reconstruct(y, A, iterations=iterations, patience=None, progress=False, device="cpu")
    return {"seconds": time.perf_counter() - start}


def measure_in_subprocess(name: str, iterations: int, switch: str) -> dict[str, float]:
    """``run_workload`` in a fresh interpreter with ``CSPRIOR_KEEP_FREED_MEMORY=switch``."""
    env = {**os.environ, SWITCH_VARIABLE: switch}
    done = subprocess.run([sys.executable, "-m", "csprior.benchmarks.freed_memory", "--worker", name,
                           "--iterations", str(iterations)], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=[*RECONSTRUCTIONS, *STACKED],
                        choices=[*RECONSTRUCTIONS, *STACKED])
    parser.add_argument("--iterations", type=int, default=40, help="iterations per reconstruction / timed steps")
    parser.add_argument("--repeats", type=int, default=2, help="processes per workload and setting")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.iterations < 2 or args.repeats < 1:
        parser.error("need --iterations >= 2 and --repeats >= 1")
    if args.worker:
        keep_freed_memory()  # honours the switch; the stacked workloads do not go through reconstruct
        print(json.dumps(run_workload(args.worker, args.iterations)))
        return
    print(f"# python -m csprior.benchmarks.freed_memory {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; CPU, "
          f"{os.environ.get('OMP_NUM_THREADS', 'default')} OMP threads; torch {torch.__version__}; "
          f"median of {args.repeats} processes per setting, {args.iterations} iterations each")
    print("| workload | figure | glibc defaults | freed buffers kept | kept / defaults |")
    print("|---|---|---|---|---|")
    for name in args.workloads:
        runs: dict[str, list[dict[str, float]]] = {setting: [] for setting in SETTINGS}
        for _ in range(args.repeats):
            for setting, switch in SETTINGS.items():
                runs[setting].append(measure_in_subprocess(name, args.iterations, switch))
        for figure in runs["glibc defaults"][0]:
            default, kept = (statistics.median(run[figure] for run in runs[setting]) for setting in SETTINGS)
            print(f"| {name} | {figure} | {default:.2f} | {kept:.2f} | {kept / default:.2f} |", flush=True)


if __name__ == "__main__":
    main()
