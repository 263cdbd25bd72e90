"""The 8-coil brain scored on k-space no method has seen (python -m csprior.benchmarks.second_acquisition).

The shared data hold two Poisson-disc undersamplings of one 8-coil axial scan: BART's
(``brain8ch_poisson_bart``, 12.7 % of k-space; the suites reconstruct from it) and SigPy's
(``brain8ch_poisson_sigpy``, 12.4 %). Transposed, flipped along its second axis and scaled, SigPy's
copy equals BART's on the positions both measured (to about 3e-7), so its other positions are
measurements that no method fitted or held out. Every method of the ``mri-second-acquisition``
suite reconstructs from BART's copy exactly as a suite cell does; its complex image is then pushed
through the same SENSE model (coil maps from BART's measured centre) onto those positions and
scored by the normalised error there, in dB: ``10 log10(‖A_u x − y_u‖² / ‖y_u‖²)``, lower is better,
0 dB for an image that predicts zeros. This needs no reference image; PSNR / SSIM of the magnitude
against the suites' reference (BART's PICS image) are printed beside it. The first row is the floor
of the model itself: the least-squares image fitted to both copies, unseen samples included (an
ORACLE), since even the true image misses them by what the estimated coil maps get wrong.

Complex images are kept in ``--out``/images with their fit's seconds and stop (so a rerun skips
finished methods) and the table is written to ``--out``/table.md, all atomically.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from csprior import metrics
from csprior.atomic_file import write_text_atomic
from csprior.baselines import least_squares
from csprior.benchmarks.methods import run_method
from csprior.benchmarks.problems import Problem, build_problem
from csprior.benchmarks.results_store import ResultsStore
from csprior.benchmarks.suite import expand, load_suite, resolve_data_dir
from csprior.operators import MultiCoilPartialFourier

log = logging.getLogger(__name__)

SUITE = "mri-second-acquisition"
SECOND_COPY = Path("mri") / "brain8ch_poisson_sigpy" / "cartesian_ksp.npy"
AGREEMENT = 1e-4  # relative misfit on the shared positions above which the copies are not one scan


@dataclass
class UnseenSamples:
    """The second copy's samples at positions the first did not measure.

    Attributes:
        positions: boolean ``(H, W)`` mask of those positions.
        kspace: their coil samples ``(coils, n)``, in the first copy's units.
        shared: number of positions both copies measured.
        agreement: relative misfit of the scaled second copy on the shared positions.
        band: ``(n,)`` radial third of each position (0 inner, 1 middle, 2 outer; equal counts by
            distance from the k-space centre, the axes scaled to the same extent).
    """

    positions: torch.Tensor
    kspace: torch.Tensor
    shared: int
    agreement: float
    band: torch.Tensor


def unseen_samples(problem: Problem, data_dir: Path) -> UnseenSamples:
    """Align SigPy's copy ``(coils, W, H)`` with the problem's k-space ``(coils, H, W)`` and keep
    the samples of the positions the problem does not measure. Raises ValueError if the two
    copies disagree where both measured."""
    path = data_dir / SECOND_COPY
    if not path.is_file():
        raise FileNotFoundError(f"the second acquisition {path} is missing (see the data folder's MANIFEST.md)")
    second = torch.from_numpy(np.load(path).transpose(0, 2, 1)[:, :, ::-1].copy())
    if second.shape != problem.y.shape:
        raise ValueError(f"{path}: expected {tuple(problem.y.shape[::-1])} (coils last two axes swapped), "
                         f"got {tuple(second.shape)}")
    measured_second = (second.abs() > 0).any(dim=0)
    measured_first = problem.A.measured.any(dim=0)
    shared = measured_first & measured_second
    a, b = second[:, shared].flatten(), problem.y[:, shared].flatten()
    scale = torch.vdot(a, b) / torch.vdot(a, a)
    agreement = float((scale * a - b).norm() / b.norm())
    if agreement > AGREEMENT:
        raise ValueError(f"{path} does not match the first copy where both measured "
                         f"(relative misfit {agreement:.1e} > {AGREEMENT})")
    positions = measured_second & ~measured_first
    return UnseenSamples(positions, scale * second[:, positions], int(shared.sum()), agreement,
                         _radial_thirds(positions))


def _radial_thirds(positions: torch.Tensor) -> torch.Tensor:
    """Third (0, 1, 2) of each position of ``positions`` ``(H, W)`` by its distance from the centre."""
    height, width = positions.shape
    rows, cols = torch.meshgrid(torch.arange(height) - height // 2, torch.arange(width) - width // 2, indexing="ij")
    radius = torch.hypot(rows / (height / 2), cols / (width / 2))[positions]
    return torch.bucketize(radius, torch.quantile(radius, torch.tensor([1 / 3, 2 / 3])))


def predict_unseen(image: torch.Tensor, problem: Problem, unseen: UnseenSamples) -> torch.Tensor:
    """``A_u x``: the coil samples ``(coils, n)`` a complex image ``(H, W)`` predicts at the unseen
    positions through the problem's coil maps."""
    everywhere = MultiCoilPartialFourier(torch.ones_like(unseen.positions), problem.A.maps)
    return everywhere(image.to(torch.complex64))[:, unseen.positions]


def unseen_errors_db(image: torch.Tensor, problem: Problem, unseen: UnseenSamples) -> list[float]:
    """``10 log10(‖A_u x − y_u‖² / ‖y_u‖²)`` for a complex image ``(H, W)`` through the problem's
    maps: over all unseen samples, then over each radial third (inner, middle, outer)."""
    error = (predict_unseen(image, problem, unseen) - unseen.kspace).abs().square()
    energy = unseen.kspace.abs().square()
    parts = [torch.ones_like(unseen.band, dtype=torch.bool)] + [unseen.band == third for third in range(3)]
    return [10 * math.log10(float(error[:, part].sum() / energy[:, part].sum())) for part in parts]


def model_floor_db(problem: Problem, unseen: UnseenSamples, iterations: int = 300) -> list[float]:
    """The unseen-sample errors (``unseen_errors_db``) of the least-squares image fitted to both copies, unseen samples
    included (an ORACLE: it is given what it is scored on). It is what the SENSE model with these
    coil maps can reach at best, since the union is overdetermined (two samples per unknown)."""
    y = problem.y.clone()
    y[:, unseen.positions] = unseen.kspace.to(y.dtype)
    both = MultiCoilPartialFourier(problem.A.measured.any(dim=0) | unseen.positions, problem.A.maps)
    return unseen_errors_db(least_squares(y, both, iterations=iterations, progress=False).image, problem, unseen)


def _reconstruction(cell, problem: Problem, store: ResultsStore, data_dir: Path) -> tuple[torch.Tensor, dict]:
    """The cell's complex image and ``{"seconds", "stop_iteration"}`` of its fit, from ``store``'s
    images if an earlier run kept them, else fitted now and kept."""
    # the cell id hashes the method's settings: a changed suite entry is fitted again
    name = f"{cell.config['method']['label']}-{cell.id}"
    image_path = store.image_path(name)
    record_path = image_path.with_suffix(".json")
    if image_path.is_file() and record_path.is_file():
        return torch.from_numpy(np.load(image_path)), json.loads(record_path.read_text())
    start = time.perf_counter()
    result = run_method(cell.config["method"], problem, seed=int(cell.config["seed"]), data_dir=data_dir)
    record = {"seconds": time.perf_counter() - start, "stop_iteration": result.stop_iteration}
    image = result.image.detach().cpu().reshape(problem.A.in_shape).to(torch.complex64)
    store.save_image(name, image.numpy())
    write_text_atomic(record_path, json.dumps(record))  # last: an image without it is fitted again
    return image, record


def prepare(data_dir: Path, methods: list[str] | None = None):
    """The suite's cells (only ``methods`` if given), their problem and the unseen samples."""
    cells = [cell for cell in expand(load_suite(SUITE), data_dir).cells
             if methods is None or cell.config["method"]["label"] in methods]
    if not cells:
        raise ValueError(f"no cells to run: methods {methods} are not in suite {SUITE!r}, or the data folder is missing")
    problem = build_problem(cells[0].config, data_dir)
    return cells, problem, unseen_samples(problem, data_dir)


def rows(cells, problem: Problem, unseen: UnseenSamples, out: Path, data_dir: Path):
    """Yield ``(label, psnr, ssim, unseen_errors_db, record)`` per cell, in order (``record``: the fit's
    ``seconds`` and ``stop_iteration``, None where not known)."""
    store = ResultsStore(out)
    for cell in cells:
        label = cell.config["method"]["label"]
        log.info("fitting %s", label)
        image, record = _reconstruction(cell, problem, store, data_dir)
        magnitude = image.abs()
        psnr = metrics.psnr(magnitude, problem.reference, data_range=problem.data_range)
        ssim = metrics.ssim(magnitude, problem.reference, data_range=problem.data_range)
        yield label, psnr, ssim, unseen_errors_db(image, problem, unseen), record


def main(argv=None) -> None:
    """Command line entry point (see the module docstring): parse ``argv`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/mri-second-acquisition"),
                        help="folder of the kept images and table.md")
    parser.add_argument("--methods", nargs="+", default=None, help="only these labels of the suite")
    parser.add_argument("--data", default=None, help="data folder (default: $CSPRIOR_DATA)")
    parser.add_argument("--floor-iterations", type=int, default=300, help="CG iterations of the floor row")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data_dir = resolve_data_dir(args.data)
    if data_dir is None:
        parser.error("the data folder is needed: set CSPRIOR_DATA or pass --data")
    cells, problem, unseen = prepare(data_dir, args.methods)
    energy = unseen.kspace.abs().square().sum(dim=0)
    shares = [float(energy[unseen.band == third].sum() / energy.sum()) for third in range(3)]
    lines = [f"second acquisition: {unseen.shared} positions shared (relative misfit {unseen.agreement:.1e}), "
             f"{int(unseen.positions.sum())} unseen positions x {unseen.kspace.shape[0]} coils", "",
             "| method | PSNR vs PICS reference | SSIM | error on unseen k-space (dB): all | inner third "
             f"({shares[0]:.1%} of the energy) | middle ({shares[1]:.1%}) | outer ({shares[2]:.1%}) | stop | seconds |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    floor = model_floor_db(problem, unseen, args.floor_iterations)
    lines.append(f"| ORACLE floor: least squares on both copies (fitted to the unseen samples) | | | "
                 f"{_decibels(floor)} | | |")
    print("\n".join(lines), flush=True)
    for label, psnr, ssim, errors, record in rows(cells, problem, unseen, args.out, data_dir):
        stop, seconds = record.get("stop_iteration"), record.get("seconds")
        lines.append(f"| {label} | {psnr:.2f} | {ssim:.3f} | {_decibels(errors)} | {'' if stop is None else stop} | "
                     f"{'' if seconds is None else f'{seconds:.0f}'} |")
        print(lines[-1], flush=True)
    write_text_atomic(args.out / "table.md", "\n".join(lines) + "\n")


def _decibels(errors: list[float]) -> str:
    return " | ".join(f"{error:.2f}" for error in errors)


if __name__ == "__main__":
    main()
