"""Loading natural images as csprior image tensors ``(1, C, H, W)`` float32 in [0, 1].

Sources: image files (PNG, JPEG, TIFF, BMP through imageio, scikit-image's reader), numpy ``.npy`` arrays,
and the images bundled with scikit-image, by name (``"camera"``, ``"astronaut"``, ``"brick"``,
see ``SKIMAGE_IMAGES``), which need no download.

Integer images are scaled by their type's maximum (255 for 8-bit, 65535 for 16-bit); floating-point
arrays must already lie in [0, 1]. ``size`` resizes to exactly that size with scikit-image's
anti-aliased ``resize`` (the aspect ratio changes if it differs; nothing is cropped).
"""
from __future__ import annotations

import logging
import numbers
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import skimage.data
import torch
from skimage.color import gray2rgb, rgb2gray, rgba2rgb
from skimage.transform import resize

from .image_size import size_pair

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".npy")

# scikit-image's bundled 2-D images (no pooch download needed)
SKIMAGE_IMAGES = (
    "astronaut", "brick", "camera", "cat", "cell", "checkerboard", "chelsea", "clock", "coffee",
    "coins", "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry",
    "logo", "microaneurysms", "moon", "page", "retina", "rocket", "shepp_logan_phantom", "text",
)


def load_image(name_or_path: str | Path, size: int | tuple[int, int] | None = None,
               gray: bool = True) -> torch.Tensor:
    """Load one image as a float32 ``(1, C, H, W)`` tensor in [0, 1].

    Args:
        name_or_path: an image file (PNG/JPEG/TIFF/BMP or ``.npy`` holding ``(H, W)`` or
            ``(H, W, C)``), or the name of a bundled scikit-image image (``SKIMAGE_IMAGES``).
        size: resize to ``(size, size)`` or ``(H, W)`` (anti-aliased); None keeps the size.
        gray: True gives ``C = 1`` (RGB converted by luminance), False ``C = 3`` (RGB; gray
            images replicated). An alpha channel is composited onto white.

    Raises:
        FileNotFoundError: neither an existing file nor a bundled image name.
        ValueError: the file cannot be decoded, has an unsupported shape, or float values outside [0, 1].
    """
    array, source = _read(name_or_path)
    image = _to_unit_range(array, source)
    image = _to_channels(image, gray, source)
    if size is not None:
        image = resize(image, size_pair(size), anti_aliasing=True, preserve_range=True).clip(0, 1)
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).to(torch.float32)[None]


def load_images(folder: str | Path, size: int | tuple[int, int] | None = None, gray: bool = True,
                limit: int | None = None) -> list[tuple[str, torch.Tensor]]:
    """Load every image of a folder (not recursive), sorted by file name.

    Args:
        folder: folder of image files (suffixes ``IMAGE_SUFFIXES``; other files are ignored).
        size, gray: as in ``load_image``.
        limit: load only the first ``limit`` images.

    Returns:
        list of ``(name, image)`` with ``name`` the file name without suffix and ``image`` a float32
        ``(1, C, H, W)`` tensor in [0, 1].

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
        ValueError: the folder holds no images, ``limit`` is not positive, or an image is unreadable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist or is not a directory")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"image folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    files = files[:limit]
    log.info("loading %d images from %s", len(files), folder)
    return [(path.stem, load_image(path, size=size, gray=gray)) for path in files]


def _read(name_or_path) -> tuple[np.ndarray, str]:
    path = Path(name_or_path)
    if path.is_file():
        try:
            with warnings.catch_warnings():
                # imageio probes every plugin on undecodable files; legacy ones warn on import
                warnings.simplefilter("ignore", DeprecationWarning)
                # decoded from bytes: imageio leaves the file open when no plugin can read it
                array = np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" else \
                    iio.imread(path.read_bytes(), extension=path.suffix.lower())
        except Exception as exc:  # decoders raise many types; all mean "not a readable image"
            raise ValueError(f"{path}: cannot read as an image ({type(exc).__name__}: {exc})") from exc
        return np.asarray(array), str(path)
    if isinstance(name_or_path, str) and name_or_path in SKIMAGE_IMAGES:
        return np.asarray(getattr(skimage.data, name_or_path)()), f"skimage.data.{name_or_path}"
    raise FileNotFoundError(f"image {name_or_path!s} is neither an existing file nor a bundled scikit-image "
                            f"image ({', '.join(SKIMAGE_IMAGES)})")


def _to_unit_range(array: np.ndarray, source: str) -> np.ndarray:
    if array.dtype == bool:
        return array.astype(np.float64)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        if info.min < 0 and array.min() < 0:
            raise ValueError(f"{source}: negative pixel values in a {array.dtype} image")
        return array.astype(np.float64) / info.max
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{source}: unsupported pixel type {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError(f"{source}: contains NaN or Inf values")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"{source}: float values must lie in [0, 1], got [{array.min():.4g}, {array.max():.4g}]")
    return array.astype(np.float64)


def _to_channels(image: np.ndarray, gray: bool, source: str) -> np.ndarray:
    """``(H, W)`` or ``(H, W, C)`` -> ``(H, W, 1)`` if gray else ``(H, W, 3)``."""
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 4:
        image = rgba2rgb(image)
    if image.ndim == 2:
        return image[..., None] if gray else gray2rgb(image)
    if image.ndim == 3 and image.shape[-1] == 3:
        return rgb2gray(image)[..., None] if gray else image
    raise ValueError(f"{source}: expected an (H, W) or (H, W, C) image with C in 1, 3, 4; got shape {image.shape}")

