"""Writing fastMRI-layout HDF5 files and fastMRI submission files, atomically.

``write_fastmri`` produces the layout fastMRI's ``SliceDataset`` reads (see ``fastmri_read``):
``kspace``, the target (``reconstruction_rss`` for multi-coil, ``reconstruction_esc`` for
single-coil k-space), an optional ``mask``, the attributes ``acquisition``, ``patient_id``,
``max`` and ``norm`` (of the target volume, as fastMRI's evaluation uses them) and, with a mask,
``acceleration`` and ``num_low_frequency``, plus a schema-valid ``ismrmrd_header``.
``write_reconstructions`` writes fastMRI's submission layout: one file per volume holding a float32
``reconstruction`` dataset ``(slices, H, W)``.

Every file is written to a temporary file in the destination folder and moved into place with
``os.replace`` (``csprior.atomic_file``), so a reader never sees a half-written file.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np
import torch

from csprior.atomic_file import atomic_path

from .coil_maps import calibration_size
from .fastmri_read import TARGET_KEYS
from .ismrmrd_header import make_ismrmrd_header

log = logging.getLogger(__name__)


def write_fastmri(path: str | Path, kspace, target=None, *, acquisition: str = "CORPD_FBK",
                  patient_id: str | None = None, mask=None, acceleration: int | None = None,
                  num_low_frequency: int | None = None, step1_limits: tuple[int, int, int] | None = None,
                  fov_mm: tuple[float, float, float] | None = None, attrs: Mapping | None = None,
                  compression: str | None = None) -> Path:
    """Write a fastMRI-layout HDF5 file.

    Args:
        path: destination ``.h5`` file (its folder must exist).
        kspace: complex ``(slices, H, W)`` (single-coil) or ``(slices, coils, H, W)`` (multi-coil),
            torch tensor or numpy array; stored as complex64, one HDF5 chunk per slice.
        target: real ``(slices, h, w)`` target, stored as float32 under ``reconstruction_esc``
            (single-coil) or ``reconstruction_rss`` (multi-coil); sets the ``max`` and ``norm``
            attributes and the header's recon matrix. Without a target the recon matrix is ``(H, W)``.
        acquisition: the ``acquisition`` attribute (fastMRI: ``CORPD_FBK``, ``CORPDFS_FBK``,
            ``AXT2``, ...).
        patient_id: the ``patient_id`` attribute; default the file name without its suffix.
        mask: boolean sampling pattern ``(W,)`` or ``(H, W)``, stored as ``mask`` (test-file layout).
        acceleration: ``acceleration`` attribute; default ``round(mask size / samples)`` with a mask.
        num_low_frequency: ``num_low_frequency`` attribute; default the width of the fully sampled
            centre of the mask.
        step1_limits: header phase-encode limits ``(minimum, maximum, center)`` (see
            ``ismrmrd_header``); default no padding.
        fov_mm: encoded field of view for the header (default 1 mm per matrix element).
        attrs: further attributes to store (numbers or strings).
        compression: HDF5 compression of kspace and target (``"gzip"``, ``"lzf"`` or None).

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    k = _as_array(kspace, "kspace", complex_=True)
    if k.ndim not in (3, 4):
        raise ValueError(f"kspace must be (slices, H, W) or (slices, coils, H, W), got shape {k.shape}")
    if 0 in k.shape:
        raise ValueError(f"kspace must hold at least one slice (and coil) of nonzero size, got shape {k.shape}")
    multicoil = k.ndim == 4
    height, width = k.shape[-2:]
    t = None
    if target is not None:
        t = _as_array(target, "target", complex_=False)
        if t.ndim != 3 or t.shape[0] != k.shape[0]:
            raise ValueError(f"target must be (slices={k.shape[0]}, h, w), got shape {t.shape}")
    m = _as_mask(mask, height, width) if mask is not None else None
    header = make_ismrmrd_header(
        (height, width, 1), (*(t.shape[1:] if t is not None else (height, width)), 1),
        step1_limits=step1_limits, slices=k.shape[0], coils=k.shape[1] if multicoil else 1, fov_mm=fov_mm)
    file_attrs = {"acquisition": str(acquisition), "patient_id": patient_id or path.stem}
    if t is not None:
        file_attrs.update(max=float(t.max()), norm=float(np.linalg.norm(t)))
    if m is not None:
        file_attrs.update(_mask_attrs(m, acceleration, num_low_frequency))
    file_attrs.update(dict(attrs or {}))
    with _atomic_h5(path) as hf:
        hf.create_dataset("kspace", data=k, chunks=(1, *k.shape[1:]), compression=compression)
        if t is not None:
            key = TARGET_KEYS["multicoil" if multicoil else "singlecoil"]
            hf.create_dataset(key, data=t, chunks=(1, *t.shape[1:]), compression=compression)
        if m is not None:
            hf.create_dataset("mask", data=m)
        hf.create_dataset("ismrmrd_header", data=np.bytes_(header))
        for key, value in file_attrs.items():
            hf.attrs[key] = value
    log.info("wrote fastMRI file %s: kspace %s, target %s", path, k.shape, None if t is None else t.shape)
    return path


def write_reconstructions(out_dir: str | Path, reconstructions: Mapping[str, object]) -> list[Path]:
    """Write reconstructions in fastMRI's submission layout.

    Args:
        out_dir: folder to write into (created if missing).
        reconstructions: file name (e.g. ``"file1000001.h5"``; ``.h5`` is appended if missing) ->
            real ``(slices, H, W)`` volume (torch tensor or numpy array; magnitude images).

    Returns:
        the written paths, in the mapping's order. Each holds a float32 dataset ``reconstruction``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, volume in reconstructions.items():
        if not name or Path(name).name != name:
            raise ValueError(f"reconstruction names must be plain file names, got {name!r}")
        array = _as_array(volume, f"reconstructions[{name!r}]", complex_=False)
        if array.ndim != 3:
            raise ValueError(f"reconstructions[{name!r}] must be (slices, H, W), got shape {array.shape}")
        path = out_dir / (name if name.endswith(".h5") else f"{name}.h5")
        with _atomic_h5(path) as hf:
            hf.create_dataset("reconstruction", data=array)
        written.append(path)
    log.info("wrote %d reconstruction files to %s", len(written), out_dir)
    return written


@contextlib.contextmanager
def _atomic_h5(path: Path):
    """An ``h5py.File`` open for writing on a temporary sibling of ``path``, moved onto it on success."""
    with atomic_path(path) as temporary, h5py.File(temporary, "w") as hf:
        yield hf


def _as_array(values, name: str, complex_: bool) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if complex_ and not np.iscomplexobj(array):
        raise TypeError(f"{name} must be complex, got {array.dtype}")
    if not complex_ and (np.iscomplexobj(array) or array.dtype.kind not in "fiu"):
        raise TypeError(f"{name} must be real-valued (magnitude images), got {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or Inf values")
    return np.ascontiguousarray(array, dtype=np.complex64 if complex_ else np.float32)


def _as_mask(mask, height: int, width: int) -> np.ndarray:
    m = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    if m.shape not in ((width,), (height, width)):
        m = m.squeeze()  # fastMRI's MaskFunc returns (1, ..., W, 1)
    if m.shape not in ((width,), (height, width)):
        raise ValueError(f"mask must have shape ({width},) or ({height}, {width}) to match kspace, got {m.shape}")
    stray = m[~np.isin(m, (0, 1))]  # 0.3 or NaN would otherwise count as acquired
    if stray.size:
        raise TypeError(f"mask must be boolean or hold only 0 and 1, got values such as {stray[0]}")
    if not m.any():
        raise ValueError("mask is all zero: no k-space sample is marked as acquired")
    return m != 0


def _mask_attrs(mask: np.ndarray, acceleration, num_low_frequency) -> dict:
    if acceleration is None:
        acceleration = round(mask.size / int(mask.sum()))
    if num_low_frequency is None:
        grid = mask if mask.ndim == 2 else mask[None, :]
        num_low_frequency = calibration_size(grid)[1]
    return {"acceleration": int(acceleration), "num_low_frequency": int(num_low_frequency)}
