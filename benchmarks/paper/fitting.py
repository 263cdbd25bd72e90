"""``csprior paper fitting``: convolutional generators fit an image much faster than noise when
their convolutions use fixed interpolating filters (Heckel & Soltanolkotabi 2020, Fig. 1 and 4).

Targets: the Deep Decoder authors' phantom and uniform noise in [0, 1) of the same size. Networks,
all with about 25 000 parameters at the defaults:

- ``deep decoder``: ``DeepDecoder`` (1×1 convolutions, fixed bilinear ×2 upsampling), k = 64;
- ``fixed kernels``: ``FixedKernelNet`` (1×1 convolutions and a fixed 3×3 interpolating filter at
  full size, no upsampling), k = 64, ``depth + 1`` blocks;
- ``learned 3×3``: ``ConvNet3x3`` (learned 3×3 convolutions at full size), k = 24, 5 layers;
- ``transposed``: ``TransposedConvDecoder`` (learned stride-2 4×4 transposed convolutions), k = 18.

Each is fitted with ``csprior.reconstruct`` (identity operator, fixed iteration budget, loss = mean
squared error over the pixels) by SGD with momentum 0.9 (as the authors) and by Adam.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from csprior import reconstruct
from csprior.generators import ConvNet3x3, DeepDecoder, TransposedConvDecoder
from csprior.generators.registry import deep_decoder_depth
from csprior.operators import Identity

from .fixed_kernel_net import FixedKernelNet
from .images import phantom
from .output import (PaperOutput, log_spaced_iterations, markdown_table, new_figure, save_figure, write_csv,
                     write_text)

OPTIMIZERS = {"sgd": 0.1, "adam": 0.01}  # learning rates: SGD with momentum 0.9; Adam at the Deep Decoder's
ARCHITECTURES = ("deep decoder", "fixed kernels", "learned 3×3", "transposed")
_REPORTED = (100, 1000)


def build_architecture(name: str, shape: tuple[int, int], seed: int = 0):
    """The network ``name`` (see ``ARCHITECTURES``) for ``shape``, output ``(1, 1, H, W)`` in [0, 1]."""
    depth = deep_decoder_depth(shape)
    if name == "deep decoder":
        return DeepDecoder(shape, channels=64, depth=depth, seed=seed)
    if name == "fixed kernels":
        return FixedKernelNet(shape, channels=64, layers=depth + 1, seed=seed)
    if name == "learned 3×3":
        return ConvNet3x3(shape, channels=24, layers=5, seed=seed)
    if name == "transposed":
        return TransposedConvDecoder(shape, channels=18, depth=depth, seed=seed)
    raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {name!r}")


def run(out: Path, data_dir: Path | None = None, size: int = 128, iterations: int = 1000,
        optimizers=tuple(OPTIMIZERS), seed: int = 0) -> PaperOutput:
    """Fit every network to the phantom and to noise; write ``fitting.csv``, ``fitting.md``, ``fitting.png``.

    Args:
        out: output folder.
        data_dir: the shared data folder (None: scikit-image's Shepp–Logan phantom stands in).
        size: image side.
        iterations: iterations of every fit.
        optimizers: names among ``OPTIMIZERS``.
        seed: seeds the noise target and the networks.
    """
    unknown = set(optimizers) - set(OPTIMIZERS)
    if unknown or not optimizers:
        raise ValueError(f"optimizers must be among {list(OPTIMIZERS)}, got {list(optimizers)}")
    if iterations < 1:
        raise ValueError(f"iterations must be positive, got {iterations}")
    start = time.perf_counter()
    out = Path(out)
    image, source = phantom(data_dir, size)
    targets = {"image": image, "noise": torch.rand(image.shape, generator=torch.Generator().manual_seed(seed))}
    curves, parameters = {}, {}
    for optimizer in optimizers:
        for name in ARCHITECTURES:
            network = build_architecture(name, tuple(image.shape), seed)
            parameters[name] = network.n_parameters
            for target, y in targets.items():
                result = reconstruct(y, Identity(tuple(y.shape)), network, iterations=iterations,
                                     lr=OPTIMIZERS[optimizer], optimizer=optimizer, early_stopping="fixed",
                                     seed=seed, progress=False, device="cpu")
                curves[optimizer, name, target] = np.array(result.history["loss"])
    grid = log_spaced_iterations(iterations, keep=_REPORTED)
    files = [write_csv(out / "fitting.csv", ["optimizer", "architecture", "target", "iteration", "mse"],
                       ({"optimizer": o, "architecture": a, "target": t, "iteration": i, "mse": float(c[i - 1])}
                        for (o, a, t), c in curves.items() for i in grid if i <= len(c)))]
    table = _table(curves, parameters, iterations)
    setting = (f"{source} at {size}², uniform noise of the same size; {iterations} iterations; SGD lr "
               f"{OPTIMIZERS['sgd']} momentum 0.9, Adam lr {OPTIMIZERS['adam']}; seed {seed}")
    files.append(write_text(out / "fitting.md", _markdown(table, setting)))
    files.append(_plot(curves, optimizers, out / "fitting.png"))
    notes = [] if data_dir is not None else [f"fitting: {source}"]
    return PaperOutput("fitting", table, files, time.perf_counter() - start, notes)


def _table(curves, parameters, iterations: int) -> str:
    checkpoints = [c for c in _REPORTED if c < iterations] + [iterations]
    rows = []
    for (optimizer, name, target), curve in curves.items():
        if target != "image":
            continue
        noise = curves[optimizer, name, "noise"]
        row = [optimizer, name, parameters[name]]
        for c in checkpoints:
            row += [float(curve[c - 1]), float(noise[c - 1])]
        rows.append(row + [float(noise[-1] / curve[-1])])
    header = ["optimizer", "network", "parameters"]
    for c in checkpoints:
        header += [f"image MSE @{c}", f"noise MSE @{c}"]
    return markdown_table(header + ["noise/image MSE at the end"], rows)


def _markdown(table: str, setting: str) -> str:
    return ("# Fitting an image and noise with convolutional generators\n\n"
            f"{setting}.\n\n{table}\nMSE = mean squared error of the fit over the pixels (the training loss). "
            "Figure: `fitting.png` (MSE against iteration, log–log; solid = image, dashed = noise).\n")


def _plot(curves, optimizers, path: Path) -> Path:
    figure, axes = new_figure(1, len(optimizers), size=(4.6, 3.6))
    for ax, optimizer in zip(axes[0], optimizers):
        for colour, name in enumerate(ARCHITECTURES):
            for target, style in (("image", "-"), ("noise", "--")):
                curve = curves[optimizer, name, target]
                ax.loglog(np.arange(1, curve.size + 1), curve, linestyle=style, color=f"C{colour}",
                          label=f"{name} ({target})")
        ax.set(title=f"{optimizer.upper()}", xlabel="iteration", ylabel="training MSE")
    axes[0, 0].legend(fontsize=7)
    return save_figure(figure, path)
