"""Reading fastMRI HDF5 files one slice at a time, with the file's problems reported by name.

The layout is fastMRI's (``fastmri/data/README.md`` in facebookresearch/fastMRI):

- ``kspace``: complex ``(slices, H, W)`` (single-coil) or ``(slices, coils, H, W)`` (multi-coil);
  ``W`` is the phase-encode axis, the one Cartesian masks select columns of.
- ``reconstruction_esc`` (single-coil) / ``reconstruction_rss`` (multi-coil): real
  ``(slices, h, w)`` targets, absent from test files.
- ``mask``: boolean sampling pattern of test files: ``(W,)`` columns, or ``(H, W)`` for 2-D
  (e.g. Poisson-disc) patterns such as the converted BART brain. The 2-D form is csprior's
  extension: fastMRI's ``SliceDataset`` returns it unchanged, but fastMRI's transforms (e.g.
  ``VarNetDataTransform``) only accept column masks.
- attributes ``acquisition``, ``max``, ``norm``, ``patient_id`` and, in test files,
  ``acceleration`` and ``num_low_frequency``.
- ``ismrmrd_header``: the ISMRMRD XML header (see ``ismrmrd_header``).

``read_fastmri`` opens a file and validates it; ``f.kspace[i]`` then reads slice ``i`` only (an HDF5
hyperslab read), so volumes far larger than memory can be walked slice by slice.
"""
from __future__ import annotations

import logging
import numbers
from collections.abc import Collection
from pathlib import Path

import h5py
import numpy as np
import torch
from tqdm.auto import tqdm

from .ismrmrd_header import IsmrmrdHeader, parse_ismrmrd_header

log = logging.getLogger(__name__)

TARGET_KEYS = {"singlecoil": "reconstruction_esc", "multicoil": "reconstruction_rss"}


class LazyVolume:
    """A read-on-index view of an HDF5 dataset: indexing reads only the selected part.

    ``volume[i]`` or ``volume[i:j]`` returns a torch tensor of ``dtype`` (complex64 k-space or
    float32 targets); ``shape``, ``ndim`` and ``len()`` describe the whole volume without reading it.
    ``dataset`` is the underlying ``h5py.Dataset``.
    """

    def __init__(self, dataset: h5py.Dataset, dtype: torch.dtype, source: str):
        self.dataset = dataset
        self.dtype = dtype
        self._source = source

    @property
    def shape(self) -> tuple[int, ...]:
        """The stored array's shape, e.g. ``(slices, coils, H, W)``; nothing is read."""
        return tuple(self.dataset.shape)

    @property
    def ndim(self) -> int:
        """Number of axes of the stored array."""
        return self.dataset.ndim

    def __len__(self) -> int:
        return self.dataset.shape[0]

    def __getitem__(self, key) -> torch.Tensor:
        if not self.dataset.id.valid:
            raise ValueError(f"{self._source}: the file is closed; open it again with read_fastmri")
        try:
            values = self.dataset[key]
        except OSError as exc:
            raise ValueError(f"{self._source}: cannot read {self.dataset.name}[{key!r}] ({exc})") from exc
        numpy_dtype = np.complex64 if self.dtype.is_complex else np.float32
        return torch.from_numpy(np.ascontiguousarray(values, dtype=numpy_dtype))

    def __repr__(self) -> str:
        return f"LazyVolume({self._source}:{self.dataset.name}, shape={self.shape}, dtype={self.dtype})"


class FastMRIFile:
    """An open, validated fastMRI HDF5 file. Use as a context manager or call ``close()``.

    Attributes:
        path: the file.
        kspace: ``LazyVolume`` of complex64 ``(slices, [coils,] H, W)``; ``kspace[i]`` reads slice i.
        target: ``LazyVolume`` of float32 ``(slices, h, w)`` or None (test files).
        target_key: ``"reconstruction_esc"``/``"reconstruction_rss"`` or None.
        mask: bool tensor ``(W,)`` or ``(H, W)`` for files with a stored mask, else None.
        attrs: the file attributes as plain Python values.
        header: parsed ``IsmrmrdHeader`` (sizes and padding) or None if the file has none.
    """

    def __init__(self, path: Path, handle: h5py.File, target_key: str | None = None):
        self.path = path
        self._file = handle
        self.kspace = LazyVolume(self._kspace_dataset(), torch.complex64, str(path))
        self.target_key = self._find_target_key(target_key)
        self.target = None if self.target_key is None else \
            LazyVolume(self._target_dataset(self.target_key), torch.float32, str(path))
        self.mask = self._read_mask()
        self.attrs = {key: _plain(value) for key, value in handle.attrs.items()}
        self.header = self._read_header()

    # -- shape summary -----------------------------------------------------------------------------
    @property
    def is_multicoil(self) -> bool:
        """True for ``(slices, coils, H, W)`` k-space."""
        return self.kspace.ndim == 4

    @property
    def num_slices(self) -> int:
        """Number of slices in the file (the first axis of ``kspace``)."""
        return self.kspace.shape[0]

    @property
    def num_coils(self) -> int:
        """Coils of multi-coil files; 1 for single-coil files."""
        return self.kspace.shape[1] if self.is_multicoil else 1

    @property
    def kspace_size(self) -> tuple[int, int]:
        """``(H, W)`` of one coil's k-space."""
        return self.kspace.shape[-2], self.kspace.shape[-1]

    # -- life cycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HDF5 file; the lazy volumes cannot be read afterwards."""
        self._file.close()

    def __enter__(self) -> "FastMRIFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = f"multicoil, {self.num_coils} coils" if self.is_multicoil else "singlecoil"
        return f"FastMRIFile({self.path}, {kind}, {self.num_slices} slices, kspace {self.kspace_size})"

    # -- validation ------------------------------------------------------------------------------------
    def _fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.path}: {problem}")

    def _kspace_dataset(self) -> h5py.Dataset:
        if "kspace" not in self._file or not isinstance(self._file["kspace"], h5py.Dataset):
            raise self._fail(f"no 'kspace' dataset (keys: {sorted(self._file.keys())})")
        dataset = self._file["kspace"]
        if dataset.ndim not in (3, 4):
            raise self._fail(f"kspace must be (slices, H, W) or (slices, coils, H, W), got shape {dataset.shape}")
        if dataset.dtype.kind != "c":
            raise self._fail(f"kspace must be complex, got real-valued {dataset.dtype}")
        if 0 in dataset.shape:
            raise self._fail(f"kspace is empty, shape {dataset.shape}")
        return dataset

    def _find_target_key(self, requested: str | None) -> str | None:
        if requested is not None:
            if requested not in self._file:
                raise self._fail(f"no {requested!r} dataset (keys: {sorted(self._file.keys())})")
            return requested
        preferred = TARGET_KEYS["multicoil" if self.is_multicoil else "singlecoil"]
        for key in (preferred, *TARGET_KEYS.values()):
            if key in self._file:
                return key
        return None

    def _target_dataset(self, key: str) -> h5py.Dataset:
        dataset = self._file[key]
        if not isinstance(dataset, h5py.Dataset) or dataset.ndim != 3:
            raise self._fail(f"{key} must be a (slices, h, w) dataset, got {getattr(dataset, 'shape', dataset)}")
        if dataset.dtype.kind not in "fiu":
            raise self._fail(f"{key} must be real-valued, got {dataset.dtype}")
        if dataset.shape[0] != self.num_slices:
            raise self._fail(f"{key} has {dataset.shape[0]} slices but kspace has {self.num_slices}")
        return dataset

    def _read_mask(self) -> torch.Tensor | None:
        if "mask" not in self._file:
            return None
        mask = np.asarray(self._file["mask"])
        height, width = self.kspace_size
        if mask.shape not in ((width,), (height, width)):
            raise self._fail(f"mask must have shape ({width},) or ({height}, {width}) to match kspace, "
                             f"got {mask.shape}")
        if not np.isin(mask, (0, 1)).all():  # 0.3 or NaN would otherwise count as acquired
            raise self._fail("mask must hold only 0 and 1 (or booleans)")
        if not np.any(mask):
            raise self._fail("mask is all zero: no k-space sample is marked as acquired")
        return torch.from_numpy(mask != 0)

    def _read_header(self) -> IsmrmrdHeader | None:
        if "ismrmrd_header" not in self._file:
            return None
        raw = self._file["ismrmrd_header"][()]
        if isinstance(raw, np.ndarray):
            raw = raw.item()
        return parse_ismrmrd_header(raw, str(self.path))


def read_fastmri(path: str | Path, target_key: str | None = None) -> FastMRIFile:
    """Open and validate a fastMRI HDF5 file (nothing but metadata and the mask is read).

    Args:
        path: the ``.h5`` file.
        target_key: target dataset to expose; default ``reconstruction_esc`` for single-coil and
            ``reconstruction_rss`` for multi-coil files, falling back to the other, else None.

    Returns:
        an open ``FastMRIFile``; close it (or use ``with read_fastmri(p) as f:``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: naming the file and the problem: not HDF5 or truncated, no ``kspace`` dataset,
            kspace of the wrong rank or real-valued, a target or mask that does not match the
            k-space, an all-zero mask, a malformed ISMRMRD header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fastMRI file {path} does not exist")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file (truncated, corrupt or another format: {exc})") from exc
    try:
        return FastMRIFile(path, handle, target_key)
    except Exception:
        handle.close()
        raise


def scan_fastmri(folder: str | Path, acquisition: str | Collection[str] | None = None,
                 coils: int | Collection[int] | None = None, *, progress: bool = True) -> list[Path]:
    """The fastMRI files (``*.h5``) of a folder, sorted by name, optionally filtered.

    Args:
        folder: folder to scan (not recursive).
        acquisition: keep files whose ``acquisition`` attribute is this (or one of these), e.g.
            ``"CORPD_FBK"`` or ``["AXT2", "AXFLAIR"]``.
        coils: keep files with this many coils (or one of these); single-coil files count as 1.
        progress: show a progress bar (only on a terminal).

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
        ValueError: a file is not a valid fastMRI file (naming it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"fastMRI folder {folder} does not exist or is not a directory")
    wanted_acquisitions = _as_set(acquisition, str, "acquisition")
    wanted_coils = _as_set(coils, int, "coils")
    selected = []
    for path in tqdm(sorted(folder.glob("*.h5")), desc="scanning fastMRI files", disable=None if progress else True):
        with read_fastmri(path) as f:
            if wanted_acquisitions is not None and f.attrs.get("acquisition") not in wanted_acquisitions:
                continue
            if wanted_coils is not None and f.num_coils not in wanted_coils:
                continue
        selected.append(path)
    log.info("scan_fastmri: %d files selected in %s", len(selected), folder)
    return selected


def _as_set(value, kind, name: str) -> set | None:
    """``value`` (one ``kind`` or a collection of them) as a set; None stays None (no filter)."""
    if value is None:
        return None
    if kind is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return {int(value)}
    if isinstance(value, str):
        if kind is str:
            return {value}
        raise TypeError(f"{name} must be an int or a collection of ints, got the text {value!r}")
    try:
        return {kind(v) for v in value}
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a {kind.__name__} or a collection of them, got {value!r}") from exc


def _plain(value):
    """HDF5 attribute -> plain Python value (bytes decoded, numpy scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
