"""The MRI pipeline's pieces: mask seeding, padding, slice selection, crops, operators, CSV, one file."""
import csv

import numpy as np
import pytest
import torch

from csprior.datasets import read_fastmri, rss, shepp_logan, synthetic_kspace, write_fastmri
from csprior.datasets.mri_pipeline import (CSV_COLUMNS, MRIOptions, OraclePSNR, Sampling, center_crop, collect_files,
                                           file_sampling, mask_seed, output_size, parse_slices, reconstruct_file,
                                           run_mri_pipeline, slice_problem, write_metrics_csv)
from csprior.metrics import psnr, volume_metrics
from csprior.operators import MultiCoilPartialFourier, PartialFourier, fastmri_mask, ifft2c


def _phantom_file(path, coils=None, size=32, slices=2, **kwargs):
    images = torch.stack([shepp_logan(size), shepp_logan(size).flip(-1)][:slices])
    kspace = synthetic_kspace(images, coils=coils, seed=1)
    full = rss(ifft2c(kspace)) if coils else ifft2c(kspace).abs()
    return write_fastmri(path, kspace, full[:, 4:-4, 4:-4], **kwargs)


def test_retrospective_mask_is_seeded_by_the_file_name(tmp_path):
    options = MRIOptions(acceleration=4, center_fraction=0.08, mask="random")
    masks = {}
    for name in ("file1000001.h5", "file1000002.h5"):
        with read_fastmri(_phantom_file(tmp_path / name, size=64)) as f:
            sampling = file_sampling(f, options)
        expected, _ = fastmri_mask("random", 64, [0.08], [4], seed=tuple(map(ord, name)))
        assert torch.equal(sampling.mask, expected)
        assert (sampling.kind, sampling.acceleration, sampling.center_fraction) == ("random", 4.0, 0.08)
        masks[name] = sampling.mask
    assert mask_seed("ab.h5") == (97, 98, 46, 104, 53)
    assert not torch.equal(*masks.values())


def test_default_center_fraction_is_fastmris_partner():
    assert MRIOptions(acceleration=4).effective_center_fraction == pytest.approx(0.08)
    assert MRIOptions(acceleration=8).effective_center_fraction == pytest.approx(0.04)
    assert MRIOptions(acceleration=8, center_fraction=0.1).effective_center_fraction == 0.1


def test_columns_outside_the_header_padding_are_dropped(tmp_path):
    # step-1 limits (0, 39, 20) on 64 columns: padding_left = 32 - 20 = 12, padding_right = 12 + 40 = 52
    path = _phantom_file(tmp_path / "padded.h5", size=64, step1_limits=(0, 39, 20))
    options = MRIOptions(mask="equispaced", acceleration=2, center_fraction=0.1)
    with read_fastmri(path) as f:
        sampling = file_sampling(f, options)
    full, _ = fastmri_mask("equispaced", 64, [0.1], [2], seed=mask_seed("padded.h5"))
    assert not sampling.mask[:12].any() and not sampling.mask[52:].any()
    assert torch.equal(sampling.mask[12:52], full[12:52]) and full[:12].any()


def test_stored_mask_is_used_as_acquired(tmp_path):
    columns = torch.zeros(32, dtype=torch.bool)
    columns[14:18] = True
    columns[::8] = True
    path = _phantom_file(tmp_path / "test.h5", mask=columns, acceleration=4, num_low_frequency=4)
    with read_fastmri(path) as f:
        sampling = file_sampling(f, MRIOptions(acceleration=8, mask="equispaced"))
    assert torch.equal(sampling.mask, columns)
    assert (sampling.kind, sampling.acceleration, sampling.center_fraction) == ("stored", 4.0, 4 / 32)


@pytest.mark.parametrize("spec, expected", [("all", [0, 1, 2, 3, 4]), ("mid", [2]), ("1:3", [1, 2]),
                                            (":2", [0, 1]), ("3:", [3, 4]), ("-1", [4]), ("0", [0])])
def test_parse_slices(spec, expected):
    assert parse_slices(spec, 5) == expected


@pytest.mark.parametrize("spec", ["5", "3:3", "a:b", "1:2:3", "", "middle"])
def test_parse_slices_rejects(spec):
    with pytest.raises(ValueError, match="slices"):
        parse_slices(spec, 5)


def test_center_crop_places_the_window_as_fastmri():
    image = torch.arange(5 * 6).reshape(5, 6)
    # fastMRI's center_crop starts at ((H - h) // 2, (W - w) // 2) = (1, 1) here
    np.testing.assert_array_equal(center_crop(image, (2, 3)).numpy(), [[7, 8, 9], [13, 14, 15]])
    assert center_crop(image[None], (5, 6)).shape == (1, 5, 6)
    with pytest.raises(ValueError, match="crop size"):
        center_crop(image, (6, 2))


def test_output_size_prefers_target_then_header(tmp_path):
    with read_fastmri(_phantom_file(tmp_path / "t.h5")) as f:
        assert output_size(f) == (24, 24)
    write_fastmri(tmp_path / "h.h5", torch.ones(1, 32, 20, dtype=torch.complex64))
    with read_fastmri(tmp_path / "h.h5") as f:
        assert output_size(f) == (32, 20)


def test_slice_problem_single_and_multi_coil():
    columns = torch.zeros(32, dtype=torch.bool)
    columns[12:20] = True
    columns[::4] = True
    sampling = Sampling(columns, "random", 4.0, 0.25)
    kspace = synthetic_kspace(shepp_logan(32))
    y, A = slice_problem(kspace, sampling)
    assert isinstance(A, PartialFourier) and torch.equal(y, kspace * columns)
    coil_kspace = synthetic_kspace(shepp_logan(32), coils=4)
    y, A = slice_problem(coil_kspace, sampling)
    assert isinstance(A, MultiCoilPartialFourier) and A.maps.shape == (4, 32, 32)
    assert torch.equal(y, coil_kspace * columns) and torch.equal(A.mask, columns.expand(32, 32))


def test_reconstruct_file_scores_the_cropped_volume(tmp_path):
    path = _phantom_file(tmp_path / "mc.h5", coils=4)
    options = MRIOptions(methods=("conv-decoder",), slices="1", iterations=5)
    with read_fastmri(path) as f:
        (result,) = reconstruct_file(f, options)
        target = f.target[1:2]
    assert result.volume.shape == (1, 24, 24) and result.slices == [1]
    image = result.results[0].image.abs()[4:-4, 4:-4]
    np.testing.assert_allclose(result.volume[0].numpy(), image.numpy())
    assert result.metrics == pytest.approx(volume_metrics(result.volume, target))
    assert result.row()["slices"] == "1" and set(result.row()) == set(CSV_COLUMNS)


def test_oracle_psnr_tracks_the_best_cropped_iterate():
    reference = torch.rand(4, 4)
    tracker = OraclePSNR(reference, peak=2.0)
    padded = torch.zeros(6, 6, dtype=torch.complex64)
    for iteration, error in enumerate((0.3, 0.1, 0.2)):
        padded[1:5, 1:5] = (reference + error) * 1j  # magnitude of the centre 4×4 is reference + error
        tracker(iteration, padded, {})
    assert tracker.iteration == 1
    assert tracker.best == pytest.approx(psnr(reference + 0.1, reference, data_range=2.0), rel=1e-5)


def test_oracle_is_tracked_only_when_asked_and_only_for_generators(tmp_path):
    path = _phantom_file(tmp_path / "o.h5", coils=4, slices=1)
    with read_fastmri(path) as f:
        plain = reconstruct_file(f, MRIOptions(methods=("conv-decoder",), iterations=30))
        tracked = reconstruct_file(f, MRIOptions(methods=("conv-decoder", "zero-filled"), iterations=30,
                                                 track_oracle=True))
    assert plain[0].oracle_psnr is None and tracked[1].oracle_psnr is None
    # the oracle looks at every iterate, the returned one included, and leaves the result unchanged
    assert tracked[0].oracle_psnr >= tracked[0].metrics["psnr"] - 1e-4
    assert torch.equal(tracked[0].volume, plain[0].volume)


def test_zero_filled_is_the_rss_of_the_masked_kspace(tmp_path):
    path = _phantom_file(tmp_path / "zf.h5", coils=4)
    options = MRIOptions(methods=("zero-filled",))
    with read_fastmri(path) as f:
        (result,) = reconstruct_file(f, options)
        columns = file_sampling(f, options).mask
        kspace = f.kspace[0:2]
    expected = rss(ifft2c(kspace * columns))[:, 4:-4, 4:-4]
    np.testing.assert_allclose(result.volume.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert result.slices == [0, 1] and result.seconds >= 0


def test_classical_methods_are_the_tuned_baselines(tmp_path):
    path = _phantom_file(tmp_path / "small.h5", size=16, slices=1)
    with read_fastmri(path) as f:
        wavelet, tv = reconstruct_file(f, MRIOptions(methods=("l1-wavelet", "tv"), acceleration=2))
    assert wavelet.results[0].method == "lasso-db4" and tv.results[0].method == "tv"
    assert all(r.results[0].params["lam_rule"] == "holdout" for r in (wavelet, tv))
    assert wavelet.volume.shape == tv.volume.shape == (1, 8, 8)


def test_reconstruct_file_names_the_file_on_failure(tmp_path):
    path = _phantom_file(tmp_path / "narrow.h5", coils=4)
    # 8× with centre fraction 0.02 keeps round(0.64) = 1 central column: no calibration region
    options = MRIOptions(methods=("conv-decoder",), acceleration=8, center_fraction=0.02, iterations=2,
                         mask="equispaced")
    with read_fastmri(path) as f, pytest.raises(ValueError, match=r"narrow\.h5 \(slice 0\).*calibrat"):
        reconstruct_file(f, options)
    with read_fastmri(path) as f, pytest.raises(ValueError, match=r"narrow\.h5.*out of range"):
        reconstruct_file(f, MRIOptions(slices="7"))


def test_collect_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "empty").mkdir()
    one = _phantom_file(tmp_path / "a" / "x.h5", slices=1)
    two = _phantom_file(tmp_path / "a" / "y.h5", slices=1)
    _phantom_file(tmp_path / "b" / "x.h5", slices=1)
    assert collect_files([tmp_path / "a", one]) == [one, two]
    with pytest.raises(ValueError, match="share the file name 'x.h5'"):
        collect_files([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ValueError, match="no fastMRI files"):
        collect_files([tmp_path / "empty"])
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        collect_files([tmp_path / "missing.h5"])


def test_write_metrics_csv_is_atomic_and_complete(tmp_path):
    rows = [{"file": "a.h5", "method": "tv", "nmse": 0.5, "psnr": None, "extra": 1}]
    path = write_metrics_csv(tmp_path / "metrics.csv", rows)
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert tuple(read[0]) == CSV_COLUMNS
    assert read[0]["file"] == "a.h5" and read[0]["nmse"] == "0.5" and read[0]["psnr"] == ""
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_a_second_run_into_the_same_folder_keeps_the_first_runs_rows(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    first, second = _phantom_file(data / "a.h5"), _phantom_file(data / "b.h5")
    options = MRIOptions(methods=("zero-filled",), slices="0")
    run_mri_pipeline([first], out, options)
    run_mri_pipeline([second], out, options)
    run_mri_pipeline([first], out, options)  # recomputed: its row is replaced, not repeated
    with open(out / "metrics.csv", newline="") as handle:
        assert sorted(row["file"] for row in csv.DictReader(handle)) == ["a.h5", "b.h5"]
    (out / "metrics.csv").write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match="is not a csprior metrics table"):
        run_mri_pipeline([first], out, options)


def test_options_validation():
    with pytest.raises(ValueError, match="methods must be among"):
        MRIOptions(methods=("unet",))
    with pytest.raises(ValueError, match="acceleration"):
        MRIOptions(acceleration=0.5)
    with pytest.raises(ValueError, match="center_fraction"):
        MRIOptions(center_fraction=1.0)
    with pytest.raises(ValueError, match="slices"):
        MRIOptions(slices="x:y")
    with pytest.raises(TypeError, match="slices must be text"):
        MRIOptions(slices=5)
    with pytest.raises(TypeError, match="methods must be a tuple"):
        MRIOptions(methods="tv")
    with pytest.raises(ValueError, match="calib_width must be an int >= 2"):
        MRIOptions(calib_width=0)


def test_warm_start_begins_each_slice_from_the_previous_slices_generator(tmp_path):
    path = _phantom_file(tmp_path / "w.h5", coils=4)
    with read_fastmri(path) as f:
        cold, = reconstruct_file(f, MRIOptions(methods=("conv-decoder",), iterations=40))
        warm, = reconstruct_file(f, MRIOptions(methods=("conv-decoder",), iterations=40, warm_start=True))
    assert torch.equal(warm.volume[0], cold.volume[0])  # the first slice has nothing to start from
    first_loss = [result.history["loss"][0] for result in (cold.results[1], warm.results[1])]
    assert first_loss[1] < 0.5 * first_loss[0]  # slice 1 starts from a generator that fits an MR image


def test_an_interrupted_run_continues_the_file_from_its_checkpoint(tmp_path, monkeypatch):
    import sys

    from csprior import resumable

    engine = sys.modules["csprior.reconstruct"]
    monkeypatch.setattr(resumable, "SAVE_EVERY_SECONDS", 0)
    path = _phantom_file(tmp_path / "v.h5", coils=2)
    options = MRIOptions(methods=("conv-decoder",), iterations=20, warm_start=True, progress=False)
    whole = []
    run_mri_pipeline([path], tmp_path / "whole", options, on_result=whole.append)
    watch, calls = engine._watch, []

    def interrupting_watch(*args):
        calls.append(1)
        if len(calls) == 30:  # slice 1, iteration 9
            raise KeyboardInterrupt
        return watch(*args)
    monkeypatch.setattr(engine, "_watch", interrupting_watch)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_mri_pipeline([path], out, options)
    saved, = (out / "checkpoints").iterdir()
    assert saved.name.startswith("v.h5-") and sorted(p.name for p in saved.iterdir()) == ["fit-0.pt", "fit-1.pt"]
    calls.clear()
    resumed = []
    run_mri_pipeline([path], out, options, on_result=resumed.append)
    assert len(calls) == 11  # slice 0 loaded, slice 1 from iteration 9
    assert torch.equal(resumed[0].volume, whole[0].volume)
    assert not any((out / "checkpoints").iterdir())
