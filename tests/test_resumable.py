"""``csprior.resumable``: an interrupted fit continues from its last save and ends exactly where the
uninterrupted fit ends; finished fits are not run again; foreign or damaged files are refused."""
import pytest
import torch

from csprior import reconstruct, resumable as resumable_module
from csprior.datasets import load_image, simulated_coil_maps
from csprior.operators import GaussianMatrix, MultiCoilPartialFourier, fastmri_mask
from csprior.resumable import resumable


class Interrupted(Exception):
    """Stands for a kill: raised from the fit's callback."""


def _interrupt_after(calls: int):
    seen = {"n": 0}

    def callback(iteration, image, record):
        seen["n"] += 1
        if seen["n"] == calls:
            raise Interrupted
    return callback


@pytest.fixture(scope="module")
def gaussian_problem():
    x = load_image("camera", size=16)[0, 0]
    A = GaussianMatrix(x.shape, 0.5, seed=0)
    return A(x), A


# the default's shape: an independent ensemble of two priors, each member choosing λ on held-out data
DEFAULT_LIKE = dict(prior=["deep-decoder", "conv-decoder"], ensemble=2, ensemble_mode="independent",
                    tv_weight="holdout", iterations=30, seed=0, progress=False)


@pytest.mark.parametrize("calls", [7, 75])  # inside the first fit; inside a later one
def test_an_interrupted_reconstruction_resumes_to_the_uninterrupted_result(gaussian_problem, tmp_path, calls):
    y, A = gaussian_problem
    expected = reconstruct(y, A, **DEFAULT_LIKE)
    with pytest.raises(Interrupted), resumable(tmp_path, every=0):
        reconstruct(y, A, callback=_interrupt_after(calls), **DEFAULT_LIKE)
    assert list(tmp_path.glob("fit-*.pt"))
    with resumable(tmp_path, every=0):
        resumed = reconstruct(y, A, **DEFAULT_LIKE)
    assert torch.equal(resumed.image, expected.image)
    assert resumed.params["members"] == expected.params["members"]


def test_complex_multicoil_data_resume_exactly(tmp_path):
    columns, _ = fastmri_mask("random", 16, center_fractions=[0.25], accelerations=[2], seed=0)
    A = MultiCoilPartialFourier(columns, simulated_coil_maps((16, 16), coils=2))
    x = load_image("camera", size=16)[0, 0].to(torch.complex64)
    y = A(x)
    options = dict(prior="conv-decoder", iterations=25, seed=1, progress=False, ema=0.9)
    expected = reconstruct(y, A, **options)
    with pytest.raises(Interrupted), resumable(tmp_path, every=0):
        reconstruct(y, A, callback=_interrupt_after(12), **options)
    with resumable(tmp_path, every=0):
        resumed = reconstruct(y, A, **options)
    assert resumed.image.dtype == torch.complex64
    assert torch.equal(resumed.image, expected.image)
    assert resumed.history == expected.history


def test_finished_fits_are_returned_without_fitting_again(gaussian_problem, tmp_path):
    y, A = gaussian_problem
    options = dict(prior="deep-decoder", iterations=20, seed=0, progress=False)
    with resumable(tmp_path):
        first = reconstruct(y, A, **options)

    def must_not_run(*_):
        raise AssertionError("a finished fit ran again")
    with resumable(tmp_path):
        again = reconstruct(y, A, callback=must_not_run, **options)
    assert torch.equal(again.image, first.image) and again.seconds == first.seconds


def test_a_folder_saved_by_another_problem_is_refused(gaussian_problem, tmp_path):
    y, A = gaussian_problem
    with resumable(tmp_path):
        reconstruct(y, A, prior="deep-decoder", iterations=5, progress=False)
    with pytest.raises(ValueError, match=r"fit-0\.pt was saved by a different fit"), resumable(tmp_path):
        reconstruct(y * 2, A, prior="deep-decoder", iterations=5, progress=False)
    with pytest.raises(ValueError, match="different fit"), resumable(tmp_path):
        reconstruct(y, A, prior="deep-decoder", iterations=6, progress=False)


def test_showing_a_progress_bar_does_not_change_the_fingerprint(gaussian_problem, tmp_path):
    y, A = gaussian_problem
    with resumable(tmp_path):
        first = reconstruct(y, A, prior="deep-decoder", iterations=5, progress=False)
    with resumable(tmp_path):
        assert torch.equal(reconstruct(y, A, prior="deep-decoder", iterations=5, progress=True).image, first.image)


def test_a_damaged_file_is_reported_with_its_name(gaussian_problem, tmp_path):
    y, A = gaussian_problem
    (tmp_path / "fit-0.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"fit-0\.pt cannot be read .*delete it"), resumable(tmp_path):
        reconstruct(y, A, prior="deep-decoder", iterations=5, progress=False)


def test_saves_are_spaced_by_every_seconds(gaussian_problem, tmp_path, monkeypatch):
    y, A = gaussian_problem
    writes = []
    monkeypatch.setattr(resumable_module.Slot, "_write", lambda self, content: writes.append(sorted(content)))
    with resumable(tmp_path, every=3600):
        reconstruct(y, A, prior="deep-decoder", iterations=10, progress=False)
    assert writes == [["fingerprint", "results"]]  # no running save within the hour, the final one
    with pytest.raises(ValueError, match="every must be"):
        with resumable(tmp_path, every=-1):
            pass


def test_no_folder_runs_the_block_without_saving(gaussian_problem):
    y, A = gaussian_problem
    with resumable(None) as folder:
        result = reconstruct(y, A, prior="deep-decoder", iterations=5, progress=False)
    assert folder is None
    assert torch.equal(result.image, reconstruct(y, A, prior="deep-decoder", iterations=5, progress=False).image)
