"""The real MRI k-space of the shared data folder, read in csprior's axes and converted to fastMRI files.

Sources (``<data>/mri/``, described in the data folder's ``MANIFEST.md``):

``brain16ch_full``
    ``raw_data.mat`` (MATLAB v7.3 = HDF5): ``raw``, compound ``(real, imag)`` float64, HDF5 shape
    ``(16, 1, 96, 96)`` = (coil, slice, ky, kx) (MATLAB's ``(Nx, Ny, Nz, Nc)`` read in reverse),
    fully sampled. The last HDF5 axis is the one the data's own SENSE tutorial undersamples (the
    anterior-posterior phase encode of this axial slice), so it becomes fastMRI's W: the k-space is
    ``(slices, coils, H, W) = (1, 16, 96, 96)`` with no axis swapped, the coil and slice axes
    exchanged. Reference: root-sum-of-squares of the fully sampled coil images.

``brain8ch_poisson_bart``
    BART ``ksp`` ``(1, 180, 230, 8)`` = (readout position, ky, kz, coil) of a 3-D scan, ~8×
    Poisson-disc undersampled over (ky, kz), and ``img`` ``(1, 180, 230, 1, 2)``, BART's PICS
    reconstruction with two ESPIRiT maps. K-space becomes ``(1, 8, 180, 230)`` (H = ky, W = kz)
    with the 2-D sampling pattern ``(180, 230)`` stored as ``mask``. Reference: magnitude RSS of
    ``img`` over the two maps, which BART stored in its own intensity scale; it is rescaled to the
    k-space's units by the least-squares factor between the low-resolution RSS image of the fully
    sampled k-space centre and the same low-pass of the reference (factor stored as the
    ``reference_scale`` attribute).

Both readers return an ``MRIScan``; ``convert_*`` write fastMRI-layout files with ``write_fastmri``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from csprior.operators import fft2c, ifft2c

from .bart_cfl import read_cfl
from .coil_maps import calibration_region, calibration_window, rss
from .fastmri_write import write_fastmri

log = logging.getLogger(__name__)

ACQUISITION = "AX_BRAIN"  # axial brain slices of unstated contrast


@dataclass
class MRIScan:
    """One real multi-coil slice in csprior's axes.

    Attributes:
        name: the data set's folder name.
        kspace: complex64 ``(coils, H, W)``, zero where not acquired; W is the phase-encode axis.
        reference: float32 ``(H, W)`` magnitude reference image in the k-space's units.
        sampled: bool ``(H, W)``, True where k-space was acquired.
        description: where the data come from and how the reference was made.
        attrs: extra attributes recorded in converted files.
    """

    name: str
    kspace: torch.Tensor
    reference: torch.Tensor
    sampled: torch.Tensor
    description: str
    attrs: dict


def read_brain16ch(src: str | Path) -> torch.Tensor:
    """Fully sampled 16-coil brain k-space, complex64 ``(16, 96, 96)`` = (coils, H, W).

    Args:
        src: the ``brain16ch_full`` folder or its ``raw_data.mat``.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the file is not the expected MATLAB v7.3 layout (naming what differs).
    """
    path = _source_file(src, "raw_data.mat")
    try:
        with h5py.File(path, "r") as hf:
            if "raw" not in hf:
                raise ValueError(f"{path}: no 'raw' variable (keys: {sorted(hf.keys())})")
            raw = hf["raw"][()]
    except OSError as exc:
        raise ValueError(f"{path}: not a MATLAB v7.3 (HDF5) file ({exc})") from exc
    if raw.dtype.names is None or not {"real", "imag"} <= set(raw.dtype.names):
        raise ValueError(f"{path}: 'raw' must be a compound (real, imag) array, got {raw.dtype}")
    if raw.ndim != 4 or raw.shape[1] != 1:
        raise ValueError(f"{path}: 'raw' must be (coils, 1 slice, ky, kx), got shape {raw.shape}")
    kspace = (raw["real"] + 1j * raw["imag"])[:, 0]
    return torch.from_numpy(kspace.astype(np.complex64))


def load_mri_set(mri_dir: str | Path, name: str) -> MRIScan:
    """Read one of the real data sets by folder name (``MRI_SETS``) from ``<data>/mri``."""
    if name not in MRI_SETS:
        raise ValueError(f"name must be one of {sorted(MRI_SETS)}, got {name!r}")
    return MRI_SETS[name](Path(mri_dir) / name)


def read_brain16ch_scan(src: str | Path) -> MRIScan:
    """The 16-coil brain as an ``MRIScan`` (reference: RSS of the fully sampled coil images)."""
    kspace = read_brain16ch(src)
    reference = rss(ifft2c(kspace)).to(torch.float32)
    return MRIScan("brain16ch_full", kspace, reference, torch.ones(kspace.shape[-2:], dtype=torch.bool),
                   "16-coil 2-D brain, fully sampled (github mchiew/SENSE-tutorial raw_data.mat); "
                   "reference: RSS of the fully sampled coil images", {})


def read_bart_brain8ch(src: str | Path) -> MRIScan:
    """The 8-coil Poisson-disc brain as an ``MRIScan`` (see the module docstring for the axes)."""
    folder = Path(src)
    ksp = read_cfl(_source_file(folder, "ksp.cfl"))
    img = read_cfl(_source_file(folder, "img.cfl"))
    if ksp.ndim != 4 or ksp.shape[0] != 1:
        raise ValueError(f"{folder / 'ksp.cfl'}: expected (1, ky, kz, coils), got shape {ksp.shape}")
    if img.shape[:3] != ksp.shape[:3] or img.ndim != 5 or img.shape[3] != 1:
        raise ValueError(f"{folder / 'img.cfl'}: expected (1, {ksp.shape[1]}, {ksp.shape[2]}, 1, maps), "
                         f"got shape {img.shape}")
    kspace = torch.from_numpy(np.ascontiguousarray(ksp[0].transpose(2, 0, 1)))
    sampled = (kspace.abs() > 0).any(dim=0)
    map_images = torch.from_numpy(np.ascontiguousarray(img[0, :, :, 0].transpose(2, 0, 1)))  # (maps, H, W)
    bart_reference = rss(map_images)
    scale = _reference_scale(kspace, map_images, sampled)
    return MRIScan("brain8ch_poisson_bart", kspace, (scale * bart_reference).to(torch.float32), sampled,
                   "8-coil axial brain, Poisson-disc undersampled (github mrirecon/bart-workshop "
                   "ismrm2016/pics-brain); reference: RSS over the 2 ESPIRiT maps of BART's PICS image, "
                   "rescaled to k-space units", {"reference_scale": scale})


def convert_brain16ch(src_dir: str | Path, out_path: str | Path) -> Path:
    """Write the 16-coil brain as a multi-coil fastMRI file: kspace ``(1, 16, 96, 96)`` + ``reconstruction_rss``."""
    return _write_scan(read_brain16ch_scan(src_dir), out_path, with_mask=False)


def convert_bart_brain8ch(src_dir: str | Path, out_path: str | Path) -> Path:
    """Write the BART 8-coil brain as a fastMRI file: kspace ``(1, 8, 180, 230)``, 2-D ``mask``, ``reconstruction_rss``."""
    return _write_scan(read_bart_brain8ch(src_dir), out_path, with_mask=True)


def convert_all(data_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Convert every real data set present under ``data_dir`` (the data folder or its ``mri/``).

    Returns:
        set name -> written file ``<out_dir>/<name>.h5``; sets whose folder is absent are skipped
        (logged).

    Raises:
        FileNotFoundError: none of the sets is present.
    """
    data_dir = Path(data_dir)
    mri_dir = data_dir / "mri" if (data_dir / "mri").is_dir() else data_dir
    present = [name for name in CONVERTERS if (mri_dir / name).is_dir()]
    if not present:
        raise FileNotFoundError(f"no MRI data set ({', '.join(CONVERTERS)}) found under {mri_dir}")
    for name in sorted(set(CONVERTERS) - set(present)):
        log.info("convert_all: %s not found under %s, skipped", name, mri_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {name: CONVERTERS[name](mri_dir / name, out_dir / f"{name}.h5") for name in present}


def _source_file(src: str | Path, filename: str) -> Path:
    src = Path(src)
    path = src if src.is_file() else src / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (expected the data set's {filename})")
    return path


def _reference_scale(kspace: torch.Tensor, map_images: torch.Tensor, sampled: torch.Tensor) -> float:
    """Least-squares factor between the low-res RSS images of the reference and of the k-space centre.

    Both are RSS images of the same Hann-windowed k-space centre, so they agree up to the scale.
    """
    region = calibration_region(sampled)
    if min(part.stop - part.start for part in region) < 2:
        raise ValueError("the k-space has no fully sampled centre to calibrate the reference scale from")
    window = calibration_window(tuple(kspace.shape[-2:]), region)
    data_lowres = rss(ifft2c(kspace.to(torch.complex128) * window))
    reference_lowres = rss(ifft2c(fft2c(map_images.to(torch.complex128)) * window))
    inside = reference_lowres > 0.1 * reference_lowres.max()  # the background carries only noise
    return float((data_lowres[inside] * reference_lowres[inside]).sum() / reference_lowres[inside].pow(2).sum())


def _write_scan(scan: MRIScan, out_path: str | Path, with_mask: bool) -> Path:
    return write_fastmri(out_path, scan.kspace[None], scan.reference[None], acquisition=ACQUISITION,
                         patient_id=scan.name, mask=scan.sampled if with_mask else None,
                         attrs={"source": scan.description, **scan.attrs})


MRI_SETS = {"brain16ch_full": read_brain16ch_scan, "brain8ch_poisson_bart": read_bart_brain8ch}
CONVERTERS = {"brain16ch_full": convert_brain16ch, "brain8ch_poisson_bart": convert_bart_brain8ch}
