"""Time csprior's generators against the papers' nn.Sequential models (python -m csprior.benchmarks.speed).

One iteration is what the reconstruction engine does per step: forward pass, MSE loss to a fixed
random target, backward pass and an Adam step. Ours and the reference start from the same weights
and input and are timed alternately, one iteration each, so that a change of machine load hits
both; the table gives the median milliseconds per iteration after ``--warmup`` untimed iterations,
and the ratio reference / ours (the speed-up; above 1: ours is faster). Models: the Deep Decoder
with 64 and 128 channels (depth 5, bilinear) and the ConvDecoder (64 channels, 7 layers, 3×3, one
output channel) twice: with csprior's input size (8 pixels along the longer side, the authors'
schedule) against their layers, and with deepinv's (``in_size=(4, 4)``, biases) against deepinv's
own ``ConvDecoder`` when deepinv is installed (else the same layers as an ``nn.Sequential``); at
256² deepinv's schedule doubles every layer, which csprior evaluates on the coarse grid
(``csprior.generators.nearest_conv``). ``--compile`` adds a column for ``torch.compile`` of ours (compilation excluded).

The second table is the throughput (instance-iterations per second) of fitting ``--batch``
instances of the engine's default Deep Decoder and ConvDecoder at ``--batch-size``² (each with its
own target and seed) as one stacked network (``csprior.generators.batched``, one Adam on the sum
of the losses, as ``csprior.reconstruct`` does) against fitting them one after another.
``--csv PATH`` also writes both tables to a CSV file (atomically).

The process runs as ``csprior.reconstruct`` does on CPU, with glibc told to keep freed buffers
(``csprior.freed_memory``), unless ``--glibc-defaults`` leaves the allocator as Python starts it
(the environment the issue measured the reference in); both the reference and csprior run under
the same setting, which the header names.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import io
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from csprior.atomic_file import write_text_atomic
from csprior.freed_memory import keep_freed_memory
from csprior.generators import ConvDecoder, DeepDecoder, build_generator
from csprior.generators.base import Generator
from csprior.generators.batched import stack_generators

from .profile_fit import iteration_function
from .reference_models import (copy_parameters, deepinv_architecture, deepinv_conv_decoder, reference_conv_decoder,
                               reference_deep_decoder)

DEEPINV_ROW = "conv-decoder deepinv-arch k=64"


def model_pairs(size: int) -> dict[str, tuple[Generator, nn.Module]]:
    """``name -> (ours, reference)`` with equal weights, for a ``size×size`` output."""
    pairs = {}
    for channels in (64, 128):
        ours = DeepDecoder((size, size), channels=channels, depth=5)
        pairs[f"deep-decoder k={channels}"] = (ours, reference_deep_decoder(channels, 5))
    ours = ConvDecoder((size, size), channels=64, layers=7, out_channels=1)
    pairs["conv-decoder k=64"] = (ours, reference_conv_decoder(ours.sizes, 64, out_channels=1))
    ours = deepinv_architecture((size, size), 64)
    pairs[DEEPINV_ROW] = (ours, deepinv_conv_decoder(ours))
    for ours, reference in pairs.values():
        copy_parameters(ours, reference)
    return pairs


def deepinv_version() -> str | None:
    """The installed deepinv's version, or None."""
    try:
        return importlib.metadata.version("deepinv")
    except importlib.metadata.PackageNotFoundError:
        return None


def _timed(step: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1e3


def time_models(models: Sequence[tuple[nn.Module, torch.Tensor | None]], target: torch.Tensor,
                device: torch.device, iterations: int, warmup: int) -> list[float]:
    """Median ms per iteration of each ``(model, net_input)`` (``None``: the model's own input),
    fitting ``target``; the models are timed alternately, one iteration each."""
    steps = [iteration_function(model.to(device), net_input, target.to(device)) for model, net_input in models]
    return time_steps(steps, device, iterations, warmup)


def time_pair(ours: Generator, reference: nn.Module, device: torch.device, iterations: int,
              warmup: int, compile_ours: bool = False) -> list[float]:
    """Median ms per iteration of ``ours`` and ``reference`` (and of ``torch.compile(ours)`` when
    ``compile_ours``; its compilation happens in the warm-up), timed alternately."""
    target = torch.rand(1, ours.out_channels, *ours.out_shape, generator=torch.Generator().manual_seed(0))
    models: list[tuple[nn.Module, torch.Tensor | None]] = [(ours, None), (reference, ours.net_input.to(device))]
    if compile_ours:
        models.append((torch.compile(ours.to(device)), None))
    return time_models(models, target, device, iterations, max(warmup, 2 if compile_ours else 0))


def batched_throughput(name: str, size: int, batch: int, device: torch.device, iterations: int,
                       warmup: int) -> tuple[float, float]:
    """Instance-iterations per second of ``batch`` default ``name`` generators (seeds 0..batch-1) at
    ``size×size``: fitted one after another, and stacked into one network."""
    generators = [build_generator(name, (size, size), seed=seed).to(device) for seed in range(batch)]
    targets = torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    stacked = stack_generators(generators)
    loop = [iteration_function(g, None, target.unsqueeze(0)) for g, target in zip(generators, targets)]
    optimizer = torch.optim.Adam(stacked.parameters(), lr=0.01)

    def stacked_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        # the sum of the per-instance losses: each instance gets the gradient of its own fit
        F.mse_loss(stacked(), targets, reduction="none").flatten(1).mean(1).sum().backward()
        optimizer.step()

    def loop_step() -> None:
        for step in loop:
            step()
    loop_ms, stacked_ms = time_steps((loop_step, stacked_step), device, iterations, warmup)
    return batch * 1e3 / loop_ms, batch * 1e3 / stacked_ms


def time_steps(steps: Sequence[Callable[[], None]], device: torch.device, iterations: int,
                      warmup: int) -> list[float]:
    """Median ms of each step function, timed alternately after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for step in steps:
            step()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(iterations):
        for step, record in zip(steps, times):
            record.append(_timed(step, device))
    return [statistics.median(record) for record in times]


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512], help="output sides")
    parser.add_argument("--models", nargs="+", default=None, help="only these rows of the first table, e.g. "
                        '"deep-decoder k=64" (default: all)')
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--batch", type=int, default=8, help="instances of the batched-fitting table (0: skip)")
    parser.add_argument("--batch-size", type=int, default=64, help="output side of the batched-fitting table")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(ours)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--csv", default=None, help="also write the tables to this CSV file")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="leave glibc's allocator as it is (default: keep freed buffers, as csprior's fits do)")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0 or any(s < 32 for s in args.sizes) or args.batch < 0 \
            or args.batch_size < 8:
        parser.error("need --iterations >= 1, --warmup >= 0, sizes >= 32 (depth 5), --batch >= 0, --batch-size >= 8")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    kept = not args.glibc_defaults and keep_freed_memory()
    name += "; allocator: " + ("freed buffers kept (csprior.freed_memory)" if kept else "glibc defaults")
    print(f"# python -m csprior.benchmarks.speed {shlex.join(sys.argv[1:] if argv is None else argv)}")
    print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; device: {name}; torch "
          f"{torch.__version__}; median of {args.iterations} iterations (forward + MSE + backward + Adam step)")
    version = deepinv_version()
    print(f"reference of '{DEEPINV_ROW}': " + (f"deepinv {version}'s ConvDecoder" if version else
          "deepinv's ConvDecoder layers as an nn.Sequential (deepinv is not installed)"))
    # per-iteration rows: ms/it of the reference and of csprior; batched rows: instance-iterations/s
    rows = [("table", "model", "size", "baseline", "csprior", "speed-up", "csprior compiled")]
    compiled = " compiled ms/it |" if args.compile else ""
    print(f"| model | size | reference ms/it | csprior ms/it | speed-up (reference / csprior) |{compiled}")
    print("|---|---|---|---|---|" + ("---|" if args.compile else ""))
    for size in args.sizes:
        for label, (ours, reference) in model_pairs(size).items():
            if args.models and label not in args.models:
                continue
            ours_ms, reference_ms, *compiled_ms = time_pair(ours, reference, device, args.iterations, args.warmup,
                                                            args.compile)
            extra = f" {compiled_ms[0]:.1f} |" if compiled_ms else ""
            print(f"| {label} | {size}² | {reference_ms:.1f} | {ours_ms:.1f} | {reference_ms / ours_ms:.2f} |{extra}",
                  flush=True)
            rows.append(("per-iteration", label, size, f"{reference_ms:.2f}", f"{ours_ms:.2f}",
                         f"{reference_ms / ours_ms:.3f}", f"{compiled_ms[0]:.2f}" if compiled_ms else ""))
    if args.batch:
        print(f"\n{args.batch} instances at {args.batch_size}²: instance-iterations per second")
        print("| model | loop | stacked | speed-up |")
        print("|---|---|---|---|")
        for model in ("deep-decoder", "conv-decoder"):
            loop, stacked = batched_throughput(model, args.batch_size, args.batch, device, args.iterations,
                                               args.warmup)
            print(f"| {model} | {loop:.1f} | {stacked:.1f} | {stacked / loop:.2f} |", flush=True)
            rows.append(("batched it/s", model, args.batch_size, f"{loop:.2f}", f"{stacked:.2f}",
                         f"{stacked / loop:.3f}", ""))
    if args.csv:
        text = io.StringIO()
        text.write(f"# python -m csprior.benchmarks.speed {shlex.join(sys.argv[1:] if argv is None else argv)}; "
                   f"{name}; {datetime.date.today()}; per-iteration: ms/it (baseline = reference), batched: "
                   f"instance-iterations/s (baseline = loop)\n")
        csv.writer(text).writerows(rows)
        write_text_atomic(args.csv, text.getvalue())


if __name__ == "__main__":
    main()
