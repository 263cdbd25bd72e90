"""Benchmark figures (PNG): quality against sampling ratio, and a grid of reconstructions.

Figures are drawn on matplotlib ``Figure`` objects (Agg), never through pyplot, so plotting needs
no display and leaves the caller's matplotlib state alone.
"""
from __future__ import annotations

import logging
import math
import statistics
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .paper.output import save_figure
from .results_store import ResultsStore

log = logging.getLogger(__name__)

RATIO_KEYS = {"ratio", "missing", "acceleration", "center_fraction"}
METRIC_LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "nmse": "NMSE"}


def plot_results(folder: str | Path, out: str | Path | None = None, metrics=("psnr", "ssim")) -> list[Path]:
    """Draw every figure of a results folder; returns the PNG paths written.

    Args:
        folder: a benchmark output folder (``results.jsonl`` and ``images/``).
        out: where to write the PNGs (default: ``folder``).
        metrics: metrics to plot against the sampling ratio (those present in the results).
    """
    store = ResultsStore(folder)
    records = store.records()
    if not records:
        raise ValueError(f"no results in {store.path}")
    out = Path(out) if out is not None else store.folder
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in metrics:
        if any(metric in r["metrics"] for r in records):
            path = plot_metric_vs_ratio(records, metric, out / f"{metric}_vs_ratio.png")
            if path is not None:
                paths.append(path)
    for experiment in dict.fromkeys(r["experiment"] for r in records):
        path = plot_reconstruction_grid(records, store, experiment, out / f"grid_{_slug(experiment)}.png")
        if path is not None:
            paths.append(path)
    return paths


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _curve_label(record: dict) -> str:
    """What distinguishes curves of one method inside an experiment (e.g. a noise level)."""
    operator = record["config"]["operator"]
    rest = {k: v for k, v in operator.items() if k not in RATIO_KEYS and k != "kind"}
    return ", ".join(f"{k} {v}" for k, v in sorted(rest.items()) if v not in (0, 0.0, None))


def plot_metric_vs_ratio(records: list[dict], metric: str, path: Path) -> Path | None:
    """One panel per experiment that sweeps the sampling ratio: ``metric`` (mean ± std over images
    and seeds) against the ratio, one line per method. Returns None when no experiment sweeps it."""
    experiments = {}
    for record in records:
        experiments.setdefault(record["experiment"], []).append(record)
    swept = {name: members for name, members in experiments.items()
             if len({r["ratio"] for r in members}) > 1}
    if not swept:
        log.info("no experiment sweeps the sampling ratio; %s not drawn", path.name)
        return None
    figure = Figure(figsize=(4.5 * len(swept), 3.6), layout="constrained")
    axes = figure.subplots(1, len(swept), squeeze=False)[0]
    for ax, (name, members) in zip(axes, swept.items()):
        _draw_curves(ax, members, metric)
        ax.set_title(name)
        ax.set_xlabel("sampling ratio (measurements / unknowns)")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return save_figure(figure, path, dpi=120)


def _draw_curves(ax, members: list[dict], metric: str) -> None:
    curves: dict[str, dict[float, list[float]]] = {}
    for record in members:
        value = record["metrics"].get(metric)
        if value is None or not math.isfinite(value):
            continue
        extra = _curve_label(record)
        label = record["method"] + (f" ({extra})" if extra else "")
        curves.setdefault(label, {}).setdefault(float(record["ratio"]), []).append(float(value))
    for label, points in curves.items():
        ratios = sorted(points)
        means = [statistics.fmean(points[r]) for r in ratios]
        stds = [statistics.stdev(points[r]) if len(points[r]) > 1 else 0.0 for r in ratios]
        ax.errorbar(ratios, means, yerr=stds, marker="o", capsize=3, label=label)


def plot_reconstruction_grid(records: list[dict], store: ResultsStore, experiment: str, path: Path) -> Path | None:
    """Reconstructions of one experiment's first image and seed: a row per setting, a column per
    method, the reference first. Returns None when no image was saved."""
    members = [r for r in records if r["experiment"] == experiment and r.get("image_file")]
    if not members:
        return None
    first = members[0]
    members = [r for r in members if r["image"] == first["image"] and r["seed"] == first["seed"]]
    settings = list(dict.fromkeys(r["setting"] for r in members))
    methods = list(dict.fromkeys(r["method"] for r in members))
    reference = _load(store, first.get("reference_file"))
    figure = Figure(figsize=(1.8 * (len(methods) + 1), 1.9 * len(settings) + 0.3), layout="constrained")
    axes = figure.subplots(len(settings), len(methods) + 1, squeeze=False)
    vmax = float(reference.max()) if reference is not None else None
    by_key = {(r["setting"], r["method"]): r for r in members}
    for i, setting in enumerate(settings):
        _show(axes[i][0], reference, "reference" if i == 0 else "", vmax)
        axes[i][0].set_ylabel(setting, fontsize="small")
        for j, method in enumerate(methods, start=1):
            record = by_key.get((setting, method))
            image = _load(store, record["image_file"]) if record else None
            psnr = record["metrics"].get("psnr") if record else None
            caption = (method + "\n" if i == 0 else "") + (f"{psnr:.2f} dB" if psnr is not None else "")
            _show(axes[i][j], image, caption, vmax)
    figure.suptitle(f"{experiment}: {first['image']} (seed {first['seed']})", fontsize="medium")
    return save_figure(figure, path, dpi=120)


def _load(store: ResultsStore, relative: str | None) -> np.ndarray | None:
    if not relative:
        return None
    file = store.folder / relative
    return np.load(file) if file.exists() else None


def _show(ax, image: np.ndarray | None, title: str, vmax: float | None) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize="small")
    if image is not None:
        ax.imshow(image, cmap="gray", vmin=0, vmax=vmax)
