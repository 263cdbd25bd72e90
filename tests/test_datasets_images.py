"""Image loading: files, bundled scikit-image images, folders, and the errors for bad input."""
import numpy as np
import pytest
import skimage.data
import torch
from skimage.io import imsave

from csprior.datasets import load_image, load_images


def test_bundled_image_by_name_is_scaled_8bit():
    image = load_image("camera")
    assert image.shape == (1, 1, 512, 512) and image.dtype == torch.float32
    expected = skimage.data.camera().astype(np.float64) / 255
    np.testing.assert_allclose(image[0, 0].numpy(), expected, atol=1e-6)


def test_resize_int_and_pair_and_range():
    square = load_image("camera", size=64)
    assert square.shape == (1, 1, 64, 64)
    assert float(square.min()) >= 0 and float(square.max()) <= 1
    rect = load_image("camera", size=(32, 48))
    assert rect.shape == (1, 1, 32, 48)
    for size in (64.0, True, (32, 0)):
        with pytest.raises(ValueError, match="size must be a positive int"):
            load_image("camera", size=size)


def test_color_and_gray_conversions():
    rgb = load_image("astronaut", gray=False)
    assert rgb.shape == (1, 3, 512, 512)
    gray = load_image("astronaut")
    assert gray.shape == (1, 1, 512, 512)
    replicated = load_image("camera", size=16, gray=False)
    assert replicated.shape == (1, 3, 16, 16)
    assert torch.equal(replicated[:, 0], replicated[:, 1]) and torch.equal(replicated[:, 1], replicated[:, 2])


def test_png_rgba_and_16bit_files(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    imsave(tmp_path / "red.png", rgba, check_contrast=False)
    red = load_image(tmp_path / "red.png", gray=False)
    np.testing.assert_allclose(red[0, :, 0, 0].numpy(), [1, 0, 0], atol=1e-6)

    deep = np.full((4, 4), 65535 // 2, np.uint16)
    imsave(tmp_path / "deep.png", deep, check_contrast=False)
    np.testing.assert_allclose(load_image(tmp_path / "deep.png").numpy(), (65535 // 2) / 65535, atol=1e-6)


def test_npy_files(tmp_path):
    values = np.random.default_rng(0).random((5, 7))
    np.save(tmp_path / "ok.npy", values)
    np.testing.assert_allclose(load_image(tmp_path / "ok.npy")[0, 0].numpy(), values, atol=1e-6)
    np.save(tmp_path / "big.npy", values * 3)
    with pytest.raises(ValueError, match=r"big\.npy.*\[0, 1\]"):
        load_image(tmp_path / "big.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="cube.npy"):
        load_image(tmp_path / "cube.npy")


def test_missing_and_unreadable(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.png"):
        load_image(tmp_path / "nothere.png")
    with pytest.raises(FileNotFoundError, match="no_such_bundled_image"):
        load_image("no_such_bundled_image")
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(ValueError, match="broken.png"):
        load_image(tmp_path / "broken.png")
    with pytest.raises(ValueError, match="size"):
        load_image("camera", size=(0, 4))


def test_folder_sorted_limited_and_errors(tmp_path):
    for name in ("b", "a", "c"):
        imsave(tmp_path / f"{name}.png", np.full((6, 6), 100, np.uint8), check_contrast=False)
    (tmp_path / "notes.txt").write_text("ignored")
    loaded = load_images(tmp_path, size=4)
    assert [name for name, _ in loaded] == ["a", "b", "c"]
    assert all(image.shape == (1, 1, 4, 4) for _, image in loaded)
    assert [name for name, _ in load_images(tmp_path, limit=2)] == ["a", "b"]

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images"):
        load_images(empty)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_images(tmp_path / "missing")
    for limit in (0, 2.5, "3", True):
        with pytest.raises(ValueError, match="limit must be a positive int or None"):
            load_images(tmp_path, limit=limit)


def test_shared_image_folder(shared_data):
    loaded = load_images(shared_data / "images" / "set11", size=32, limit=2)
    assert [name for name, _ in loaded] == ["01", "02"]
    assert all(image.shape == (1, 1, 32, 32) for _, image in loaded)
