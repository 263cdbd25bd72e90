"""The second-acquisition score of the 8-coil brain: the two shared copies are aligned into one scan,
the score is 0 dB for an image predicting zeros and the relative error of a prediction otherwise,
and a second copy that is missing or does not match is reported, not scored."""
import re
from dataclasses import replace

import numpy as np
import pytest
import torch

from csprior.baselines import least_squares, zero_filled
from csprior.benchmarks.second_acquisition import (SECOND_COPY, main, model_floor_db, predict_unseen, prepare,
                                                   unseen_errors_db, unseen_samples)


@pytest.fixture(scope="module")
def scan(shared_data):
    return prepare(shared_data, ["zero-filled", "tv"])


def test_the_two_copies_are_one_scan(scan):
    cells, problem, unseen = scan
    assert [cell.config["method"]["label"] for cell in cells] == ["zero-filled", "tv"]
    assert unseen.agreement < 1e-5 and unseen.shared > 1000
    # the unseen positions are outside what the problem measured, and every coil has them
    assert not (unseen.positions & problem.A.measured.any(dim=0)).any()
    assert unseen.kspace.shape == (problem.y.shape[0], int(unseen.positions.sum()))
    counts = torch.bincount(unseen.band)
    assert len(counts) == 3 and counts.max() - counts.min() <= 2  # thirds by count


def test_score_is_zero_db_for_zeros_and_the_relative_error_of_the_prediction(scan):
    _, problem, unseen = scan
    assert unseen_errors_db(torch.zeros(problem.A.in_shape, dtype=torch.complex64), problem, unseen) == pytest.approx([0] * 4)
    image = torch.randn(problem.A.in_shape, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
    off_by_a_thousandth = replace(unseen, kspace=predict_unseen(image, problem, unseen) * 1.001)
    assert unseen_errors_db(image, problem, off_by_a_thousandth) == pytest.approx([-60] * 4, abs=0.01)


def test_model_floor_is_below_what_zero_filling_and_a_fit_to_one_copy_reach(scan):
    _, problem, unseen = scan
    one_copy = least_squares(problem.y, problem.A, iterations=30, progress=False).image
    floor = model_floor_db(problem, unseen, iterations=30)[0]
    assert floor < unseen_errors_db(one_copy, problem, unseen)[0] - 3
    assert floor < unseen_errors_db(zero_filled(problem.y, problem.A).image, problem, unseen)[0]


def test_missing_or_mismatched_second_copy_is_an_error(scan, shared_data, tmp_path):
    _, problem, _ = scan
    with pytest.raises(FileNotFoundError, match="second acquisition"):
        unseen_samples(problem, tmp_path)
    copy = tmp_path / SECOND_COPY
    copy.parent.mkdir(parents=True)
    second = np.load(shared_data / SECOND_COPY)
    np.save(copy, np.roll(second, 1, axis=1))
    with pytest.raises(ValueError, match="does not match"):
        unseen_samples(problem, tmp_path)


def test_script_writes_its_table_and_reuses_kept_images(shared_data, tmp_path):
    arguments = ["--out", str(tmp_path), "--methods", "zero-filled", "--data", str(shared_data), "--floor-iterations", "5"]
    main(arguments)
    table = (tmp_path / "table.md").read_text()
    row = re.search(r"\| zero-filled \| ([\d.]+) \| ([\d.]+)(?: \| -?[\d.]+){4} \| \d+ \| \d+ \|", table)
    assert row and 0 < float(row[1]) < 100 and 0 < float(row[2]) < 1
    [image] = (tmp_path / "images").glob("zero-filled-*.npy")
    assert np.load(image).dtype == np.complex64
    fitted_at = image.stat().st_mtime_ns
    main(arguments)
    assert image.stat().st_mtime_ns == fitted_at  # kept, not fitted again
    assert (tmp_path / "table.md").read_text() == table  # its seconds and stop kept with it
