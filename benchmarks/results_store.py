"""Append-only JSON-lines results: one line per finished cell, each written whole.

Crash safety: a line is appended with a single ``os.write`` of the complete line to a file opened
with ``O_APPEND``, then ``fsync``-ed, so a run killed at any moment (even ``kill -9``) leaves every
earlier line intact and at worst a torn final line without its newline. Readers ignore such a
torn tail; ``ResultsStore`` cuts it off before appending again, so it never glues a new line to
a fragment. Images are written atomically (temporary file, then ``os.replace``) before the line
that refers to them, so a recorded cell always has its image.

Lines are strict JSON (non-finite floats are written as ``null``) with sorted keys.
"""
from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from csprior.atomic_file import save_npy_atomic

log = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
IMAGES_DIR = "images"


def to_json_line(record: dict) -> bytes:
    """``record`` as one strict-JSON line (UTF-8, ending in a newline); NaN/Inf become null."""
    return (json.dumps(_finite(record), sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode()


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def read_records(path: str | os.PathLike) -> list[dict]:
    """All complete records of a results file, in file order (``[]`` if it does not exist).

    A final line without its newline (a write cut short by a crash) is ignored. A broken line
    elsewhere raises ValueError naming the line: that is damage, not a crash.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    complete, _, torn = data.rpartition(b"\n")
    if torn:
        log.warning("%s: ignoring a torn final line (%d bytes) left by an interrupted run", path, len(torn))
    records = []
    for number, line in enumerate(complete.split(b"\n") if complete else [], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} line {number} is not valid JSON ({exc.msg}); the file is damaged") from exc
        if not isinstance(record, dict) or "cell" not in record:
            raise ValueError(f"{path} line {number} is not a result record (a JSON object with a 'cell' key)")
        records.append(record)
    return records


class ResultsStore:
    """The results of one benchmark output folder: ``DIR/results.jsonl`` and ``DIR/images/``.

    Args:
        folder: output folder; created if missing.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / RESULTS_FILE
        self.images = self.folder / IMAGES_DIR

    def records(self) -> list[dict]:
        """The complete records, first occurrence of each cell id only."""
        seen, unique = set(), []
        for record in read_records(self.path):
            if record["cell"] not in seen:
                seen.add(record["cell"])
                unique.append(record)
        return unique

    def completed(self) -> set[str]:
        """Ids of the cells with a complete record."""
        return {record["cell"] for record in read_records(self.path)}

    def has_results(self) -> bool:
        """True when the results file exists and is not empty."""
        return self.path.exists() and self.path.stat().st_size > 0

    def prepare_append(self) -> None:
        """Create the folder and cut off a torn final line so that the next append starts a line."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        log.warning("%s: removing a torn final line (%d bytes) left by an interrupted run",
                    self.path, len(data) - keep)
        with open(self.path, "rb+") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())

    def append(self, record: dict) -> None:
        """Append ``record`` (a dict with a ``cell`` key) as one line, durably."""
        if "cell" not in record:
            raise ValueError("record must have a 'cell' key")
        line = to_json_line(record)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):  # only on a full disk or a signal; finish the line we started
                written += os.write(fd, line[written:])
            if written != len(line):
                raise OSError(f"could not write a whole result line to {self.path} (disk full?)")
            os.fsync(fd)
        finally:
            os.close(fd)

    def image_path(self, name: str) -> Path:
        """Where the image ``name`` (``.npy``) is stored."""
        return self.images / f"{name}.npy"

    def save_image(self, name: str, array: np.ndarray) -> Path:
        """Write ``array`` to ``images/<name>.npy`` atomically; returns the path."""
        return save_npy_atomic(self.image_path(name), array)

    def load_image(self, name: str) -> np.ndarray | None:
        """The stored image ``name``, or None when it was not saved."""
        path = self.image_path(name)
        return np.load(path) if path.exists() else None
