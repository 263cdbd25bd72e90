"""Time csprior's generators against the papers' nn.Sequential models (python -m csprior.benchmarks.speed).

One iteration is what the reconstruction engine does per step: forward pass, MSE loss to a fixed
random target, backward pass and an Adam step. Ours and the reference start from the same weights
and input and are timed alternately, one iteration each, so that a change of machine load hits
both; the table gives the median milliseconds per iteration after ``--warmup`` untimed iterations,
and the ratio ours / reference (below 1: ours is faster). Models: the Deep Decoder with 64 and 128
channels (depth 5, bilinear) and the ConvDecoder (64 channels, 7 layers, 3×3, one output channel).
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from csprior.generators import ConvDecoder, DeepDecoder
from csprior.generators.base import Generator

from .reference_models import copy_parameters, reference_conv_decoder, reference_deep_decoder


def model_pairs(size: int) -> dict[str, tuple[Generator, nn.Module]]:
    """``name -> (ours, reference)`` with equal weights, for a ``size×size`` output."""
    pairs = {}
    for channels in (64, 128):
        ours = DeepDecoder((size, size), channels=channels, depth=5)
        pairs[f"deep-decoder k={channels}"] = (ours, reference_deep_decoder(channels, 5))
    ours = ConvDecoder((size, size), channels=64, layers=7, out_channels=1)
    pairs["conv-decoder k=64"] = (ours, reference_conv_decoder(ours.sizes, 64, out_channels=1))
    for ours, reference in pairs.values():
        copy_parameters(ours, reference)
    return pairs


def _step_function(model: nn.Module, net_input: torch.Tensor | None, target: torch.Tensor) -> Callable[[], None]:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        output = model() if net_input is None else model(net_input)
        F.mse_loss(output, target).backward()
        optimizer.step()
    return step


def _timed(step: Callable[[], None], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1e3


def time_pair(ours: Generator, reference: nn.Module, device: torch.device, iterations: int,
              warmup: int) -> tuple[float, float]:
    """Median ms per iteration of ``ours`` and ``reference``, timed alternately."""
    ours, reference = ours.to(device), reference.to(device)
    target = torch.rand(1, ours.out_channels, *ours.out_shape, generator=torch.Generator().manual_seed(0)).to(device)
    steps = (_step_function(ours, None, target), _step_function(reference, ours.net_input, target))
    for _ in range(warmup):
        for step in steps:
            step()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(iterations):
        for step, record in zip(steps, times):
            record.append(_timed(step, device))
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512], help="output sides")
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0 or any(s < 32 for s in args.sizes):
        parser.error("need --iterations >= 1, --warmup >= 0 and sizes >= 32 (depth 5)")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; median of {args.iterations} iterations "
          f"(forward + MSE + backward + Adam step)")
    print("| model | size | ours ms/it | reference ms/it | ours / reference |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        for label, (ours, reference) in model_pairs(size).items():
            ours_ms, reference_ms = time_pair(ours, reference, device, args.iterations, args.warmup)
            print(f"| {label} | {size}² | {ours_ms:.1f} | {reference_ms:.1f} | {ours_ms / reference_ms:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
