"""``csprior paper denoising``: untrained generators denoise Set11 at σ = 25/255.

The paper's Table 1 (512² colour ImageNet crops, σ = 25): noisy 20.60 dB, Deep Decoder 27.84,
DIP 25.77, BM3D 25.52. Here, on grey Set11 images resized to ``size``²:

- the noisy image itself;
- Deep Decoders with k = 64, 128 and 256 channels (at 256², 0.4, 1.5 and 6 parameters per pixel:
  the last is the over-parameterised one; each label gives its ratio), each with the authors'
  fixed budget (1900 Adam iterations at lr 0.01, their denoising notebook) and with csprior's
  automatic stopping (10 % of the pixels held out, stop where their residual is lowest, patience
  500); the best PSNR along the fixed-budget run is reported too (oracle, analysis only);
- the Deep Image Prior (Ulyanov et al.'s denoising network and settings: input noise 1/30, output
  averaging 0.99, 3000 iterations as in their F16 notebook) in ONE run per image that holds out
  10 % of the pixels for the whole budget: its last iterate is the fixed-budget result (90 % of the
  pixels fitted), the held-out choice the automatic one (halves DIP's cost, the dominant one);
- BM3D (optional package ``bm3d``, skipped with a note when missing) and TV (λ on held-out pixels).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from csprior.operators import Identity, add_gaussian_noise

from ..problems import Problem
from .images import natural_images
from .methods import Score, baseline, deep_decoder, fit_generator, mean_by_method, quality, score_output
from .output import PaperOutput, markdown_table, new_figure, save_figure

METHODS = ("deep-decoder", "dip", "bm3d", "tv")
AUTHORS_TABLE1 = {"noisy": 20.60, "deep decoder": 27.84, "DIP": 25.77, "BM3D": 25.52}
DD_ITERATIONS = 1900
DIP_ITERATIONS = 3000
_NOISE_SEED = 1


def run(out: Path, data_dir: Path | None = None, size: int = 256, images: int | None = None, sigma: float = 25.0,
        channels=(64, 128, 256), dd_iterations: int = DD_ITERATIONS,
        dip_iterations: int = DIP_ITERATIONS, patience: int = 500, methods=METHODS,
        baseline_iterations: int | None = None, seed: int = 0) -> PaperOutput:
    """Denoise each image with every method; write ``denoising.csv``, ``denoising.md``, ``denoising.png``.

    Args:
        out: output folder.
        data_dir: the shared data folder (None: scikit-image's images stand in for Set11).
        size: image side.
        images: use the first ``images`` images (sorted by name); None = all.
        sigma: noise level in grey levels of 255.
        channels: Deep Decoder channel counts.
        dd_iterations, dip_iterations: the fixed budgets.
        patience: iterations without a new held-out minimum before the automatic rule stops.
        methods: subset of ``METHODS``.
        baseline_iterations: most TV solver iterations per λ (None: its default).
        seed: seeds the noise (``seed + 1``) and the networks.
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"methods must be among {list(METHODS)}, got {sorted(unknown)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    start = time.perf_counter()
    out = Path(out)
    pictures, source = natural_images(data_dir, images, size)
    scores, notes = [], []
    for index, (name, x) in enumerate(pictures):
        problem = _problem(x, sigma / 255, seed + _NOISE_SEED + index)
        scores.append(Score(name, "σ=%g" % sigma, "noisy", "—", None, *quality(problem.y, x), 0.0))
        if "deep-decoder" in methods:
            for k in channels:
                scores += _deep_decoder(problem, name, sigma, k, dd_iterations, patience, seed)
        if "dip" in methods:
            scores += _dip(problem, name, sigma, dip_iterations, seed)
        tv_spec = {"method": "tv", "lam": "holdout"}
        if baseline_iterations:
            tv_spec["iterations"] = baseline_iterations
        for method, label, spec in (("bm3d", "BM3D", {"method": "bm3d"}), ("tv", "TV", tv_spec)):
            if method in methods:
                result = baseline(problem, spec, seed)
                if result is None:
                    notes.append(f"denoising: {label} skipped (optional package {method!r} missing)")
                    continue
                scores.append(Score(name, "σ=%g" % sigma, label, spec.get("lam", "—"), None,
                                    *quality(result.image, x), result.seconds))
    table = _table(scores)
    setting = (f"{len(pictures)} image(s) from {source} at {size}², σ = {sigma:g}/255; DD budget {dd_iterations}, "
               f"DIP budget {dip_iterations}, patience {patience}; seed {seed}")
    return score_output("denoising", out, scores, table, _markdown(table, setting, sorted(set(notes))), _plot, notes,
                        start, source if data_dir is None else None)


def _problem(x: torch.Tensor, std: float, seed: int) -> Problem:
    A = Identity(tuple(x.shape))
    return Problem(x_true=x, A=A, y=add_gaussian_noise(x, std, seed=seed), reference=x, data_range=1.0,
                   noise_std=std)


def _deep_decoder(problem, name, sigma, k, iterations, patience, seed) -> list[Score]:
    setting = "σ=%g" % sigma
    network = deep_decoder(problem, k, seed)
    label = f"deep decoder k={k} ({network.n_parameters / problem.x_true.numel():.2g} param./pixel)"
    fixed = fit_generator(problem, network, iterations=iterations, early_stopping="fixed", patience=None,
                          seed=seed)
    curve = np.array(fixed.history["psnr"])
    auto = fit_generator(problem, deep_decoder(problem, k, seed), iterations=iterations,
                         early_stopping="holdout", patience=patience, seed=seed)
    x = problem.x_true
    return [Score(name, setting, label, "fixed", iterations, *quality(fixed.image, x), fixed.seconds),
            Score(name, setting, label, "holdout", auto.stop_iteration + 1, *quality(auto.image, x), auto.seconds),
            Score(name, setting, label, "oracle", int(curve.argmax()) + 1, float(curve.max()), float("nan"), 0.0)]


def _dip(problem, name, sigma, iterations, seed) -> list[Score]:
    setting = "σ=%g" % sigma
    result = fit_generator(problem, "dip", iterations=iterations, early_stopping="holdout", patience=None, seed=seed)
    curve = np.array(result.history["psnr"])
    return [Score(name, setting, "DIP", "fixed (90% fitted)", len(curve), float(curve[-1]), float("nan"),
                  result.seconds),
            Score(name, setting, "DIP", "holdout", result.stop_iteration + 1, *quality(result.image, problem.x_true),
                  0.0),
            Score(name, setting, "DIP", "oracle", int(curve.argmax()) + 1, float(curve.max()), float("nan"), 0.0)]


def _authors(method: str, stopping: str):
    if method == "noisy":
        return AUTHORS_TABLE1["noisy"]
    if method.startswith("deep decoder k=128 ") and stopping == "fixed":
        return AUTHORS_TABLE1["deep decoder"]
    if method == "DIP" and stopping.startswith("fixed"):
        return AUTHORS_TABLE1["DIP"]
    if method == "BM3D":
        return AUTHORS_TABLE1["BM3D"]
    return None


def _table(scores: list[Score]) -> str:
    rows = [(method, stopping, psnr, ssim, iteration, count, _authors(method, stopping))
            for (method, stopping), (psnr, ssim, iteration, count) in mean_by_method(scores).items()]
    return markdown_table(["method", "stopping", "mean PSNR (dB)", "mean SSIM", "mean iteration", "images",
                           "authors' Table 1 (512² colour)"], rows)


def _markdown(table: str, setting: str, notes: list[str]) -> str:
    text = (f"# Denoising with untrained generators\n\n{setting}.\n\n{table}\n"
            "Stopping: `fixed` = the authors' iteration budget; `holdout` = csprior's automatic rule (no "
            "ground truth); `oracle` = best PSNR along the fixed-budget run (uses the ground truth: "
            "analysis only). DIP's `fixed (90% fitted)` is the last iterate of its held-out run. The "
            "authors' column is their Table 1 on 512² colour ImageNet crops: a different data set, "
            "shown for the ordering of the methods, not as a target. Per-image numbers: `denoising.csv`. "
            "Figure: `denoising.png`.\n")
    return text + "".join(f"\nNote: {note}\n" for note in notes)


def _plot(scores: list[Score], path: Path) -> Path:
    summary = mean_by_method(scores)
    labels = [f"{m}\n{s}" for m, s in summary]
    figure, axes = new_figure(1, 1, size=(max(6.0, 0.55 * len(labels)), 3.6))
    ax = axes[0, 0]
    ax.bar(range(len(labels)), [v[0] for v in summary.values()], color="C0")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set(ylabel="mean PSNR (dB)", title="denoising σ = 25/255")
    low = min(v[0] for v in summary.values())
    ax.set_ylim(low - 2, max(v[0] for v in summary.values()) + 1)
    return save_figure(figure, path)
