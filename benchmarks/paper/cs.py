"""``csprior paper cs``: compressive sensing of natural images with the Deep Decoder vs sparsity.

After Heckel & Soltanolkotabi's ICML 2020 follow-up ("Compressive sensing with un-trained neural
networks"): Set11 images at ``size``² (64² here), measured

- by i.i.d. Gaussian matrices (``GaussianMatrix``) with m/n = 10, 25 and 50 %, noise-free, and
- by 4× Cartesian partial Fourier sampling (``fastmri_mask("random", ...)``, centre fraction 0.08),
  the real image taken as a complex one,

and reconstructed by the Deep Decoder (k = 64, automatic held-out stopping, no ground truth), the
Lasso in the db4 wavelet basis and TV (λ chosen on held-out measurements) and least squares
(minimum-norm; zero-filled for partial Fourier). PSNR/SSIM are of the magnitude against the image.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from csprior.operators import GaussianMatrix, PartialFourier, fastmri_mask

from ..problems import Problem
from .images import natural_images
from .methods import Score, baseline, deep_decoder, fit_generator, mean_by_method, quality, score_output
from .output import PaperOutput, markdown_table, new_figure, save_figure

log = logging.getLogger(__name__)

METHODS = ("deep-decoder", "lasso", "tv", "least-squares")
BASELINE_SPECS = {"lasso": ("Lasso (db4)", {"method": "lasso", "basis": "db4", "lam": "holdout"}),
                  "tv": ("TV", {"method": "tv", "lam": "holdout"}),
                  "least-squares": ("least squares", {"method": "least-squares"})}
RATIOS = (0.1, 0.25, 0.5)
CENTER_FRACTION = 0.08


def run(out: Path, data_dir: Path | None = None, size: int = 64, images: int | None = None, ratios=RATIOS,
        acceleration: float = 4.0, iterations: int = 3000, patience: int = 500, methods=METHODS,
        baseline_iterations: int | None = None, seed: int = 0) -> PaperOutput:
    """Reconstruct each image from each measurement setting; write ``cs.csv``, ``cs.md``, ``cs.png``.

    Args:
        out: output folder.
        data_dir: the shared data folder (None: scikit-image's images stand in for Set11).
        size: image side.
        images: use the first ``images`` images (sorted by name); None = all.
        ratios: Gaussian sampling ratios m/n.
        acceleration: partial Fourier undersampling factor (0 or None: left out).
        iterations: the Deep Decoder's maximum iterations.
        patience: iterations without a new held-out minimum before the Deep Decoder stops.
        methods: subset of ``METHODS``.
        baseline_iterations: most solver iterations per λ of Lasso and TV (None: their defaults).
        seed: seeds the operators (``seed + image index``) and the networks.
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"methods must be among {list(METHODS)}, got {sorted(unknown)}")
    if any(not 0 < r <= 1 for r in ratios):
        raise ValueError(f"ratios must lie in (0, 1], got {list(ratios)}")
    start = time.perf_counter()
    out = Path(out)
    pictures, source = natural_images(data_dir, images, size)
    scores, notes = [], []
    for index, (name, x) in enumerate(pictures):
        for setting, problem in _problems(x, ratios, acceleration, seed + index):
            if "deep-decoder" in methods:
                result = fit_generator(problem, deep_decoder(problem, 64, seed), iterations=iterations,
                                       early_stopping="holdout", patience=patience, seed=seed)
                scores.append(Score(name, setting, "deep decoder k=64", "holdout", result.stop_iteration + 1,
                                    *quality(result.image, x), result.seconds))
            for method in (m for m in METHODS[1:] if m in methods):
                label, spec = BASELINE_SPECS[method]
                if baseline_iterations and method != "least-squares":
                    spec = {**spec, "iterations": baseline_iterations}
                result = _baseline_or_note(problem, spec, seed, f"cs: {label} on {setting}", notes)
                if result is not None:
                    scores.append(Score(name, setting, label, spec.get("lam", "—"), None,
                                        *quality(result.image, x), result.seconds))
    table = _table(scores)
    setting = (f"{len(pictures)} image(s) from {source} at {size}²; Deep Decoder ≤ {iterations} iterations, "
               f"patience {patience}; seed {seed}")
    return score_output("cs", out, scores, table, _markdown(table, setting, sorted(set(notes))), _plot, notes,
                        start, source if data_dir is None else None)


def _problems(x: torch.Tensor, ratios, acceleration, seed: int):
    shape = tuple(x.shape)
    for ratio in ratios:
        A = GaussianMatrix(shape, float(ratio), seed=seed)
        yield f"gaussian {100 * ratio:g}%", Problem(x_true=x, A=A, y=A(x), reference=x, data_range=1.0, noise_std=0.0)
    if acceleration:
        columns, _ = fastmri_mask("random", shape[1], [CENTER_FRACTION], [acceleration], seed=seed)
        A = PartialFourier(columns, height=shape[0])
        complex_x = x.to(torch.complex64)
        yield (f"fourier {acceleration:g}×", Problem(x_true=complex_x, A=A, y=A(complex_x), reference=x,
                                                     data_range=1.0, noise_std=0.0))


def _baseline_or_note(problem, spec, seed, what: str, notes: list[str]):
    """The baseline's result, or None with a note when it cannot take this problem (e.g. complex data)."""
    try:
        result = baseline(problem, spec, seed)
    except (TypeError, ValueError, NotImplementedError) as exc:
        log.warning("%s failed: %s", what, exc)
        notes.append(f"{what} not run: {exc}")
        return None
    if result is None:
        notes.append(f"{what} skipped: optional package missing")
    return result


def _table(scores: list[Score]) -> str:
    settings = list(dict.fromkeys(s.setting for s in scores))
    methods = list(dict.fromkeys(s.method for s in scores))
    summaries = {setting: mean_by_method([s for s in scores if s.setting == setting]) for setting in settings}
    rows = []
    for method in methods:
        row = [method]
        for setting in settings:
            found = [v for (m, _), v in summaries[setting].items() if m == method]
            row.append(f"{found[0][0]:.2f} / {found[0][1]:.3f}" if found else "—")
        rows.append(row)
    return markdown_table(["method (mean PSNR dB / SSIM)", *settings], rows)


def _markdown(table: str, setting: str, notes: list[str]) -> str:
    text = (f"# Compressive sensing with the Deep Decoder\n\n{setting}.\n\n{table}\n"
            "Gaussian: noise-free y = A x, A with i.i.d. N(0, 1/m) entries. Fourier: 4× random Cartesian "
            "columns (fastMRI's mask, centre fraction 0.08) on the image taken as complex. Every method's "
            "parameters come from held-out measurements: no ground truth is used. Per-image numbers: "
            "`cs.csv`. Figure: `cs.png`.\n")
    return text + "".join(f"\nNote: {note}\n" for note in notes)


def _plot(scores: list[Score], path: Path) -> Path:
    settings = list(dict.fromkeys(s.setting for s in scores))
    methods = list(dict.fromkeys(s.method for s in scores))
    figure, axes = new_figure(1, 1, size=(6.4, 3.6))
    ax = axes[0, 0]
    width = 0.8 / max(len(methods), 1)
    for j, method in enumerate(methods):
        means = []
        for setting in settings:
            values = [s.psnr for s in scores if s.setting == setting and s.method == method]
            means.append(sum(values) / len(values) if values else float("nan"))
        ax.bar([i + j * width for i in range(len(settings))], means, width, label=method)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(settings))], settings)
    ax.set(ylabel="mean PSNR (dB)", title="compressive sensing")
    ax.legend(fontsize=7)
    return save_figure(figure, path)
