"""``csprior.atomic_file``: a destination holds either its old content or the whole new one."""
import stat

import h5py
import numpy as np
import pytest

from csprior.atomic_file import atomic_path, write_text_atomic
from csprior.benchmarks.results_store import ResultsStore
from csprior.datasets import write_fastmri


def test_a_written_file_is_whole_and_readable_by_others(tmp_path):
    path = write_text_atomic(tmp_path / "sub" / "table.md", "| a |\n")
    assert path.read_text() == "| a |\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["table.md"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary(tmp_path):
    path = write_text_atomic(tmp_path / "metrics.csv", "old\n")
    with pytest.raises(RuntimeError, match="disk"):
        with atomic_path(path) as temporary:
            temporary.write_text("half of the new")
            raise RuntimeError("disk full")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*nowhere does not exist"):
        with atomic_path(tmp_path / "nowhere" / "x.h5"):
            pass


def test_stored_images_and_fastmri_files_are_shared_readable(tmp_path):
    image = ResultsStore(tmp_path / "run").save_image("cell", np.zeros((2, 2), dtype=np.float32))
    volume = write_fastmri(tmp_path / "file.h5", np.ones((1, 4, 4), dtype=np.complex64))
    for path in (image, volume):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert np.load(image).shape == (2, 2)
    with h5py.File(volume, "r") as hf:
        assert hf["kspace"].shape == (1, 4, 4)


def test_empty_kspace_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="kspace must hold at least one slice"):
        write_fastmri(tmp_path / "empty.h5", np.ones((0, 4, 4), dtype=np.complex64))
    assert not list(tmp_path.iterdir())
