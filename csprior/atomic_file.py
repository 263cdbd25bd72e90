"""Files written whole: a crash never leaves a half-written result, table, figure or HDF5 file.

Everything is written to a temporary file in the destination folder, flushed to disk, made
readable by others (``mkstemp`` creates private files; results are meant to be shared) and renamed
onto the destination with ``os.replace``, which is atomic within one file system.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary sibling of ``path`` for the caller to write; moved onto ``path`` when the block
    ends normally, removed when it raises. The folder must exist (FileNotFoundError naming it)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (its folders created) through ``atomic_path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return path


def save_npy_atomic(path, array: np.ndarray) -> Path:
    """``np.save`` of ``array`` to ``path`` (exactly that name: no ``.npy`` added) through ``write_bytes_atomic``."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return write_bytes_atomic(path, buffer.getvalue())


def write_text_atomic(path, text: str) -> Path:
    """``write_bytes_atomic`` of ``text`` encoded as UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"))
