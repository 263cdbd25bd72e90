"""Ceilings of the 16-coil brain at 8× (python -m csprior.benchmarks.mri_ceilings).

Issue 8 asks for zero-filled + 3 dB at 8× (10 of 96 columns, 4 of them the calibration centre).
This script measures how far the ConvDecoder gets when it is handed what no method has: coil maps
from the fully sampled k-space, or the stop chosen with the truth (both labelled oracle), and
the ConvDecoder authors' own multi-coil model, which fits all coil images and needs no maps. The
problem is exactly the ``ablation-mri`` suite's 8× cell (same mask, same maps from the measured
centre). Prints PSNR / SSIM of the magnitude against the suite's reference (RSS of the fully
sampled coil images), the stop and the seconds.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from csprior import metrics, reconstruct
from csprior.benchmarks.problems import build_problem
from csprior.benchmarks.suite import expand, load_suite, resolve_data_dir
from csprior.datasets import estimate_coil_maps, load_mri_set, rss, sense_combine
from csprior.generators import ConvDecoder
from csprior.operators import LinearOperator, MultiCoilPartialFourier, fft2c, ifft2c


class CoilImagesFourier(LinearOperator):
    """``(coils, H, W)`` coil images -> their masked k-space ``(coils, H, W)``: the multi-coil model of
    the ConvDecoder authors (no sensitivity maps; the image is the RSS of the fitted coil images)."""

    def __init__(self, mask: torch.Tensor, coils: int):
        super().__init__((coils, *mask.shape), (coils, *mask.shape), torch.complex64, torch.complex64)
        self.mask = mask

    @property
    def measured(self) -> torch.Tensor:
        return self.mask.expand(self.in_shape)

    def _forward(self, x):
        return fft2c(x) * self.mask

    def _adjoint(self, y):
        return ifft2c(y * self.mask)


def _suite_problem(data_dir: Path, acceleration: int):
    cells = [cell for cell in expand(load_suite("ablation-mri"), data_dir).cells
             if cell.method == "zero-filled" and cell.config["operator"].get("acceleration") == acceleration]
    return build_problem(cells[0].config, data_dir)


def _scores(image: torch.Tensor, problem) -> str:
    image = image.abs().reshape(problem.reference.shape)
    psnr = metrics.psnr(image, problem.reference, data_range=problem.data_range)
    ssim = metrics.ssim(image, problem.reference, data_range=problem.data_range)
    return f"{psnr:6.2f} dB / {ssim:.3f}"


def rows(data_dir: Path, acceleration: int, iterations: int):
    """Yield ``(label, scores, stop, seconds)`` for each setting."""
    problem = _suite_problem(data_dir, acceleration)
    y, mask = problem.y, problem.A.mask
    full_kspace = load_mri_set(data_dir / "mri", "brain16ch_full").kspace
    coil_truth = ifft2c(full_kspace)
    yield "zero-filled (RSS)", _scores(rss(ifft2c(y)), problem), "-", 0.0
    full_maps = estimate_coil_maps(full_kspace)
    settings = [("SENSE, maps from the measured centre, holdout stop", problem.A, "holdout"),
                ("SENSE, maps from the measured centre, ORACLE stop", problem.A, "oracle"),
                ("SENSE, ORACLE maps (full k-space), holdout stop", MultiCoilPartialFourier(mask, full_maps), "holdout"),
                ("SENSE, ORACLE maps (full k-space), ORACLE stop", MultiCoilPartialFourier(mask, full_maps), "oracle")]
    for label, A, stop in settings:
        truth = sense_combine(coil_truth, A.maps) if stop == "oracle" else None
        start = time.perf_counter()
        result = reconstruct(y, A, "conv-decoder", iterations=iterations, early_stopping=stop, x_true=truth,
                             progress=False)
        yield label, _scores(result.image, problem), result.stop_iteration, time.perf_counter() - start
    coils = CoilImagesFourier(mask, y.shape[0])
    generator = ConvDecoder(tuple(mask.shape), out_channels=2 * y.shape[0])
    for stop in ("holdout", "oracle"):
        start = time.perf_counter()
        result = reconstruct(y, coils, generator, iterations=iterations, early_stopping=stop, progress=False,
                             x_true=coil_truth if stop == "oracle" else None)
        label = f"coil images, no maps (authors' model), {'ORACLE' if stop == 'oracle' else 'holdout'} stop"
        yield label, _scores(rss(result.image), problem), result.stop_iteration, time.perf_counter() - start


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $CSPRIOR_DATA)")
    parser.add_argument("--acceleration", type=int, choices=(4, 8), default=8)
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data_dir = resolve_data_dir(args.data)
    if data_dir is None:
        parser.error("needs the data folder: --data or $CSPRIOR_DATA")
    print(f"16-coil brain at {args.acceleration}×, ConvDecoder (64 channels, {args.iterations} iterations at most); "
          "ORACLE = uses the fully sampled data")
    print("| setting | PSNR / SSIM | stop | seconds |\n|---|---|--:|--:|")
    for label, scores, stop, seconds in rows(data_dir, args.acceleration, args.iterations):
        print(f"| {label} | {scores} | {stop} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
