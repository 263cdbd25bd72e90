"""BART cfl reading and the converters of the shared real k-space into fastMRI files."""
import h5py
import numpy as np
import pytest
import torch

from csprior.datasets import (convert_all, convert_bart_brain8ch, convert_brain16ch, estimate_coil_maps,
                              load_mri_set, read_cfl, read_fastmri)
from csprior.operators import fft2c, ifft2c


def _write_cfl(base, array):
    dims = list(array.shape) + [1] * (16 - array.ndim)
    (base.parent / f"{base.name}.hdr").write_text("# Dimensions\n" + " ".join(map(str, dims)) + "\n")
    np.asarray(array, np.complex64).flatten(order="F").tofile(base.parent / f"{base.name}.cfl")


def test_read_cfl_fortran_order_and_errors(tmp_path):
    array = (np.arange(24) + 1j * np.arange(24)[::-1]).reshape(2, 3, 4).astype(np.complex64)
    _write_cfl(tmp_path / "a", array)
    np.testing.assert_array_equal(read_cfl(tmp_path / "a"), array)
    np.testing.assert_array_equal(read_cfl(tmp_path / "a.hdr"), array)

    (tmp_path / "a.cfl").write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match=r"a\.cfl.*8 bytes"):
        read_cfl(tmp_path / "a")
    (tmp_path / "a.hdr").write_text("no dimensions here\n")
    with pytest.raises(ValueError, match=r"a\.hdr.*Dimensions"):
        read_cfl(tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="missing.hdr"):
        read_cfl(tmp_path / "missing")


def _rss(coil_images):
    return np.sqrt((np.abs(coil_images) ** 2).sum(axis=-3))


def _ifft2c_numpy(k):
    axes = (-2, -1)
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=axes), norm="ortho"), axes=axes)


def test_brain16ch_conversion(shared_data, tmp_path):
    src = shared_data / "mri" / "brain16ch_full"
    with h5py.File(src / "raw_data.mat", "r") as hf:
        raw = hf["raw"][()]
    expected_k = (raw["real"] + 1j * raw["imag"]).astype(np.complex64).transpose(1, 0, 2, 3)  # (1, 16, 96, 96)
    path = convert_brain16ch(src, tmp_path / "b16.h5")
    with read_fastmri(path) as f:
        assert f.kspace.shape == (1, 16, 96, 96) and f.mask is None
        np.testing.assert_array_equal(f.kspace[0].numpy(), expected_k[0])
        target = f.target[0].numpy()
        np.testing.assert_allclose(target, _rss(_ifft2c_numpy(expected_k[0].astype(np.complex128))),
                                   rtol=1e-4, atol=1e-3)
        assert f.attrs["max"] == pytest.approx(float(target.max()))


def test_bart_brain8ch_conversion(shared_data, tmp_path):
    src = shared_data / "mri" / "brain8ch_poisson_bart"
    ksp = read_cfl(src / "ksp")
    path = convert_bart_brain8ch(src, tmp_path / "b8.h5")
    with read_fastmri(path) as f:
        assert f.kspace.shape == (1, 8, 180, 230) and f.target.shape == (1, 180, 230)
        kspace = f.kspace[0]
        np.testing.assert_array_equal(kspace.numpy(), ksp[0].transpose(2, 0, 1))
        np.testing.assert_array_equal(f.mask.numpy(), (np.abs(ksp[0]) > 0).any(axis=-1))
        # the manifest: 12.7 % of samples, ~8x
        assert 0.12 < float(f.mask.float().mean()) < 0.13 and f.attrs["acceleration"] == 8
        scale = f.attrs["reference_scale"]
        target = f.target[0]
    # the scale, checked by another route: a few CG-SENSE iterations with ESPIRiT maps, least-squares
    # fitted in magnitude to the reference
    mask = f.mask
    maps = estimate_coil_maps(kspace)
    forward = lambda x: fft2c(maps * x) * mask  # noqa: E731
    adjoint = lambda y: (maps.conj() * ifft2c(y * mask)).sum(0)  # noqa: E731
    b = adjoint(kspace)
    x, r = torch.zeros_like(b), b.clone()
    p, rs = r.clone(), (r.abs() ** 2).sum()
    for _ in range(5):
        ap = adjoint(forward(p))
        alpha = rs / (p.conj() * ap).sum().real
        x, r = x + alpha * p, r - alpha * ap
        rs_new = (r.abs() ** 2).sum()
        p, rs = r + rs_new / rs * p, rs_new
    unscaled = target / scale
    inside = unscaled > 0.1 * unscaled.max()
    cg_scale = float((x.abs()[inside] * unscaled[inside]).sum() / (unscaled[inside] ** 2).sum())
    assert scale == pytest.approx(cg_scale, rel=0.03)


def test_convert_all_and_load_sets(shared_data, tmp_path):
    written = convert_all(shared_data, tmp_path / "out")
    assert sorted(written) == ["brain16ch_full", "brain8ch_poisson_bart"]
    assert all(path.is_file() for path in written.values())
    scan = load_mri_set(shared_data / "mri", "brain16ch_full")
    assert scan.kspace.shape == (16, 96, 96) and scan.reference.shape == (96, 96) and bool(scan.sampled.all())
    with pytest.raises(ValueError, match="name must be one of"):
        load_mri_set(shared_data / "mri", "knee")


def test_converters_report_missing_and_corrupt_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="raw_data.mat"):
        convert_brain16ch(tmp_path, tmp_path / "x.h5")
    _write_cfl(tmp_path / "ksp", np.ones((1, 4, 4, 2), np.complex64))
    with pytest.raises(FileNotFoundError, match="img.cfl"):
        convert_bart_brain8ch(tmp_path, tmp_path / "x.h5")
    (tmp_path / "raw_data.mat").write_text("not MATLAB")
    with pytest.raises(ValueError, match="raw_data.mat"):
        convert_brain16ch(tmp_path, tmp_path / "x.h5")
    with pytest.raises(FileNotFoundError, match="no MRI data set"):
        convert_all(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "x.h5").exists()
