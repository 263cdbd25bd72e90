"""``csprior mri``: fastMRI files in, submission files and metrics.csv out; bad files as one line."""
import csv

import h5py
import numpy as np
import pytest
import torch

from csprior.cli import main
from csprior.datasets import convert_all, read_fastmri, rss, shepp_logan, synthetic_kspace, write_fastmri
from csprior.datasets.mri_pipeline import CSV_COLUMNS
from csprior.metrics import volume_metrics
from csprior.operators import ifft2c

FAST = ["--iterations", "8", "--seed", "1"]


def _write(path, coils=None, **kwargs):
    """Two 32×32 phantom slices; the target is the central 24×24 of the fully sampled image."""
    images = torch.stack([shepp_logan(32), shepp_logan(32).flip(-1)])
    kspace = synthetic_kspace(images, coils=coils, seed=2)
    full = rss(ifft2c(kspace)) if coils else ifft2c(kspace).abs()
    return write_fastmri(path, kspace, full[:, 4:-4, 4:-4], **kwargs)


@pytest.fixture()
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "multi.h5", coils=4)
    _write(folder / "single.h5")
    return folder


def _rows(folder):
    with open(folder / "metrics.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_folder_to_submission_files_and_metrics(data, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["mri", str(data), "--method", "conv-decoder", *FAST, "--out", str(out)]) == 0
    columns, rows = _rows(out)
    assert tuple(columns) == CSV_COLUMNS
    assert [(r["file"], r["method"], r["mask"], r["slices"]) for r in rows] == [
        ("multi.h5", "conv-decoder", "random", "0:2"), ("single.h5", "conv-decoder", "random", "0:2")]
    assert all(float(r["acceleration"]) == 4 and float(r["center_fraction"]) == pytest.approx(0.08) for r in rows)
    for row in rows:
        with h5py.File(out / row["file"], "r") as hf:
            volume = hf["reconstruction"][()]
        assert volume.shape == (2, 24, 24) and volume.dtype == np.float32
        with read_fastmri(data / row["file"]) as f:
            expected = volume_metrics(volume, f.target[0:2])
        assert {k: float(row[k]) for k in ("nmse", "psnr", "ssim")} == pytest.approx(expected)
        assert float(row["seconds"]) > 0
    printed = capsys.readouterr().out
    assert "| multi.h5 | conv-decoder |" in printed and "metrics.csv" in printed


def test_same_seed_same_outputs(data, tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["mri", str(data / "multi.h5"), "--slices", "mid", *FAST, "--out", str(out)]) == 0
    with h5py.File(outs[0] / "multi.h5", "r") as a, h5py.File(outs[1] / "multi.h5", "r") as b:
        np.testing.assert_array_equal(a["reconstruction"][()], b["reconstruction"][()])
    timings = ("seconds", "setup_seconds")
    first, second = ([{k: v for k, v in r.items() if k not in timings} for r in _rows(out)[1]] for out in outs)
    assert first == second and first[0]["slices"] == "1"


def test_several_methods_get_a_folder_each(data, tmp_path):
    out = tmp_path / "out"
    assert main(["mri", str(data / "single.h5"), "--method", "conv-decoder,zero-filled", "--method",
                 "deep-decoder,conv-decoder", "--slices", "0", "--mask", "equispaced", *FAST, "--out", str(out)]) == 0
    _, rows = _rows(out)
    methods = ("conv-decoder", "zero-filled", "deep-decoder")
    assert [(r["method"], r["mask"]) for r in rows] == [(m, "equispaced") for m in methods]
    for method in methods:
        with h5py.File(out / method / "single.h5", "r") as hf:
            assert hf["reconstruction"].shape == (1, 24, 24)
    assert not (out / "single.h5").exists()


def test_real_scans_converted_from_the_shared_data(shared_data, tmp_path, capsys):
    """The fully sampled 16-coil brain is undersampled by name; the Poisson-disc brain keeps its 2-D mask."""
    files = convert_all(shared_data, tmp_path / "in")
    out = tmp_path / "out"
    assert main(["mri", str(files["brain16ch_full"]), str(files["brain8ch_poisson_bart"]), "--method", "zero-filled",
                 "--acceleration", "8", "--out", str(out)]) == 0
    _, rows = _rows(out)
    assert [(r["file"], r["mask"]) for r in rows] == [("brain16ch_full.h5", "random"),
                                                      ("brain8ch_poisson_bart.h5", "stored")]
    for row in rows:
        with h5py.File(out / row["file"], "r") as hf, read_fastmri(files[row["file"][:-3]]) as f:
            volume = hf["reconstruction"][()]
            assert volume.shape == (1, *f.target.shape[-2:])
            assert {k: float(row[k]) for k in ("nmse", "psnr", "ssim")} == pytest.approx(
                volume_metrics(volume, f.target[0:1]))
    # sanity range: a zero-filled image is neither exact nor unrelated to the reference
    assert all(0 < float(r["nmse"]) < 1 and 0 < float(r["ssim"]) < 1 for r in rows)
    assert "brain8ch_poisson_bart.h5" in capsys.readouterr().out


def test_test_file_uses_its_stored_mask_and_has_no_metrics(tmp_path):
    images = shepp_logan(32)[None]
    columns = torch.zeros(32, dtype=torch.bool)
    columns[13:19] = True
    columns[::3] = True
    kspace = synthetic_kspace(images, coils=4, seed=2) * columns
    # a test file: masked k-space, no target; the header's recon matrix (20, 20) sets the crop
    path = write_fastmri(tmp_path / "test.h5", kspace, mask=columns, acceleration=3)
    with h5py.File(path, "a") as hf:
        header = hf["ismrmrd_header"][()].replace(b"<reconSpace><matrixSize><x>32</x><y>32</y>",
                                                  b"<reconSpace><matrixSize><x>20</x><y>20</y>")
        del hf["ismrmrd_header"]
        hf.create_dataset("ismrmrd_header", data=np.bytes_(header))
    with read_fastmri(path) as f:
        assert f.target is None and f.header.recon_size[:2] == (20, 20)
    out = tmp_path / "out"
    assert main(["mri", str(path), "--acceleration", "8", *FAST, "--out", str(out)]) == 0
    _, (row,) = _rows(out)
    assert row["mask"] == "stored" and float(row["acceleration"]) == 3
    assert row["nmse"] == row["psnr"] == row["ssim"] == ""
    with h5py.File(out / "test.h5", "r") as hf:
        assert hf["reconstruction"].shape == (1, 20, 20)


def _h5(path, **datasets):
    with h5py.File(path, "w") as hf:
        for key, value in datasets.items():
            hf.create_dataset(key, data=value)


def _truncated(path):
    _write(path, coils=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty_mask(path):
    _write(path, mask=np.ones(32, bool))
    with h5py.File(path, "a") as hf:
        hf["mask"][...] = False


GOOD_K = np.ones((2, 8, 8), np.complex64)
BAD_FILES = {
    "no_kspace.h5": (lambda p: _h5(p, reconstruction_esc=np.ones((2, 8, 8), np.float32)), "no 'kspace' dataset"),
    "rank.h5": (lambda p: _h5(p, kspace=np.ones((8, 8), np.complex64)), "kspace must be"),
    "real.h5": (lambda p: _h5(p, kspace=np.ones((2, 8, 8), np.float32)), "real-valued"),
    "truncated.h5": (_truncated, "not a readable HDF5 file"),
    "text.h5": (lambda p: p.write_text("not HDF5 at all\n" * 10), "not a readable HDF5 file"),
    "empty_mask.h5": (_empty_mask, "mask is all zero"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_line_naming_it(name, data, tmp_path, capsys):
    make, problem = BAD_FILES[name]
    make(data / name)
    # the bad file is found in a folder and given directly; nothing is written either way
    for path in (data, data / name):
        out = tmp_path / "out"
        assert main(["mri", str(path), *FAST, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("csprior: error:")
        assert name in err and problem in err and "Traceback" not in err
        assert not out.exists()


def test_corrupt_slice_is_one_line_naming_file_and_slice(tmp_path, capsys):
    """A file whose header reads but whose slice-1 k-space chunk is garbage fails when that slice is read."""
    path = _write(tmp_path / "rotten.h5", coils=2, compression="gzip")
    with h5py.File(path, "r") as hf:
        info = hf["kspace"].id.get_chunk_info(1)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset)
        raw.write(b"\xff" * info.size)
    assert main(["mri", str(path), "--method", "zero-filled", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "rotten.h5" in err and "kspace[1]" in err


def test_bad_options_are_one_line(data, tmp_path, capsys):
    cases = [(["--method", "unet"], "methods must be among"), (["--slices", "5"], "out of range"),
             (["--slices", "a:b"], "slices must be"), (["--acceleration", "3.5", "--mask", "equispaced"], "integers"),
             (["--center-fraction", "1.5"], "center_fraction")]
    for extra, problem in cases:
        assert main(["mri", str(data / "single.h5"), *extra, *FAST, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and problem in err, err
    assert main(["mri", str(tmp_path / "absent.h5"), "--out", str(tmp_path / "o")]) == 2
    assert "absent.h5" in capsys.readouterr().err
