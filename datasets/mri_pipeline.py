"""fastMRI files in, reconstructions and fastMRI-style metrics out: the pipeline behind ``csprior mri``.

For every selected slice of a file (``read_fastmri``) the pipeline builds the measurements and the
operator, runs each chosen method on them, and assembles per-file volumes:

1. **Sampling.** A file with a stored ``mask`` (fastMRI's test files, or a converted acquisition such
   as the Poisson-disc BART brain) is used as acquired. A file without one is fully sampled and is
   undersampled retrospectively with ``csprior.operators.fastmri_mask`` seeded with
   ``tuple(map(ord, file_name))``, as fastMRI's validation does, so every slice of a volume gets the
   same columns; columns outside the header's ``[padding_left, padding_right)`` (never acquired)
   are dropped from the mask, as fastMRI's ``apply_mask`` does.
2. **Operator.** Single-coil k-space ``(H, W)`` → ``PartialFourier(mask)``. Multi-coil k-space
   ``(coils, H, W)`` → coil maps from the measured fully sampled centre (``estimate_coil_maps``,
   ESPIRiT by default) and ``MultiCoilPartialFourier(mask, maps)``.
3. **Methods** (``METHODS``): ``conv-decoder`` / ``deep-decoder`` (``csprior.reconstruct`` with
   held-out-measurement early stopping), ``l1-wavelet`` (``baselines.lasso``, db4 wavelets, holdout
   λ), ``tv`` (``baselines.tv``, holdout λ), ``zero-filled`` (``baselines.zero_filled``: the inverse
   FFT of the zero-filled k-space, root-sum-of-squares over coils).
   Every method of a slice sees the same measurements and coil maps. For analysis only,
   ``MRIOptions.track_oracle`` also records the generator methods' best PSNR over their iterates
   against the target (``OraclePSNR``, labelled oracle); it never changes what is returned.
4. **Output.** The magnitude image is centre-cropped to the target size (``reconstruction_esc`` /
   ``reconstruction_rss``; the header's recon matrix for files without a target), as fastMRI's
   ``center_crop`` does. Files with a target get fastMRI's per-volume metrics
   (``csprior.metrics.volume_metrics``) over the selected slices.

``run_mri_pipeline`` does all of this for files and folders and writes fastMRI's submission layout
(``write_reconstructions``): ``<out>/<file name>`` for one method, ``<out>/<method>/<file name>`` for
several (the submission layout holds one reconstruction per input file), plus ``<out>/metrics.csv``
(``CSV_COLUMNS``, one row per file and method, rewritten atomically after every file). While a file
runs, its generator fits are saved every two minutes under ``<out>/checkpoints/<file name>-<options
hash>/`` (``csprior.resumable``); the same command run again after an interruption loads the slices
already fitted and continues the one that was running. The folder is removed once the file is written.

fastMRI's ``evaluate.py`` further crops both volumes to a square of the target's width; that is the
same crop for fastMRI's square 320×320 targets and is not applied here, so non-square targets (the
converted BART brain is 180×230) are scored whole.
"""
from __future__ import annotations

import csv
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from csprior.atomic_file import atomic_path
from csprior.metrics import psnr, volume_metrics
from csprior.operators import FASTMRI_KINDS, LinearOperator, MultiCoilPartialFourier, PartialFourier, fastmri_mask
from csprior.result import Result
from csprior.resumable import fingerprint, resumable

from .coil_maps import METHODS as COIL_MAP_METHODS
from .coil_maps import calibration_size, estimate_coil_maps
from .fastmri_read import FastMRIFile, read_fastmri, scan_fastmri
from .fastmri_write import write_reconstructions

log = logging.getLogger(__name__)

GENERATOR_METHODS = ("auto", "conv-decoder", "deep-decoder")  # auto: csprior.defaults' recipe
METHODS = (*GENERATOR_METHODS, "l1-wavelet", "tv", "zero-filled")
MASK_KINDS = FASTMRI_KINDS
CSV_COLUMNS = ("file", "method", "mask", "acceleration", "center_fraction", "slices", "nmse", "psnr", "ssim",
               "seconds", "setup_seconds")
METRICS_FILE = "metrics.csv"
CHECKPOINTS_DIR = "checkpoints"


@dataclass(frozen=True)
class MRIOptions:
    """What to reconstruct and how.

    Attributes:
        methods: names from ``METHODS``, run in this order on every slice.
        acceleration: undersampling factor of the retrospective mask (fully sampled files only).
        center_fraction: fraction of fully sampled central columns; ``None`` pairs it with the
            acceleration as fastMRI does (``0.32 / acceleration``: 0.08 at 4×, 0.04 at 8×).
        mask: ``fastmri_mask`` kind of the retrospective mask (``MASK_KINDS``).
        slices: ``"all"``, ``"mid"`` (the middle slice ``n // 2``), ``"i"`` or ``"i:j"`` (Python
            slice semantics, negative indices allowed).
        iterations: iteration budget of the generator methods (None: the engine's default, 3000 for a
            named prior and the recipe's 6000 for ``auto``).
        seed: seeds the generators and the held-out splits (the same for every slice, so a slice
            gives the same image whichever selection it is part of); the mask seed is the file name.
        coil_maps: ``"espirit"`` or ``"lowres"`` (``estimate_coil_maps``).
        calib_width: largest calibration region per axis for the coil maps.
        data_consistency: put the measured k-space back into the generator methods' results.
        device: torch device of the generator methods (None: CUDA when present, else CPU).
        progress: show progress bars (only on a terminal).
        track_oracle: analysis only: for the generator methods on files with a target, score every
            iterate against the target (fastMRI crop, ``data_range`` = the selected slices' maximum)
            and record the best PSNR as ``MRIFileResult.oracle_psnr``. Never changes the result.
        warm_start: start each slice's generator from the generator fitted to the slice before it
            (``csprior.warm_start``; neighbouring slices look alike, so the fit converges sooner).
            A slice's image then depends on the slices selected before it.
    """

    methods: tuple[str, ...] = ("conv-decoder",)
    acceleration: float = 4.0
    center_fraction: float | None = None
    mask: str = "random"
    slices: str = "all"
    iterations: int | None = None
    seed: int = 0
    coil_maps: str = "espirit"
    calib_width: int = 24
    data_consistency: bool = False
    device: str | None = None
    progress: bool = False
    track_oracle: bool = False
    warm_start: bool = False

    def __post_init__(self):
        if isinstance(self.methods, str) or not isinstance(self.methods, (tuple, list)):
            raise TypeError(f"methods must be a tuple of method names, got {self.methods!r}")
        if not isinstance(self.slices, str):
            raise TypeError(f'slices must be text ("all", "mid", an index or "start:stop"), got {self.slices!r}')
        if isinstance(self.calib_width, bool) or not isinstance(self.calib_width, int) or self.calib_width < 2:
            raise ValueError(f"calib_width must be an int >= 2, got {self.calib_width!r}")
        if not self.methods:
            raise ValueError(f"methods must name at least one of {METHODS}")
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"methods must be among {METHODS}, got {unknown}")
        if not (math.isfinite(self.acceleration) and self.acceleration >= 1):
            raise ValueError(f"acceleration must be a finite number >= 1, got {self.acceleration}")
        if self.center_fraction is not None and not 0 <= self.center_fraction < 1:
            raise ValueError(f"center_fraction must lie in [0, 1), got {self.center_fraction}")
        if self.mask not in MASK_KINDS:
            raise ValueError(f"mask must be one of {MASK_KINDS}, got {self.mask!r}")
        if self.iterations is not None and self.iterations < 1:
            raise ValueError(f"iterations must be a positive int, got {self.iterations}")
        if self.coil_maps not in COIL_MAP_METHODS:
            raise ValueError(f"coil_maps must be one of {COIL_MAP_METHODS}, got {self.coil_maps!r}")
        _slice_selection(self.slices)  # the syntax only; the range is checked per file

    @property
    def effective_center_fraction(self) -> float:
        """``center_fraction``, or fastMRI's partner of ``acceleration`` when it is None."""
        return 0.32 / self.acceleration if self.center_fraction is None else self.center_fraction


@dataclass(frozen=True)
class Sampling:
    """The k-space sampling of one file, shared by all its slices.

    Attributes:
        mask: bool ``(W,)`` column mask or ``(H, W)`` pattern, True = measured.
        kind: the ``fastmri_mask`` kind of a retrospective mask, or ``"stored"`` for the file's mask.
        acceleration: nominal acceleration (the requested one, or the file's ``acceleration``
            attribute; the measured ratio when the attribute is missing).
        center_fraction: fraction of fully sampled central columns (requested, or the file's
            ``num_low_frequency`` over W).
    """

    mask: torch.Tensor
    kind: str
    acceleration: float
    center_fraction: float


@dataclass
class MRIFileResult:
    """One method's reconstruction of the selected slices of one file.

    Attributes:
        path: the input file.
        method: the method name (``METHODS``).
        volume: float32 ``(slices, h, w)`` magnitude images, centre-cropped to the target size.
        slices: the slice indices reconstructed, in order.
        sampling: how k-space was sampled.
        metrics: fastMRI per-volume ``nmse``/``psnr``/``ssim`` against the target over ``slices``,
            or None for files without a target.
        seconds: wall time of the method over all slices (slice preparation excluded).
        setup_seconds: wall time of preparing the slices (reading, masking and, for multi-coil
            files, the coil-map estimation), shared by all methods of the file.
        results: the method's ``Result`` of every slice (image, history, stopping, parameters).
        oracle_psnr: with ``MRIOptions.track_oracle``, a generator method's best PSNR over the
            iterations it ran (mean over slices; oracle: uses the target, analysis only), else None.
    """

    path: Path
    method: str
    volume: torch.Tensor
    slices: list[int]
    sampling: Sampling
    metrics: dict[str, float] | None
    seconds: float
    setup_seconds: float
    results: list[Result] = field(repr=False, default_factory=list)
    oracle_psnr: float | None = None

    def row(self) -> dict[str, object]:
        """The ``metrics.csv`` row: ``CSV_COLUMNS`` -> value (None for metrics without a target)."""
        scores = self.metrics or {}
        return {"file": self.path.name, "method": self.method, "mask": self.sampling.kind,
                "acceleration": self.sampling.acceleration, "center_fraction": self.sampling.center_fraction,
                "slices": describe_slices(self.slices), "nmse": scores.get("nmse"), "psnr": scores.get("psnr"),
                "ssim": scores.get("ssim"), "seconds": self.seconds, "setup_seconds": self.setup_seconds}


# -- selections and sampling ---------------------------------------------------------------------

def parse_slices(spec: str, num_slices: int) -> list[int]:
    """Slice indices selected by ``spec`` (``"all"``, ``"mid"``, ``"i"`` or ``"i:j"``) of ``num_slices``.

    Raises:
        ValueError: ``spec`` is malformed or selects no slice.
    """
    selection = _slice_selection(spec)
    if selection == "all":
        return list(range(num_slices))
    if selection == "mid":
        return [num_slices // 2]
    if isinstance(selection, int):
        if not -num_slices <= selection < num_slices:
            raise ValueError(f"slices {spec!r} is out of range for {num_slices} slices")
        return [selection % num_slices]
    selected = list(range(num_slices))[selection]
    if not selected:
        raise ValueError(f"slices {spec!r} selects none of the {num_slices} slices")
    return selected


def _slice_selection(spec: str) -> str | int | slice:
    """``"all"``, ``"mid"``, an index or a ``slice`` from the text of a selection."""
    if spec in ("all", "mid"):
        return spec
    parts = spec.split(":")
    try:
        bounds = [int(part) if part.strip() else None for part in parts]
    except ValueError:
        bounds = []
    if len(bounds) == 1 and bounds[0] is not None:
        return bounds[0]
    if len(bounds) != 2:
        raise ValueError(f"slices must be 'all', 'mid', 'i' or 'i:j', got {spec!r}")
    return slice(*bounds)


def describe_slices(indices: Sequence[int]) -> str:
    """``"3"`` for one slice, ``"i:j"`` for a contiguous run, else the indices joined by spaces."""
    if len(indices) == 1:
        return str(indices[0])
    if list(indices) == list(range(indices[0], indices[-1] + 1)):
        return f"{indices[0]}:{indices[-1] + 1}"
    return " ".join(map(str, indices))


def mask_seed(file_name: str) -> tuple[int, ...]:
    """fastMRI's validation seed of a file's mask: ``tuple(map(ord, file_name))`` (name with suffix)."""
    return tuple(map(ord, file_name))


def file_sampling(f: FastMRIFile, options: MRIOptions) -> Sampling:
    """The stored mask of ``f``, or a retrospective ``fastmri_mask`` seeded by its file name."""
    height, width = f.kspace_size
    if f.mask is not None:
        sampled = int(f.mask.sum()) * (height if f.mask.ndim == 1 else 1)
        low = f.attrs.get("num_low_frequency")
        if low is None:
            grid = f.mask if f.mask.ndim == 2 else f.mask.expand(height, width)
            low = calibration_size(grid)[1]
        return Sampling(f.mask, "stored", float(f.attrs.get("acceleration", height * width / sampled)),
                        float(low) / width)
    fraction = options.effective_center_fraction
    columns, _ = fastmri_mask(options.mask, width, [fraction], [options.acceleration], seed=mask_seed(f.path.name))
    columns = _drop_padding(columns, f)
    return Sampling(columns, options.mask, float(options.acceleration), float(fraction))


def _drop_padding(columns: torch.Tensor, f: FastMRIFile) -> torch.Tensor:
    """Columns outside the header's acquired range carry no data: fastMRI's apply_mask unsets them."""
    if f.header is None:
        return columns
    left, right = f.header.padding_left, f.header.padding_right
    if not 0 <= left < right <= columns.shape[0]:
        log.warning("%s: header padding [%d, %d) does not fit %d columns; ignored",
                    f.path, left, right, columns.shape[0])
        return columns
    kept = torch.zeros_like(columns)
    kept[left:right] = columns[left:right]
    if not bool(kept.any()):
        raise ValueError(f"{f.path}: the mask samples no column inside the acquired range [{left}, {right})")
    return kept


# -- one slice -----------------------------------------------------------------------------------

def slice_problem(kspace: torch.Tensor, sampling: Sampling, *, coil_maps: str = "espirit",
                  calib_width: int = 24) -> tuple[torch.Tensor, LinearOperator]:
    """Measurements and operator of one slice.

    Args:
        kspace: complex64 ``(H, W)`` (single-coil) or ``(coils, H, W)`` (multi-coil) k-space of the
            slice as stored (fully sampled, or zero where not acquired).
        sampling: the file's sampling (``file_sampling``).
        coil_maps, calib_width: coil-map estimator and calibration size (multi-coil only).

    Returns:
        ``(y, A)``: ``y`` complex64 of ``A.out_shape`` (k-space, zero where not measured) and
        ``PartialFourier`` or ``MultiCoilPartialFourier`` with maps estimated from ``y`` alone.
    """
    height = kspace.shape[-2]
    mask = sampling.mask if sampling.mask.ndim == 2 else sampling.mask.expand(height, -1)
    y = kspace * mask
    if kspace.ndim == 2:
        return y, PartialFourier(mask)
    maps = estimate_coil_maps(y, calib_width, method=coil_maps)
    return y, MultiCoilPartialFourier(mask, maps)


def run_method(method: str, y: torch.Tensor, A: LinearOperator, options: MRIOptions,
               callback: Callable | None = None, warm_start: Result | None = None) -> Result:
    """Reconstruct one slice with ``method`` from its k-space ``y`` (``A.out_shape``: ``(H, W)`` single-coil,
    ``(coils, H, W)`` multi-coil); the result image is complex64 ``A.in_shape``.

    ``callback(iteration, image, record)`` and ``warm_start`` (a result whose fitted generator starts
    the fit) are passed to the generator methods' ``reconstruct``.
    """
    if method in GENERATOR_METHODS:
        from csprior.reconstruct import reconstruct

        return reconstruct(y, A, prior=None if method == "auto" else method, iterations=options.iterations, early_stopping="holdout",
                           seed=options.seed, device=options.device, progress=options.progress,
                           data_consistency=options.data_consistency, callback=callback, warm_start=warm_start)
    from csprior import baselines

    if method == "zero-filled":
        return baselines.zero_filled(y, A)
    if method == "l1-wavelet":
        return baselines.lasso(y, A, lam="holdout", basis="db4", seed=options.seed, progress=options.progress)
    if method == "tv":
        return baselines.tv(y, A, lam="holdout", seed=options.seed, progress=options.progress)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


class OraclePSNR:
    """A ``reconstruct`` callback keeping the best PSNR of the iterates against a reference.

    Analysis only (it looks at the ground truth). Each iterate's magnitude is centre-cropped to the
    reference's ``(h, w)`` and scored with ``data_range = peak``, as ``volume_metrics`` does.
    """

    def __init__(self, reference: torch.Tensor, peak: float):
        self.reference = reference
        self.peak = peak
        self.best = -math.inf
        self.iteration = -1

    def __call__(self, iteration: int, image: torch.Tensor, record: dict) -> None:
        cropped = center_crop(image.detach().cpu().abs().float(), tuple(self.reference.shape[-2:]))
        value = psnr(cropped, self.reference, data_range=self.peak)
        if value > self.best:
            self.best, self.iteration = value, iteration


def center_crop(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The central ``size = (h, w)`` of ``image (..., H, W)``, placed as fastMRI's ``center_crop``.

    The crop starts at ``((H - h) // 2, (W - w) // 2)``; ``h > H`` or ``w > W`` raise ValueError.
    """
    height, width = image.shape[-2:]
    h, w = size
    if not (0 < h <= height and 0 < w <= width):
        raise ValueError(f"crop size {tuple(size)} must be positive and fit the image size {(height, width)}")
    top, left = (height - h) // 2, (width - w) // 2
    return image[..., top:top + h, left:left + w]


def output_size(f: FastMRIFile) -> tuple[int, int]:
    """Size the reconstructions of ``f`` are cropped to: the target's, else the header's recon
    matrix, else the k-space size; never larger than the k-space (as fastMRI's transforms)."""
    height, width = f.kspace_size
    if f.target is not None:
        size = f.target.shape[-2:]
    elif f.header is not None:
        size = f.header.recon_size[:2]
    else:
        size = (height, width)
    return min(size[0], height), min(size[1], width)


# -- one file ------------------------------------------------------------------------------------

def reconstruct_file(f: FastMRIFile, options: MRIOptions) -> list[MRIFileResult]:
    """Run every method of ``options`` on the selected slices of an open fastMRI file.

    Returns:
        one ``MRIFileResult`` per method, in ``options.methods`` order.

    Raises:
        ValueError: naming the file, when its slices cannot be reconstructed (a selection outside
            the file, no fully sampled centre for the coil maps, unreadable k-space ...).
    """
    try:
        indices = parse_slices(options.slices, f.num_slices)
        sampling = file_sampling(f, options)
    except ValueError as exc:
        raise _naming(exc, f.path) from exc
    size = output_size(f)
    target = None if f.target is None else center_crop(torch.stack([f.target[i] for i in indices]), size)
    images: dict[str, list[torch.Tensor]] = {m: [] for m in options.methods}
    results: dict[str, list[Result]] = {m: [] for m in options.methods}
    oracles: dict[str, list[float]] = {m: [] for m in options.methods}
    seconds = dict.fromkeys(options.methods, 0.0)
    setup_seconds = 0.0
    log.info("%s: %d slice(s), %s sampling at %.3g×, methods %s", f.path, len(indices), sampling.kind,
             sampling.acceleration, ", ".join(options.methods))
    for position, index in enumerate(tqdm(indices, desc=f.path.name, disable=None if options.progress else True,
                                          leave=False)):
        start = time.perf_counter()
        try:
            y, A = slice_problem(f.kspace[index], sampling, coil_maps=options.coil_maps,
                                 calib_width=options.calib_width)
        except ValueError as exc:
            raise _naming(exc, f.path, f"slice {index}") from exc
        setup_seconds += time.perf_counter() - start
        for method in options.methods:
            tracker = None
            if options.track_oracle and target is not None and method in GENERATOR_METHODS:
                tracker = OraclePSNR(target[position], float(target.max()))
            warm = results[method][-1] if options.warm_start and method in GENERATOR_METHODS and position else None
            start = time.perf_counter()
            try:
                result = run_method(method, y, A, options, callback=tracker, warm_start=warm)
            except ValueError as exc:
                raise _naming(exc, f.path, f"slice {index}, {method}") from exc
            elapsed = time.perf_counter() - start
            seconds[method] += elapsed
            log.info("%s slice %d: %s in %.1f s (stop %s at %s)", f.path.name, index, method, elapsed,
                     result.stop_reason, result.stop_iteration)
            images[method].append(center_crop(result.image.detach().cpu().abs().float(), size))
            results[method].append(result)
            if tracker is not None:
                oracles[method].append(tracker.best)
    out = []
    for method in options.methods:
        volume = torch.stack(images[method])
        scores = None if target is None else volume_metrics(volume, target)
        oracle = sum(oracles[method]) / len(oracles[method]) if oracles[method] else None
        out.append(MRIFileResult(f.path, method, volume, indices, sampling, scores, seconds[method],
                                 setup_seconds, results[method], oracle))
    return out


def _naming(exc: Exception, path: Path, where: str | None = None) -> ValueError:
    """``exc`` as a ValueError whose message starts with the file (and the place in it)."""
    message = str(exc)
    if str(path) not in message:
        message = f"{path}{f' ({where})' if where else ''}: {message}"
    return ValueError(message)


# -- many files ----------------------------------------------------------------------------------

def collect_files(paths: Iterable[str | Path], *, progress: bool = False) -> list[Path]:
    """Expand files and folders (``scan_fastmri``: their ``*.h5``) into validated fastMRI files.

    Every file is opened once and validated, so a bad file is reported before any work starts.

    Raises:
        FileNotFoundError: a path does not exist.
        ValueError: a file is not a valid fastMRI file (naming it and the problem), a folder holds
            no ``.h5`` file, no path was given, or two inputs share a file name (their outputs
            would collide).
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = scan_fastmri(path, progress=progress)
            if not found:
                raise ValueError(f"{path}: no fastMRI files (*.h5) in this folder")
            files.extend(found)
        else:
            read_fastmri(path).close()
            files.append(path)
    if not files:
        raise ValueError("no input files given")
    seen: dict[str, Path] = {}
    for path in files:
        if path.name in seen and seen[path.name].resolve() != path.resolve():
            raise ValueError(f"{path} and {seen[path.name]} share the file name {path.name!r}; "
                             "their reconstructions would overwrite each other")
        seen[path.name] = path
    return list(dict.fromkeys(files))


def run_mri_pipeline(paths: Iterable[str | Path], out_dir: str | Path, options: MRIOptions,
                     on_result: Callable[[MRIFileResult], None] | None = None) -> list[dict]:
    """Reconstruct fastMRI files, write fastMRI submission files and ``metrics.csv``.

    Args:
        paths: fastMRI files and/or folders of them (``collect_files``).
        out_dir: output folder (created): ``<out>/<file name>`` with the ``reconstruction``
            dataset when ``options`` holds one method, ``<out>/<method>/<file name>`` for several;
            ``<out>/metrics.csv`` (``CSV_COLUMNS``), rewritten atomically after every file; the rows
            an earlier run wrote there for other files or methods are kept.
        options: what to reconstruct and how.
        on_result: called with every ``MRIFileResult`` once its file is written (the results are
            not kept here, so that long runs do not hold every volume in memory).

    Returns:
        the ``metrics.csv`` rows (dicts keyed by ``CSV_COLUMNS``), one per file and method.
    """
    files = collect_files(paths, progress=options.progress)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output folder {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_rows(out_dir / METRICS_FILE, {path.name for path in files}, set(options.methods))
    rows: list[dict] = []
    for path in tqdm(files, desc="files", disable=None if options.progress else True):
        checkpoints = _checkpoint_folder(out_dir, path, options)
        with read_fastmri(path) as f, resumable(checkpoints):
            file_results = reconstruct_file(f, options)
        for result in file_results:
            folder = out_dir if len(options.methods) == 1 else out_dir / result.method
            write_reconstructions(folder, {path.name: result.volume})
            rows.append(result.row())
            if on_result is not None:
                on_result(result)
        write_metrics_csv(out_dir / METRICS_FILE, earlier + rows)
        if checkpoints is not None:
            shutil.rmtree(checkpoints)
    return rows


def _checkpoint_folder(out_dir: Path, path: Path, options: MRIOptions) -> Path | None:
    """Where a file's generator fits are saved as they run (``csprior.resumable``), one folder per file
    and set of options; None when ``track_oracle`` asks for every iterate, which a resumed fit skips."""
    if options.track_oracle:
        return None
    return out_dir / CHECKPOINTS_DIR / f"{path.name}-{fingerprint(options)[:12]}"


def _earlier_rows(path: Path, files: set[str], methods: set[str]) -> list[dict]:
    """The rows of an earlier run's ``metrics.csv`` that this run does not recompute."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(f"{path} exists but is not a csprior metrics table (columns {reader.fieldnames}); "
                             "move it away or choose another output folder")
        return [row for row in reader if not (row["file"] in files and row["method"] in methods)]


def write_metrics_csv(path: str | Path, rows: Sequence[dict]) -> Path:
    """Write rows keyed by ``CSV_COLUMNS`` (extra keys ignored, None as empty) atomically to ``path``."""
    path = Path(path)
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return path


def format_metrics_table(rows: Sequence[dict], columns: Sequence[str] = ("file", "method", "mask", "acceleration",
                                                                        "slices", "ssim", "psnr", "nmse", "seconds")
                         ) -> str:
    """A Markdown table of ``rows`` (SSIM 4 decimals, PSNR 2, NMSE 4 significant, seconds 1)."""
    formats = {"ssim": "{:.4f}", "psnr": "{:.2f}", "nmse": "{:.4g}", "seconds": "{:.1f}",
               "setup_seconds": "{:.2f}", "acceleration": "{:g}", "center_fraction": "{:.3g}"}

    def cell(key, value):
        if value is None or value == "":
            return "–"
        return formats[key].format(value) if key in formats else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(k, row.get(k)) for k in columns) + " |" for row in rows]
    return "\n".join(lines)
