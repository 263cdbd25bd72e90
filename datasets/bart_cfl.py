"""Reader for BART's ``.cfl``/``.hdr`` file pairs.

BART (the Berkeley Advanced Reconstruction Toolbox) stores an array as two files: ``NAME.hdr``, a
text file whose line after ``# Dimensions`` lists the dimensions (16 of them, trailing ones 1),
and ``NAME.cfl``, the raw complex64 samples in Fortran (column-major) order. BART's first axes are
``(READ, PHS1, PHS2, COIL, MAPS, ...)``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def read_cfl(path: str | Path) -> np.ndarray:
    """Read a BART array.

    Args:
        path: ``NAME``, ``NAME.cfl`` or ``NAME.hdr``; both files must exist.

    Returns:
        complex64 numpy array of the header's dimensions with trailing singleton dimensions
        dropped (e.g. ``(1, 180, 230, 8)`` for a ``1 180 230 8 1 ... 1`` header).

    Raises:
        FileNotFoundError: ``NAME.hdr`` or ``NAME.cfl`` is missing.
        ValueError: the header has no dimensions line, or the data size does not match it.
    """
    base = Path(path)
    if base.suffix in (".cfl", ".hdr"):
        base = base.with_suffix("")
    header, data = base.with_suffix(".hdr"), base.with_suffix(".cfl")
    for required in (header, data):
        if not required.is_file():
            raise FileNotFoundError(f"BART array {base}: {required} does not exist")
    dims = _dimensions(header)
    expected = math.prod(dims) * np.dtype(np.complex64).itemsize
    actual = data.stat().st_size
    if actual != expected:
        raise ValueError(f"{data}: holds {actual} bytes, but {header} dimensions {dims} need {expected}")
    samples = np.fromfile(data, dtype=np.complex64)
    while len(dims) > 1 and dims[-1] == 1:
        dims = dims[:-1]
    return samples.reshape(dims, order="F")


def _dimensions(header: Path) -> list[int]:
    lines = header.read_text(errors="replace").splitlines()
    for index, line in enumerate(lines[:-1]):
        if line.strip().lower().startswith("# dimensions"):
            try:
                dims = [int(token) for token in lines[index + 1].split()]
            except ValueError:
                break
            if dims and all(d >= 1 for d in dims):
                return dims
            break
    raise ValueError(f"{header}: no valid '# Dimensions' line followed by positive integers")
