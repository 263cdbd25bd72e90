"""Run a suite's cells serially, on a local process pool or on a Dask cluster, into a results folder.

Whatever runs a cell, the coordinating process is the only writer: it saves the cell's images,
then appends its record to ``DIR/results.jsonl`` (see ``results_store``). Cells already recorded
are skipped with ``resume=True``, so a run killed at any moment continues without losing or
repeating a cell. A cell that raises is reported and left unrecorded, so a resumed run retries it.
Cells run here or on a local pool save their generator fits every few minutes under
``DIR/checkpoints/<cell id>/`` (``csprior.resumable``), so a resumed run continues a long cell
from its last save rather than from its start; the folder is removed once the cell is recorded.
Cells run on a Dask cluster, whose workers need not see ``DIR``, start again.

A cell's record holds: ``cell`` (its id), ``suite``, ``experiment``, ``setting``, ``ratio``,
``method``, ``image``, ``seed``, ``config`` (everything the id is derived from), ``metrics``,
``iterations`` (the iteration returned), ``iterations_run``, ``stop_reason``, ``seconds`` (the
method's own wall time, including a resumed fit's time before the interruption), ``wall_seconds`` (the method call timed by the runner in the last process), ``params`` (the hyper-parameters the method reports using),
``n_parameters``, ``threads``, ``versions`` and the ``image_file``/``reference_file`` it saved; a record
copied from another folder's identical cell (``reuse``) adds ``reused_from``.
"""
from __future__ import annotations

import fcntl
import logging
import os
import platform
import shutil
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from csprior import metrics as quality
from csprior.freed_memory import keep_freed_memory
from csprior.resumable import resumable

from .methods import run_method, unavailable_methods
from .problems import build_problem
from .results_store import IMAGES_DIR, ResultsStore
from .reuse import recorded_cells, reused_record
from .suite import Cell, Suite, cell_id, expand, load_suite, resolve_data_dir

log = logging.getLogger(__name__)

VERSIONED_PACKAGES = ("csprior", "torch", "numpy", "scipy", "scikit-image", "PyWavelets", "bm3d")
LOCK_FILE = ".lock"
CHECKPOINTS_DIR = "checkpoints"


class ResultsExistError(FileExistsError):
    """The output folder already holds results and the caller did not ask to resume."""


@dataclass
class RunSummary:
    """What a run did.

    Attributes:
        total: cells in the (expanded) suite that can run here.
        already_done: cells found in the results file and skipped.
        finished: cells run and recorded now.
        reused: cells recorded now from another folder's identical cell (``reuse``).
        failed: one line per cell that raised (not recorded; a resumed run retries them).
        skipped: notes on experiments or methods left out (missing data or optional packages).
        seconds: wall time of the run.
        results: path of the results file.
    """

    total: int = 0
    already_done: int = 0
    finished: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    results: Path | None = None


def run_suite(suite: Suite | str | os.PathLike, out: str | os.PathLike, *, resume: bool = False,
              workers: int = 1, scheduler=None, data_dir=None, save_images: bool = True,
              progress: bool = True, reuse=()) -> RunSummary:
    """Run every cell of ``suite`` into the folder ``out``.

    Args:
        suite: a ``Suite``, a shipped suite's name or a TOML path.
        out: output folder; ``out/results.jsonl`` receives one line per finished cell.
        resume: continue a run in ``out``: skip the cells already recorded. Without it, a
            non-empty results file raises ``ResultsExistError`` (nothing is overwritten).
        workers: 1 runs in this process; N > 1 runs a local process pool of N workers, each
            limited to ``cores // N`` torch threads.
        scheduler: a Dask scheduler address (``"tcp://host:8786"``) or a ``dask.distributed``
            Client; the cells then run on that cluster (``workers`` is ignored). Workers must see
            the same data folder path.
        data_dir: data folder for suites that need it (default ``$CSPRIOR_DATA``).
        save_images: save each reconstruction (and reference) as ``.npy`` under ``out/images``.
        progress: show a tqdm bar with an ETA (only on a terminal).
        reuse: other results folders; a pending cell recorded there (the same id: same image,
            operator, method table and seed) is copied from there instead of run
            (``csprior.benchmarks.reuse``).
    """
    if not isinstance(suite, Suite):
        suite = load_suite(suite)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    data = resolve_data_dir(data_dir)
    expansion = expand(suite, data)
    missing = unavailable_methods(cell.config["method"]["method"] for cell in expansion.cells)
    cells = [cell for cell in expansion.cells if cell.config["method"]["method"] not in missing]
    summary = RunSummary(total=len(cells), skipped=expansion.skipped + sorted(missing.values()))
    store = ResultsStore(out)
    summary.results = store.path
    start = time.perf_counter()
    with _exclusive(store):
        if store.has_results() and not resume:
            raise ResultsExistError(
                f"{store.path} already holds results ({len(store.completed())} cells); pass --resume "
                "(resume=True) to continue that run, or choose another output folder")
        store.prepare_append()
        done = store.completed()
        pending = [cell for cell in cells if cell.id not in done]
        summary.already_done = len(cells) - len(pending)
        pending = _reuse(pending, reuse, store, summary, save_images)
        if pending:
            _execute(pending, store, summary, workers=workers, scheduler=scheduler,
                     data=None if data is None else str(data), save_images=save_images, progress=progress)
    summary.seconds = time.perf_counter() - start
    return summary


def _reuse(pending: list[Cell], folders, store: ResultsStore, summary: RunSummary, save_images: bool) -> list[Cell]:
    """Record the pending cells that ``folders`` hold; return the others."""
    recorded = recorded_cells(folders)
    for cell in pending:
        if cell.id in recorded:
            source, record = recorded[cell.id]
            store.append(reused_record(cell, source, record, store, save_images))
            summary.reused += 1
    return [cell for cell in pending if cell.id not in recorded]


@contextmanager
def _exclusive(store: ResultsStore):
    """Hold an exclusive lock on the output folder: two runs never append to one file at once."""
    store.folder.mkdir(parents=True, exist_ok=True)
    with open(store.folder / LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ResultsExistError(f"another run is writing to {store.folder}; wait for it or choose "
                                    "another output folder") from exc
        yield


def _execute(cells: list[Cell], store: ResultsStore, summary: RunSummary, *, workers, scheduler, data,
             save_images, progress) -> None:
    bar = tqdm(total=summary.total, initial=summary.already_done + summary.reused, unit="cell", desc="bench",
               disable=not progress or not sys.stderr.isatty(), dynamic_ncols=True)
    try:
        checkpoints = str(store.folder / CHECKPOINTS_DIR)
        for payload in _payloads(cells, workers=workers, scheduler=scheduler, data=data, checkpoints=checkpoints):
            _record(payload, store, summary, save_images)
            bar.update(1)
            bar.set_postfix_str(_postfix(payload), refresh=False)
    finally:
        bar.close()


def _payloads(cells, *, workers, scheduler, data, checkpoints):
    """Yield each cell's payload as it finishes, from this process, a pool or a Dask cluster."""
    if scheduler is not None:
        yield from _dask_payloads(cells, scheduler, data)
    elif workers == 1:
        for cell in cells:
            yield run_cell(cell, data, checkpoints)
    else:
        yield from _pool_payloads(cells, workers, data, checkpoints)


def _pool_payloads(cells, workers: int, data, checkpoints):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = min(workers, len(cells))
    threads = max(1, available_cores() // workers)
    # spawn, not fork: forking a process whose torch thread pool is running can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_limit_threads,
                             initargs=(threads,)) as pool:
        futures = [pool.submit(run_cell, cell, data, checkpoints) for cell in cells]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _dask_payloads(cells, scheduler, data):
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise ImportError('--scheduler needs Dask: pip install "csprior[dask]"') from exc
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = [client.submit(run_cell, cell, data, pure=False) for cell in cells]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        if client is not scheduler:
            client.close()


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _limit_threads(threads: int) -> None:
    """Pool initializer: each worker uses its share of the cores and keeps freed buffers, as the
    ``csprior`` command line does (baselines included; ``csprior.freed_memory``)."""
    torch.set_num_threads(threads)
    keep_freed_memory()


def run_cell(cell: Cell, data_dir: str | None, checkpoints: str | None = None) -> dict:
    """Run one cell; returns ``{"record": dict, "image": array, "reference": array}`` or, if the
    method raised, ``{"cell": id, "error": one line, "traceback": text}``.

    Runs wherever it is called (this process, a pool worker, a Dask worker); writes nothing but,
    when ``checkpoints`` names a folder, the cell's fit states under ``checkpoints/<cell id>/``
    (resumed from there if a former run left them). Images are 2-D float32 magnitudes ``(H, W)``.
    """
    try:
        data = None if data_dir is None else Path(data_dir)
        problem = build_problem(cell.config, data)
        start = time.perf_counter()
        with resumable(None if checkpoints is None else Path(checkpoints) / cell.id):
            result = run_method(cell.config["method"], problem, seed=int(cell.config["seed"]), data_dir=data)
        wall_seconds = time.perf_counter() - start
        image = result.image.detach().cpu()
        reference = problem.reference.detach().cpu()
        values = _metrics(image, reference, problem.data_range, cell.metrics)
    except Exception as exc:  # noqa: BLE001 -- reported by the coordinator; the run goes on
        return {"cell": cell.id, "label": _label(cell), "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}
    record = {
        "cell": cell.id, "suite": cell.suite, "experiment": cell.experiment, "setting": cell.setting,
        "ratio": cell.ratio, "method": cell.method, "image": cell.image_name, "seed": cell.config["seed"],
        "config": cell.config, "metrics": values, "iterations": int(result.stop_iteration),
        "iterations_run": result.params.get("iterations_run"), "stop_reason": result.stop_reason,
        "seconds": float(result.seconds), "wall_seconds": wall_seconds, "params": _jsonable(result.params),
        "n_parameters": result.n_parameters, "threads": torch.get_num_threads(), "versions": versions(),
        "host": platform.node(),
    }
    return {"record": record, "image": _magnitude(image), "reference": _magnitude(reference)}


def _metrics(image: torch.Tensor, reference: torch.Tensor, data_range: float, names) -> dict[str, float]:
    image = image.abs() if image.is_complex() else image
    image = image.reshape(reference.shape)
    functions = {"psnr": lambda: quality.psnr(image, reference, data_range=data_range),
                 "ssim": lambda: quality.ssim(image, reference, data_range=data_range),
                 "nmse": lambda: quality.nmse(image, reference)}
    return {name: float(functions[name]()) for name in names}


def _magnitude(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.abs() if tensor.is_complex() else tensor
    return tensor.to(torch.float32).reshape(-1, *tensor.shape[-2:]).squeeze(0).numpy()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else f"tensor{tuple(value.shape)}"
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


_VERSIONS: dict[str, str] = {}


def versions() -> dict[str, str]:
    """Installed versions of Python and of the packages that decide the numbers."""
    if not _VERSIONS:
        _VERSIONS["python"] = platform.python_version()
        for package in VERSIONED_PACKAGES:
            try:
                _VERSIONS[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                continue
    return dict(_VERSIONS)


def _label(cell: Cell) -> str:
    return f"{cell.experiment} / {cell.setting} / {cell.method} / {cell.image_name} / seed {cell.config['seed']}"


def _postfix(payload: dict) -> str:
    if "error" in payload:
        return "failed"
    record = payload["record"]
    psnr = record["metrics"].get("psnr")
    return f"{record['method']} {psnr:.2f} dB" if psnr is not None else record["method"]


def _record(payload: dict, store: ResultsStore, summary: RunSummary, save_images: bool) -> None:
    if "error" in payload:
        log.warning("cell %s (%s) failed: %s", payload["cell"], payload["label"], payload["error"])
        log.debug("%s", payload["traceback"])
        summary.failed.append(f"{payload['label']}: {payload['error']}")
        return
    record = payload["record"]
    if save_images:
        reference_name = "reference-" + cell_id(record["config"]["image"])
        if not store.image_path(reference_name).exists():
            store.save_image(reference_name, payload["reference"])
        store.save_image(record["cell"], payload["image"])
        record["image_file"] = f"{IMAGES_DIR}/{record['cell']}.npy"
        record["reference_file"] = f"{IMAGES_DIR}/{reference_name}.npy"
    store.append(record)
    shutil.rmtree(store.folder / CHECKPOINTS_DIR / record["cell"], ignore_errors=True)  # recorded: not needed
    summary.finished += 1
