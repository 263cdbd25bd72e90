"""Where the milliseconds of one fitting iteration go (python -m csprior.benchmarks.profile_fit).

One iteration is what the reconstruction engine does per step: forward pass, MSE loss, backward pass
and an Adam step. For csprior's generator and for the papers' ``nn.Sequential`` model (same weights)
this prints

- the median wall-clock milliseconds per iteration, without the profiler;
- a torch.profiler breakdown: the self time of every aten operator, summed over the profiled
  iterations, grouped by the layer kind it serves (convolution/GEMM, upsampling, ReLU, batch
  normalisation, sigmoid and loss, Adam, other) and the phase it runs in (forward, backward,
  optimizer), in ms per iteration; the profiler adds its own overhead, so the rows sum to a bit
  more than the wall-clock time;
- the convolution FLOPs of one iteration (2 per multiply-add; forward, the weight gradient and the
  input gradient of every layer but the first, whose input is fixed) and the GFLOP/s this achieves
  over the whole iteration and within the convolution/GEMM operators;
- torch.matmul's GFLOP/s on this machine for a large square product and for the skinny products of
  a 1×1 convolution at this size, in both memory layouts.

Like ``csprior.benchmarks.speed`` it keeps freed buffers (``csprior.freed_memory``) unless
``--glibc-defaults`` is given; the header says which.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile

from csprior.freed_memory import keep_freed_memory
from csprior.generators import ConvDecoder, DeepDecoder

from .reference_models import (copy_parameters, deepinv_architecture, deepinv_conv_decoder, reference_conv_decoder,
                               reference_deep_decoder)

KINDS = ("conv/GEMM", "upsample", "ReLU", "batch-norm", "sigmoid+loss", "Adam", "other")
PHASES = ("forward", "backward", "optimizer")
_GEMM_OPS = {"convolution", "_convolution", "mkldnn_convolution", "_slow_conv2d_forward",
             "_slow_conv2d_backward", "convolution_backward", "mm", "bmm", "addmm", "baddbmm", "baddbmm_",
             "matmul", "_nnpack_spatial_convolution", "conv2d"}
# the statistics and the affine parts of a batch normalisation (csprior's folded one included)
_NORM_OPS = {"sum", "mean", "var_mean", "rsqrt", "pow", "pow_", "square", "addcmul"}
_RELU_OPS = {"relu", "relu_", "clamp_min", "clamp_min_", "threshold_backward"}
_LOSS_OPS = {"mse_loss", "mse_loss_backward", "sigmoid", "sigmoid_", "sigmoid_backward"}


def build_pair(model: str, size: int, channels: int) -> tuple[nn.Module, nn.Module]:
    """``(ours, reference)`` with equal weights for a ``size×size`` output and one output channel."""
    if model == "deep-decoder":
        ours = DeepDecoder((size, size), channels=channels, depth=5)
        reference = reference_deep_decoder(channels, 5)
    elif model == "conv-decoder":
        ours = ConvDecoder((size, size), channels=channels, layers=7, out_channels=1)
        reference = reference_conv_decoder(ours.sizes, channels, out_channels=1)
    elif model == "conv-decoder-deepinv":
        ours = deepinv_architecture((size, size), channels)
        reference = deepinv_conv_decoder(ours)
    else:
        raise ValueError(f'model must be "deep-decoder", "conv-decoder" or "conv-decoder-deepinv", got {model!r}')
    copy_parameters(ours, reference)
    return ours, reference


def iteration_function(model: nn.Module, net_input: torch.Tensor | None, target: torch.Tensor) -> Callable[[], None]:
    """One engine-like step of ``model``: forward, MSE to ``target``, backward, Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        output = model() if net_input is None else model(net_input)
        F.mse_loss(output, target).backward()
        optimizer.step()
    return step


def median_ms(step: Callable[[], None], iterations: int, warmup: int) -> float:
    """Median wall-clock milliseconds of ``step`` over ``iterations`` calls after ``warmup``."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _phase(event) -> str:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("Optimizer.step"):
            return "optimizer"
        if parent.name.startswith("autograd::engine::evaluate_function"):
            return "backward"
        parent = parent.cpu_parent
    return "forward"


def _kind(name: str, phase: str) -> str:
    op = name.removeprefix("aten::")
    if phase == "optimizer":
        return "Adam"
    if op in _GEMM_OPS:
        return "conv/GEMM"
    if "upsample" in op:
        return "upsample"
    if op in _RELU_OPS:
        return "ReLU"
    if "batch_norm" in op or op in _NORM_OPS:
        return "batch-norm"
    if op in _LOSS_OPS:
        return "sigmoid+loss"
    return "other"


def profile_breakdown(step: Callable[[], None], iterations: int) -> dict[tuple[str, str, str], float]:
    """``(kind, phase, operator) -> ms per iteration``: self time of the aten operators under the
    profiler."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(iterations):
            step()
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    for event in prof.events():
        if not event.name.startswith("aten::"):
            continue
        phase = _phase(event)
        totals[(_kind(event.name, phase), phase, event.name)] += event.self_cpu_time_total / 1e3 / iterations
    return dict(totals)


def conv_flops(reference: nn.Module, net_input: torch.Tensor) -> tuple[float, float]:
    """``(forward, per iteration)`` convolution FLOPs of ``reference`` (2 per multiply-add); an
    iteration adds the weight gradient of every layer and the input gradient of all but the first."""
    forward: list[float] = []

    def hook(module, inputs, output):
        kh, kw = module.kernel_size
        forward.append(2.0 * output.numel() * module.in_channels // module.groups * kh * kw)
    handles = [m.register_forward_hook(hook) for m in reference.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        reference(net_input)
    for handle in handles:
        handle.remove()
    return sum(forward), sum(forward) + 2 * sum(forward) - forward[0]


def matmul_gflops(m: int, k: int, n: int, repeats: int = 5) -> float:
    """GFLOP/s of ``torch.matmul`` on an ``m×k`` by ``k×n`` float32 product (median of ``repeats``)."""
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen)
    seconds = median_ms(lambda: torch.matmul(a, b), repeats, 1) / 1e3
    return 2.0 * m * k * n / seconds / 1e9


def _print_breakdown(label: str, wall_ms: float, totals: dict[tuple[str, str, str], float], flops: float,
                     top: int) -> None:
    by_kind: dict[tuple[str, str], float] = defaultdict(float)
    for (kind, phase, _), ms in totals.items():
        by_kind[(kind, phase)] += ms
    print(f"\n{label}: {wall_ms:.1f} ms/iteration (median, no profiler); "
          f"{flops / wall_ms / 1e6:.1f} GFLOP/s over the whole iteration")
    print("| kind | " + " | ".join(PHASES) + " | total ms/it |")
    print("|---|" + "---|" * (len(PHASES) + 1))
    for kind in KINDS:
        row = [by_kind.get((kind, phase), 0.0) for phase in PHASES]
        if sum(row):
            print(f"| {kind} | " + " | ".join(f"{v:.1f}" for v in row) + f" | {sum(row):.1f} |")
    phase_totals = [sum(v for (_, p), v in by_kind.items() if p == phase) for phase in PHASES]
    print("| all (profiled) | " + " | ".join(f"{v:.1f}" for v in phase_totals) + f" | {sum(phase_totals):.1f} |")
    gemm_ms = sum(v for (kind, _), v in by_kind.items() if kind == "conv/GEMM")
    if gemm_ms:
        print(f"convolution/GEMM operators: {gemm_ms:.1f} ms/it, {flops / gemm_ms / 1e6:.1f} GFLOP/s")
    if top:
        ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
        print(f"top {top} operators: " + ", ".join(f"{op} ({phase}) {ms:.1f}" for (_, phase, op), ms in ranked))


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deep-decoder", choices=("deep-decoder", "conv-decoder", "conv-decoder-deepinv"),
                        help="conv-decoder-deepinv: deepinv's ConvDecoder architecture against deepinv's module "
                             "(its layers as an nn.Sequential when deepinv is not installed)")
    parser.add_argument("--size", type=int, default=256, help="output side")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=10, help="timed and profiled iterations")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--top", type=int, default=8, help="list the slowest operators (0: none)")
    parser.add_argument("--glibc-defaults", action="store_true",
                        help="leave glibc's allocator as it is (default: keep freed buffers, as csprior's fits do)")
    args = parser.parse_args(argv)
    if args.size < 32 or args.iterations < 1 or args.warmup < 0:
        parser.error("need --size >= 32, --iterations >= 1, --warmup >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    ours, reference = build_pair(args.model, args.size, args.channels)
    target = torch.rand(1, 1, args.size, args.size, generator=torch.Generator().manual_seed(0))
    forward_flops, flops = conv_flops(reference, ours.net_input)
    kept = not args.glibc_defaults and keep_freed_memory()
    print(f"{args.model}, {args.channels} channels, {args.size}²; CPU, {torch.get_num_threads()} threads; "
          f"torch {torch.__version__}; allocator: {'freed buffers kept' if kept else 'glibc defaults'}")
    print(f"convolution FLOPs: {forward_flops / 1e9:.3f} G forward, {flops / 1e9:.3f} G per iteration")
    pixels = args.size * args.size
    c = args.channels
    print(f"torch.matmul: {matmul_gflops(2048, 2048, 2048):.0f} GFLOP/s on 2048×2048 @ 2048×2048, "
          f"{matmul_gflops(c, c, pixels):.0f} on {c}×{c} @ {c}×{pixels}, "
          f"{matmul_gflops(pixels, c, c):.0f} on {pixels}×{c} @ {c}×{c}")
    for label, model, net_input in (("csprior", ours, None), ("reference", reference, ours.net_input)):
        step = iteration_function(model, net_input, target)
        wall_ms = median_ms(step, args.iterations, args.warmup)
        _print_breakdown(label, wall_ms, profile_breakdown(step, args.iterations), flops, args.top)


if __name__ == "__main__":
    main()
