"""Data for csprior: natural images, fastMRI HDF5 files, the real MRI sets, synthetic MRI data, coil maps.

Conventions: images are float32 ``(1, C, H, W)`` tensors in [0, 1]; k-space is complex64
``(slices, [coils,] H, W)`` in files and ``(coils, H, W)`` per slice, with W the phase-encode axis
that Cartesian masks select columns of and the centred orthonormal FFT of ``csprior.operators``.

- ``images``: ``load_image``, ``load_images``.
- ``fastmri_read`` / ``fastmri_write``: ``read_fastmri`` (lazy, validated), ``scan_fastmri``,
  ``write_fastmri``, ``write_reconstructions``; ``ismrmrd_header`` parses and writes the header.
- ``converters``: the shared folder's real k-space (``load_mri_set``, ``convert_all``).
- ``synthetic``: ``shepp_logan``, ``simulated_coil_maps``, ``synthetic_kspace``.
- ``coil_maps``: ``estimate_coil_maps`` (ESPIRiT or low-resolution), ``rss``, ``sense_combine``.
"""
from .bart_cfl import read_cfl
from .coil_maps import calibration_region, calibration_size, estimate_coil_maps, rss, sense_combine
from .converters import (MRIScan, convert_all, convert_bart_brain8ch, convert_brain16ch, load_mri_set,
                         read_bart_brain8ch, read_brain16ch)
from .fastmri_read import FastMRIFile, LazyVolume, read_fastmri, scan_fastmri
from .fastmri_write import write_fastmri, write_reconstructions
from .images import SKIMAGE_IMAGES, load_image, load_images
from .ismrmrd_header import IsmrmrdHeader, make_ismrmrd_header, parse_ismrmrd_header
from .synthetic import shepp_logan, simulated_coil_maps, synthetic_kspace

__all__ = [
    "read_cfl",
    "calibration_region", "calibration_size", "estimate_coil_maps", "rss", "sense_combine",
    "MRIScan", "convert_all", "convert_bart_brain8ch", "convert_brain16ch", "load_mri_set",
    "read_bart_brain8ch", "read_brain16ch",
    "FastMRIFile", "LazyVolume", "read_fastmri", "scan_fastmri",
    "write_fastmri", "write_reconstructions",
    "SKIMAGE_IMAGES", "load_image", "load_images",
    "IsmrmrdHeader", "make_ismrmrd_header", "parse_ismrmrd_header",
    "shepp_logan", "simulated_coil_maps", "synthetic_kspace",
]
from .mri_pipeline import MRIFileResult, MRIOptions, reconstruct_file, run_mri_pipeline

__all__ += ["MRIFileResult", "MRIOptions", "reconstruct_file", "run_mri_pipeline"]
