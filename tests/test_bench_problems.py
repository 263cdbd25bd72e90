"""Benchmark problems: the operator, measurements and reference a cell configuration describes."""
import pytest
import torch

from csprior.benchmarks.problems import build_problem, describe_operator, sampling_ratio

CAMERA = {"dataset": "skimage", "name": "camera", "size": 32}


def _problem(operator, image=CAMERA, seed=0, data=None):
    return build_problem({"image": image, "operator": operator, "seed": seed}, data)


def test_gaussian_measurements_and_noise():
    clean = _problem({"kind": "gaussian", "ratio": 0.25})
    assert clean.A.in_shape == (32, 32) and clean.y.shape == (256,)
    torch.testing.assert_close(clean.y, clean.A(clean.x_true))
    noisy = _problem({"kind": "gaussian", "ratio": 0.25, "noise": 0.05})
    assert float((noisy.y - clean.y).std()) == pytest.approx(0.05, rel=0.2)
    assert noisy.noise_std == 0.05 and clean.data_range == 1.0
    again = _problem({"kind": "gaussian", "ratio": 0.25, "noise": 0.05})
    assert torch.equal(again.y, noisy.y)  # seeded
    other = _problem({"kind": "gaussian", "ratio": 0.25, "noise": 0.05}, seed=1)
    assert not torch.equal(other.y, noisy.y)


def test_inpainting_subsampling_and_denoising():
    inpainting = _problem({"kind": "inpainting", "missing": 0.75})
    assert float(inpainting.A.measured.float().mean()) == pytest.approx(0.25, abs=0.05)
    subsample = _problem({"kind": "subsample", "ratio": 0.5})
    assert subsample.y.numel() == 512 or int(subsample.A.measured.sum()) == 512
    denoise = _problem({"kind": "denoise", "sigma": 25}, image={**CAMERA, "size": 64})
    assert denoise.noise_std == pytest.approx(25 / 255)
    assert float((denoise.y - denoise.x_true).std()) == pytest.approx(25 / 255, rel=0.1)


def test_phantom_mri():
    problem = _problem({"kind": "mri", "acceleration": 4, "coils": 4, "mask": "random"},
                       image={"dataset": "shepp-logan", "size": 32})
    assert problem.A.is_complex and problem.A.in_shape == (32, 32) and problem.y.shape == (4, 32, 32)
    columns = problem.A.measured.reshape(-1, 32, 32)[0].any(dim=0)
    assert 4 <= int(columns.sum()) <= 16
    assert problem.reference.shape == (32, 32) and problem.data_range == float(problem.reference.max())


def test_real_mri(shared_data):
    problem = _problem({"kind": "mri", "acceleration": 4, "mask": "random"},
                       image={"dataset": "mri", "name": "brain16ch_full"}, data=shared_data)
    assert problem.A.in_shape == (96, 96) and problem.y.shape == (16, 96, 96)
    assert problem.reference.shape == (96, 96)
    acquired = _problem({"kind": "acquired"}, image={"dataset": "mri", "name": "brain8ch_poisson_bart"},
                        data=shared_data)
    assert acquired.y.shape == (8, 180, 230)
    with pytest.raises(ValueError, match="acquired undersampled"):
        _problem({"kind": "mri", "acceleration": 4}, image={"dataset": "mri", "name": "brain8ch_poisson_bart"},
                 data=shared_data)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="ratio"):
        _problem({"kind": "gaussian", "ratio": 0})
    with pytest.raises(ValueError, match="needs MRI data"):
        _problem({"kind": "mri", "acceleration": 4})
    with pytest.raises(FileNotFoundError, match="data folder"):
        _problem({"kind": "denoise", "sigma": 25}, image={"dataset": "folder", "path": "images/set11/01.png"})


def test_labels_and_ratios():
    assert describe_operator({"kind": "gaussian", "ratio": 0.1}) == "gaussian 10%"
    assert describe_operator({"kind": "inpainting", "missing": 0.8, "noise": 0.01}) == "inpainting 80% missing noise 0.01"
    assert describe_operator({"kind": "denoise", "sigma": 15}) == "denoise σ=15"
    assert describe_operator({"kind": "mri", "acceleration": 8}) == "mri 8× random"
    assert sampling_ratio({"kind": "inpainting", "missing": 0.8}) == pytest.approx(0.2)
    assert sampling_ratio({"kind": "mri", "acceleration": 4}) == 0.25
