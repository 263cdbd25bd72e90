"""fastMRI HDF5 files: write -> read round trips, lazy slice reads, the header, and every bad file."""
import xml.etree.ElementTree as ElementTree

import h5py
import numpy as np
import pytest
import torch

from csprior.datasets import (make_ismrmrd_header, parse_ismrmrd_header, read_fastmri, scan_fastmri,
                              write_fastmri, write_reconstructions)


def _volume(slices=3, coils=4, height=16, width=12, seed=0):
    rng = np.random.default_rng(seed)
    shape = (slices, coils, height, width) if coils else (slices, height, width)
    kspace = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    target = rng.random((slices, 8, 6)).astype(np.float32)
    return kspace, target


def _sparse_mask(width=64):
    # centre block of 8 columns (28..35) plus isolated columns: fully sampled centre width is 8
    mask = np.zeros(width, bool)
    mask[28:36] = True
    mask[[0, 8, 16, 48, 56]] = True
    return mask


def test_multicoil_round_trip(tmp_path):
    kspace, target = _volume()
    path = write_fastmri(tmp_path / "mc.h5", torch.from_numpy(kspace), target, acquisition="AXT2",
                         patient_id="p1", attrs={"extra": 3})
    with read_fastmri(path) as f:
        assert f.is_multicoil and f.num_slices == 3 and f.num_coils == 4 and f.kspace_size == (16, 12)
        assert f.target_key == "reconstruction_rss"
        assert f.kspace[1].dtype == torch.complex64 and f.kspace[1].shape == (4, 16, 12)
        np.testing.assert_array_equal(f.kspace[1].numpy(), kspace[1])
        np.testing.assert_array_equal(f.kspace[0:3].numpy(), kspace)
        np.testing.assert_array_equal(f.target[2].numpy(), target[2])
        assert f.mask is None
        assert f.attrs["acquisition"] == "AXT2" and f.attrs["patient_id"] == "p1" and f.attrs["extra"] == 3
        assert f.attrs["max"] == pytest.approx(float(target.max()))
        assert f.attrs["norm"] == pytest.approx(float(np.sqrt((target.astype(np.float64) ** 2).sum())), rel=1e-6)
        assert f.header.encoding_size == (16, 12, 1) and f.header.recon_size == (8, 6, 1)
        assert (f.header.padding_left, f.header.padding_right) == (0, 12)


def test_singlecoil_round_trip_with_mask_attributes(tmp_path):
    kspace, target = _volume(slices=2, coils=None, height=8, width=64)
    mask = _sparse_mask()
    path = write_fastmri(tmp_path / "sc.h5", kspace * mask, target, mask=torch.from_numpy(mask))
    with read_fastmri(path) as f:
        assert not f.is_multicoil and f.num_coils == 1 and f.target_key == "reconstruction_esc"
        np.testing.assert_array_equal(f.mask.numpy(), mask)
        # by hand: 13 of 64 columns sampled -> round(64 / 13) = 5; contiguous centre run 28..35 = 8
        assert f.attrs["acceleration"] == 5 and f.attrs["num_low_frequency"] == 8
        assert f.attrs["patient_id"] == "sc"


def test_layout_as_fastmri_slicedataset_reads_it(tmp_path):
    """The reads fastMRI's SliceDataset performs, done with plain h5py and ElementTree."""
    kspace, target = _volume(width=64)
    write_fastmri(tmp_path / "f.h5", kspace, target, step1_limits=(0, 61, 31))
    ns = {"n": "http://www.ismrm.org/ISMRMRD"}

    def query(root, names):
        return int(root.find("." + "".join(f"//n:{name}" for name in names), ns).text)

    with h5py.File(tmp_path / "f.h5", "r") as hf:
        assert hf["kspace"].dtype == np.complex64 and hf["reconstruction_rss"].dtype == np.float32
        np.testing.assert_array_equal(hf["kspace"][2], kspace[2])
        np.testing.assert_array_equal(hf["reconstruction_rss"][0], target[0])
        root = ElementTree.fromstring(hf["ismrmrd_header"][()])
        assert [query(root, ["encoding", "encodedSpace", "matrixSize", axis]) for axis in "xyz"] == [16, 64, 1]
        assert [query(root, ["encoding", "reconSpace", "matrixSize", axis]) for axis in "xyz"] == [8, 6, 1]
        center = query(root, ["encoding", "encodingLimits", "kspace_encoding_step_1", "center"])
        maximum = query(root, ["encoding", "encodingLimits", "kspace_encoding_step_1", "maximum"])
        assert (center, maximum) == (31, 61)
        assert set(hf.attrs) >= {"acquisition", "max", "norm", "patient_id"}


def test_fastmri_slicedataset_if_installed(tmp_path, monkeypatch):
    mri_data = pytest.importorskip("fastmri.data.mri_data")
    monkeypatch.chdir(tmp_path)  # older fastMRI versions drop a cache file in the working directory
    (tmp_path / "mc").mkdir()
    kspace, target = _volume()
    write_fastmri(tmp_path / "mc" / "a.h5", kspace, target)
    dataset = mri_data.SliceDataset(tmp_path / "mc", challenge="multicoil", transform=None)
    assert len(dataset) == 3
    k, mask, t, attrs, fname, index = dataset[1]
    np.testing.assert_array_equal(k, kspace[1])
    np.testing.assert_array_equal(t, target[1])
    assert mask is None and fname == "a.h5" and attrs["padding_left"] == 0 and attrs["padding_right"] == 12


def test_header_padding_by_hand():
    # knee-like geometry: W = 368, centre 183, maximum 365
    xml = make_ismrmrd_header((640, 368, 1), (320, 320, 1), step1_limits=(0, 365, 183), slices=30, coils=15)
    header = parse_ismrmrd_header(xml)
    assert header.encoding_size == (640, 368, 1) and header.recon_size == (320, 320, 1)
    assert header.step1_limits == (0, 365, 183)
    assert header.padding_left == 368 // 2 - 183 == 1
    assert header.padding_right == 1 + 365 + 1 == 367


def test_header_errors():
    with pytest.raises(ValueError, match="not valid XML"):
        parse_ismrmrd_header(b"<ismrmrdHeader", source="x.h5")
    without_limits = (b'<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD"><encoding><encodedSpace><matrixSize>'
                      b'<x>4</x><y>4</y><z>1</z></matrixSize></encodedSpace><reconSpace><matrixSize><x>4</x>'
                      b'<y>4</y><z>1</z></matrixSize></reconSpace></encoding></ismrmrdHeader>')
    with pytest.raises(ValueError, match=r"x\.h5.*kspace_encoding_step_1/minimum"):
        parse_ismrmrd_header(without_limits, source="x.h5")


def test_lazy_slice_reads_touch_only_their_chunk(tmp_path):
    """Corrupt slice 2's compressed chunk on disk: slices 0 and 1 still read, slice 2 fails by name."""
    kspace, _ = _volume(slices=4, coils=2, height=32, width=32)
    path = write_fastmri(tmp_path / "lazy.h5", kspace, compression="gzip")
    with h5py.File(path, "r") as hf:
        info = hf["kspace"].id.get_chunk_info(2)
        assert info.chunk_offset == (2, 0, 0, 0)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset)
        raw.write(b"\xff" * info.size)
    with read_fastmri(path) as f:
        assert isinstance(f.kspace.dataset, h5py.Dataset)
        np.testing.assert_array_equal(f.kspace[0].numpy(), kspace[0])
        np.testing.assert_array_equal(f.kspace[3].numpy(), kspace[3])
        with pytest.raises(ValueError, match=r"lazy\.h5.*kspace"):
            f.kspace[2]


def test_context_manager_closes(tmp_path):
    kspace, target = _volume()
    path = write_fastmri(tmp_path / "c.h5", kspace, target)
    with read_fastmri(path) as f:
        pass
    with pytest.raises(ValueError, match=r"c\.h5.*closed"):
        f.kspace[0]


def _h5(path, **datasets):
    with h5py.File(path, "w") as hf:
        for key, value in datasets.items():
            hf.create_dataset(key, data=value)
    return path


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    good_k = np.ones((2, 4, 4), np.complex64)
    cases = {
        "no_kspace.h5": (lambda p: _h5(p, other=np.zeros(3)), "no 'kspace' dataset"),
        "rank.h5": (lambda p: _h5(p, kspace=np.ones((4, 4), np.complex64)), "kspace must be"),
        "real.h5": (lambda p: _h5(p, kspace=np.ones((2, 4, 4), np.float32)), "real-valued"),
        "zero_mask.h5": (lambda p: _h5(p, kspace=good_k, mask=np.zeros(4, bool)), "all zero"),
        "mask_shape.h5": (lambda p: _h5(p, kspace=good_k, mask=np.ones(5, bool)), "mask must have shape"),
        "mask_values.h5": (lambda p: _h5(p, kspace=good_k, mask=np.array([1.0, 0.3, 0.0, 1.0])),
                           "mask must hold only 0 and 1"),
        "target.h5": (lambda p: _h5(p, kspace=good_k, reconstruction_esc=np.ones((3, 4, 4), np.float32)),
                      "3 slices but kspace has 2"),
        "header.h5": (lambda p: _h5(p, kspace=good_k, ismrmrd_header=np.bytes_(b"<broken")), "not valid XML"),
        "text.h5": (lambda p: p.write_text("plain text, not HDF5"), "not a readable HDF5 file"),
        "int_kspace.h5": (lambda p: _h5(p, kspace=np.ones((2, 4, 4), np.int16)), "real-valued"),
        "empty_kspace.h5": (lambda p: _h5(p, kspace=np.ones((0, 4, 4), np.complex64)), "kspace is empty"),
        "kspace_group.h5": (lambda p: h5py.File(p, "w").create_group("kspace").file.close(), "no 'kspace' dataset"),
        "target_dtype.h5": (lambda p: _h5(p, kspace=good_k, reconstruction_esc=np.ones((2, 4, 4), np.complex64)),
                            "reconstruction_esc must be real-valued"),
        "target_rank.h5": (lambda p: _h5(p, kspace=good_k, reconstruction_esc=np.ones((2, 4), np.float32)),
                           r"reconstruction_esc must be a \(slices, h, w\) dataset"),
        "header_field.h5": (lambda p: _h5(p, kspace=good_k, ismrmrd_header=np.bytes_(b"<ismrmrdHeader/>")),
                            "ismrmrd_header lacks encoding/encodedSpace/matrixSize/x"),
    }
    for name, (make, problem) in cases.items():
        make(tmp_path / name)
        with pytest.raises(ValueError, match=problem) as info:
            read_fastmri(tmp_path / name)
        assert name in str(info.value)


def test_truncated_file(tmp_path):
    kspace, target = _volume()
    path = write_fastmri(tmp_path / "cut.h5", kspace, target)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.h5.*not a readable HDF5 file"):
        read_fastmri(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.h5"):
        read_fastmri(tmp_path / "absent.h5")


def test_write_validation(tmp_path):
    kspace, target = _volume()
    with pytest.raises(TypeError, match="kspace must be complex"):
        write_fastmri(tmp_path / "a.h5", kspace.real, target)
    with pytest.raises(ValueError, match="kspace must be"):
        write_fastmri(tmp_path / "a.h5", kspace[0, 0], target)
    with pytest.raises(ValueError, match="target must be"):
        write_fastmri(tmp_path / "a.h5", kspace, target[:2])
    with pytest.raises(TypeError, match="target must be real"):
        write_fastmri(tmp_path / "a.h5", kspace, target.astype(np.complex64))
    with pytest.raises(ValueError, match="mask is all zero"):
        write_fastmri(tmp_path / "a.h5", kspace, target, mask=np.zeros(12, bool))
    with pytest.raises(TypeError, match="mask must be boolean or hold only 0 and 1, got values such as nan"):
        write_fastmri(tmp_path / "a.h5", kspace, target, mask=np.r_[np.nan, np.ones(11)])
    with pytest.raises(ValueError, match="NaN"):
        write_fastmri(tmp_path / "a.h5", kspace * np.nan, target)
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path):
    kspace, target = _volume()
    path = write_fastmri(tmp_path / "keep.h5", kspace, target, acquisition="FIRST")
    with pytest.raises(TypeError):
        write_fastmri(path, kspace, target, acquisition="SECOND", attrs={"bad": object()})
    assert [p.name for p in tmp_path.iterdir()] == ["keep.h5"]
    with read_fastmri(path) as f:
        assert f.attrs["acquisition"] == "FIRST"


def test_scan_filters(tmp_path):
    kspace4, target = _volume(coils=4)
    kspace8, _ = _volume(coils=8)
    single, _ = _volume(coils=None)
    write_fastmri(tmp_path / "b.h5", kspace4, target, acquisition="CORPD_FBK")
    write_fastmri(tmp_path / "a.h5", kspace8, target, acquisition="AXT2")
    write_fastmri(tmp_path / "c.h5", single, target, acquisition="CORPD_FBK")
    (tmp_path / "readme.txt").write_text("not scanned")
    names = lambda paths: [p.name for p in paths]  # noqa: E731
    assert names(scan_fastmri(tmp_path, progress=False)) == ["a.h5", "b.h5", "c.h5"]
    assert names(scan_fastmri(tmp_path, acquisition="CORPD_FBK", progress=False)) == ["b.h5", "c.h5"]
    assert names(scan_fastmri(tmp_path, coils=[1, 8], progress=False)) == ["a.h5", "c.h5"]
    assert names(scan_fastmri(tmp_path, acquisition=["AXT2"], coils=4, progress=False)) == []
    assert names(scan_fastmri(tmp_path, coils=np.int64(8), progress=False)) == ["a.h5"]
    with pytest.raises(TypeError, match="coils must be an int or a collection of ints"):
        scan_fastmri(tmp_path, coils="16", progress=False)
    with pytest.raises(ValueError, match="fov_mm must be three finite positive numbers"):
        make_ismrmrd_header((8, 8, 1), (8, 8, 1), fov_mm=(200.0, 200.0))
    (tmp_path / "bad.h5").write_text("broken")
    with pytest.raises(ValueError, match="bad.h5"):
        scan_fastmri(tmp_path, progress=False)
    with pytest.raises(FileNotFoundError):
        scan_fastmri(tmp_path / "nowhere")


def test_write_reconstructions(tmp_path):
    volume = np.random.default_rng(1).random((2, 5, 4))
    paths = write_reconstructions(tmp_path / "out", {"file1.h5": volume, "file2": torch.from_numpy(volume)})
    assert [p.name for p in paths] == ["file1.h5", "file2.h5"]
    for path in paths:
        with h5py.File(path, "r") as hf:
            assert list(hf.keys()) == ["reconstruction"] and hf["reconstruction"].dtype == np.float32
            np.testing.assert_allclose(hf["reconstruction"][()], volume, rtol=1e-6)
    with pytest.raises(ValueError, match="plain file names"):
        write_reconstructions(tmp_path, {"../escape.h5": volume})
    with pytest.raises(TypeError, match="real-valued"):
        write_reconstructions(tmp_path, {"c.h5": volume.astype(np.complex64)})
    with pytest.raises(ValueError, match=r"\(slices, H, W\)"):
        write_reconstructions(tmp_path, {"d.h5": volume[0]})
