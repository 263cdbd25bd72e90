"""Records of identical cells taken from other results folders instead of being recomputed.

Suites share cells: the same image, operator, method table and seed (so the same cell id) appear
in several suites, and a cell costs up to an hour on a CPU. Its solvers are seeded and run the same
arithmetic on the same machine, so a record made by one suite is what another would compute (the
1000-iteration Lasso rows of ``cs-natural-small`` and ``ablation-cs128``, run separately, have
identical metrics). A reused record keeps its measurements (metrics, seconds, versions, host), takes
the suite and experiment names of the run that reuses it, and says where it was computed in
``reused_from`` (that folder, suite and experiment).
"""
from __future__ import annotations

import os

import numpy as np

from .results_store import ResultsStore
from .suite import Cell


def recorded_cells(folders) -> dict[str, tuple[ResultsStore, dict]]:
    """Cell id -> (its folder's store, record) over ``folders`` (earlier folders win).

    Raises:
        ValueError: a folder has no results file.
    """
    found = {}
    for folder in folders:
        store = ResultsStore(folder)
        if not store.path.exists():
            raise ValueError(f"reuse folder {os.fspath(folder)!r} has no {store.path.name}")
        for record in store.records():
            found.setdefault(record["cell"], (store, record))
    return found


def reused_record(cell: Cell, source: ResultsStore, record: dict, target: ResultsStore, save_images: bool) -> dict:
    """``record`` (made in ``source``) as a record of ``cell`` in ``target``, its images copied when kept."""
    if record.get("config") != cell.config:
        raise ValueError(f"cell {cell.id}: the record in {source.folder} has another configuration")
    copy = {key: value for key, value in record.items() if key not in ("image_file", "reference_file")}
    copy.update(suite=cell.suite, experiment=cell.experiment, setting=cell.setting, ratio=cell.ratio,
                method=cell.method, image=cell.image_name,
                reused_from=record.get("reused_from") or {  # a copy of a copy names where it was computed
                    "folder": os.fspath(source.folder), "suite": record.get("suite"), "experiment": record.get("experiment")})
    if save_images:
        for key in ("image_file", "reference_file"):
            _copy_image(record.get(key), source, target, copy, key)
    return copy


def _copy_image(relative: str | None, source: ResultsStore, target: ResultsStore, record: dict, key: str) -> None:
    if relative is None or not (source.folder / relative).exists():
        return  # images are not always kept (--no-images, or not committed); the record still holds
    name = os.path.splitext(os.path.basename(relative))[0]
    if not target.image_path(name).exists():
        target.save_image(name, np.load(source.folder / relative))
    record[key] = os.path.relpath(target.image_path(name), target.folder)
