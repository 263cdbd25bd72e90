"""``csprior solve``: a user's own measurements and matrix (.npy) in, the library's reconstruction out."""
import numpy as np
import pytest
import torch
from skimage.io import imread

from csprior import baselines, reconstruct
from csprior.cli import main
from csprior.datasets import load_image
from csprior.operators import GaussianMatrix, MatrixOperator


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 16×16 image, a 128-row Gaussian matrix and its measurements, saved as .npy."""
    folder = tmp_path_factory.mktemp("solve")
    x = load_image("camera", size=16)[0, 0]
    A = GaussianMatrix(x.shape, 128, seed=0)
    paths = {name: folder / f"{name}.npy" for name in ("x", "M", "y")}
    np.save(paths["x"], x.numpy())
    np.save(paths["M"], A.matrix.numpy())
    np.save(paths["y"], A(x).numpy())
    return paths


def test_tv_equals_the_library_call_and_is_scored_against_the_reference(files, tmp_path, capsys):
    out = tmp_path / "tv.png"
    code = main(["solve", str(files["y"]), "--matrix", str(files["M"]), "--method", "tv", "--iterations", "300",
                 "--reference", str(files["x"]), "--npy", "--out", str(out)])
    assert code == 0
    y, M = torch.from_numpy(np.load(files["y"])), torch.from_numpy(np.load(files["M"]))
    expected = baselines.tv(y, MatrixOperator(M, (16, 16)), "holdout", iterations=300, seed=0, progress=False)
    np.testing.assert_allclose(np.load(out.with_suffix(".npy")), expected.image.numpy(), atol=1e-6)
    assert imread(out).shape == (16, 16)
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "128 measurements of a 16×16 image" in printed


def test_a_generator_with_a_given_shape(files, tmp_path):
    out = tmp_path / "dd.png"
    # the same 256 columns read as an 8×32 image
    assert main(["solve", str(files["y"]), "--matrix", str(files["M"]), "--shape", "8", "32", "--method",
                 "deep-decoder", "--iterations", "20", "--npy", "--out", str(out)]) == 0
    y, M = torch.from_numpy(np.load(files["y"])), torch.from_numpy(np.load(files["M"]))
    expected = reconstruct(y, MatrixOperator(M, (8, 32)), "deep-decoder", iterations=20, seed=0, progress=False)
    np.testing.assert_allclose(np.load(out.with_suffix(".npy")), expected.image.numpy(), atol=1e-5)


def test_complex_data_saves_the_complex_array_and_its_magnitude(tmp_path):
    gen = torch.Generator().manual_seed(1)
    M = torch.randn(40, 36, generator=gen, dtype=torch.complex64)
    x = torch.rand(6, 6, generator=gen).to(torch.complex64)
    np.save(tmp_path / "M.npy", M.numpy())
    np.save(tmp_path / "y.npy", MatrixOperator(M, (6, 6))(x).numpy())
    out = tmp_path / "z.png"
    assert main(["solve", str(tmp_path / "y.npy"), "--matrix", str(tmp_path / "M.npy"), "--method",
                 "least-squares", "--npy", "--out", str(out)]) == 0
    image = np.load(out.with_suffix(".npy"))
    assert image.dtype == np.complex64 and image.shape == (6, 6)
    np.testing.assert_allclose(image, x.numpy(), atol=1e-3)  # 40 generic rows determine 36 unknowns
    assert imread(out).shape == (6, 6)


def _write(path, array):
    np.save(path, array)
    return str(path)


@pytest.mark.parametrize("case, expected", [
    ("nan", "measurements"), ("rows", "rows"), ("matrix_axes", "--matrix"), ("missing", "--matrix: no such file"),
    ("corrupt", "--matrix"), ("not_square", "--shape"), ("bad_shape", "--shape"), ("out", "--out"),
    ("reference", "--reference"), ("text", "numeric"), ("mask_shape", "--mask"), ("empty_mask", "--mask"),
    ("denoiser", "--denoise"), ("shape_with_mask", "--shape"),
])
def test_bad_input_is_one_line_naming_what_is_wrong(files, tmp_path, capsys, case, expected):
    y, M = str(files["y"]), str(files["M"])
    out = str(tmp_path / "o.png")
    corrupt = tmp_path / "corrupt.npy"
    corrupt.write_bytes(b"\x93NUMPY not really")
    argv = {
        "nan": [_write(tmp_path / "n.npy", np.full(128, np.nan, np.float32)), "--matrix", M],
        "rows": [_write(tmp_path / "short.npy", np.zeros(100, np.float32)), "--matrix", M],
        "matrix_axes": [y, "--matrix", _write(tmp_path / "flat.npy", np.zeros(128 * 256, np.float32))],
        "missing": [y, "--matrix", str(tmp_path / "none.npy")],
        "corrupt": [y, "--matrix", str(corrupt)],
        "not_square": [_write(tmp_path / "y2.npy", np.zeros(3, np.float32)), "--matrix",
                       _write(tmp_path / "m2.npy", np.ones((3, 12), np.float32))],
        "bad_shape": [y, "--matrix", M, "--shape", "10", "10"],
        "out": [y, "--matrix", M, "--out", str(tmp_path / "o.jpg")],
        "reference": [y, "--matrix", M, "--method", "least-squares", "--reference",
                      _write(tmp_path / "r.npy", np.zeros((8, 8), np.float32))],
        "text": [_write(tmp_path / "s.npy", np.array(["a", "b"])), "--matrix", M],
        "mask_shape": [_write(tmp_path / "i.npy", np.zeros((8, 8), np.float32)), "--mask",
                       _write(tmp_path / "m.npy", np.ones((8, 9), bool))],
        "empty_mask": [_write(tmp_path / "i.npy", np.zeros((8, 8), np.float32)), "--mask",
                       _write(tmp_path / "m.npy", np.zeros((8, 8), bool))],
        "denoiser": [y, "--matrix", M, "--method", "bm3d"],
        "shape_with_mask": [_write(tmp_path / "i.npy", np.zeros((8, 8), np.float32)), "--denoise", "--shape", "8", "8"],
    }[case]
    if "--out" not in argv:
        argv += ["--out", out]
    assert main(["solve", *argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("csprior: error:") and expected in lines[0]


def test_inpainting_from_an_image_and_a_mask_file(tmp_path, capsys):
    from skimage.io import imsave

    from csprior.operators import Inpainting, random_pixel_mask

    x = load_image("camera", size=16)[0, 0]
    mask = random_pixel_mask(x.shape, 0.5, seed=2)
    imsave(tmp_path / "mask.png", (mask.numpy() * 255).astype(np.uint8), check_contrast=False)
    imsave(tmp_path / "damaged.png", (x * mask).mul(255).round().numpy().astype(np.uint8), check_contrast=False)
    out = tmp_path / "filled.png"
    assert main(["solve", str(tmp_path / "damaged.png"), "--mask", str(tmp_path / "mask.png"), "--method", "tv",
                 "--iterations", "200", "--reference", str(tmp_path / "damaged.png"), "--npy", "--out", str(out)]) == 0
    assert f"from {int(mask.sum())} measurements of a 16×16 image" in capsys.readouterr().out
    damaged = torch.from_numpy(imread(tmp_path / "damaged.png").astype(np.float32) / 255)
    A = Inpainting(mask)
    expected = baselines.tv(A(damaged), A, "holdout", iterations=200, seed=0, progress=False)
    np.testing.assert_allclose(np.load(out.with_suffix(".npy")), expected.image.numpy(), atol=1e-6)


def test_denoising_a_noisy_array_with_a_generator_and_the_classical_denoisers(tmp_path):
    x = load_image("camera", size=32)[0, 0]
    noisy = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
    np.save(tmp_path / "noisy.npy", noisy.numpy())  # values outside [0, 1] are kept
    import importlib.util

    methods = [("deep-decoder", ["--iterations", "20"]), ("dct-wiener", [])]
    if importlib.util.find_spec("bm3d") is not None:  # an optional dependency
        methods.append(("bm3d", []))
    for method, extra in methods:
        out = tmp_path / f"{method}.png"
        assert main(["solve", str(tmp_path / "noisy.npy"), "--denoise", "--method", method, *extra, "--npy",
                     "--out", str(out)]) == 0
        assert np.load(out.with_suffix(".npy")).shape == (32, 32)
    expected = baselines.dct_wiener(noisy)
    np.testing.assert_allclose(np.load(tmp_path / "dct-wiener.npy"), expected.image.numpy(), atol=1e-6)


def test_bm3d_without_its_optional_package_is_a_user_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "bm3d", None)  # `import bm3d` now raises ImportError
    np.save(tmp_path / "noisy.npy", np.full((16, 16), 0.5, dtype=np.float32))
    code = main(["solve", str(tmp_path / "noisy.npy"), "--denoise", "--method", "bm3d",
                 "--out", str(tmp_path / "out.png")])
    assert code == 2
    assert 'optional package "bm3d"' in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_checkpoint_folder_is_removed_once_the_result_is_saved(files, tmp_path):
    checkpoint = tmp_path / "saved"
    for out, extra in (("plain.png", []), ("checkpointed.png", ["--checkpoint", str(checkpoint)])):
        assert main(["solve", str(files["y"]), "--matrix", str(files["M"]), "--method", "deep-decoder",
                     "--iterations", "10", "--npy", "--out", str(tmp_path / out), *extra]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "plain.npy"), np.load(tmp_path / "checkpointed.npy"))
    assert not checkpoint.exists()
