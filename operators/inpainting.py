"""Inpainting: observe the image only where a mask is True; random pixel/block masks and masks from files."""
from __future__ import annotations

from numbers import Real
from pathlib import Path

import numpy as np
import torch

from .base import _as_shape
from .diagonal import Diagonal
from .masks import as_bool_mask
from .subsample import check_seed


class Inpainting(Diagonal):
    """``y = mask ⊙ x``: the image with its unobserved pixels set to zero.

    Args:
        mask: boolean tensor of the image's trailing shape, e.g. ``(H, W)`` or ``(C, H, W)``
            (True = observed; 0/1 values are accepted); must observe at least one entry.

    Input ``(..., *mask.shape)`` real or complex; output the same shape and dtype. ``measured`` is
    the mask, so held-out splits only use observed pixels. ``||A|| = 1``.
    """

    def __init__(self, mask):
        super().__init__(as_bool_mask(mask, "mask"))

    @property
    def mask(self) -> torch.Tensor:
        """The boolean observation mask (``in_shape``)."""
        return self.weights != 0


def random_pixel_mask(shape, missing_fraction: float, seed: int = 0) -> torch.Tensor:
    """A mask missing ``round(missing_fraction * H * W)`` pixels chosen uniformly at random.

    Args:
        shape: mask shape ``(H, W)`` or ``(..., H, W)``; pixels are drawn over ``(H, W)`` and the
            same pixels are missing in every leading index (all channels of a colour pixel).
        missing_fraction: fraction in ``[0, 1)`` of missing pixels.
        seed: int seed.

    Returns:
        Boolean tensor of ``shape``, True = observed.
    """
    shape, height, width = _image_shape(shape)
    _check_fraction(missing_fraction)
    n = height * width
    missing = min(round(missing_fraction * n), n - 1)  # keep at least one pixel observed
    generator = torch.Generator().manual_seed(check_seed(seed))
    observed = torch.ones(n, dtype=torch.bool)
    observed[torch.randperm(n, generator=generator)[:missing]] = False
    return observed.reshape(height, width).expand(shape).clone()


def random_block_mask(shape, missing_fraction: float, block_size, seed: int = 0) -> torch.Tensor:
    """A mask missing square (or rectangular) blocks at random positions, possibly overlapping.

    Blocks are removed one at a time until at least ``missing_fraction`` of the pixels are missing,
    so the missing fraction overshoots by less than one block.

    Args:
        shape: mask shape ``(H, W)`` or ``(..., H, W)``; blocks are placed over ``(H, W)`` and are
            missing in every leading index.
        missing_fraction: target fraction in ``[0, 1)`` of missing pixels.
        block_size: int side, or ``(height, width)`` of the blocks, at most the image size.
        seed: int seed (numpy ``RandomState``).

    Returns:
        Boolean tensor of ``shape``, True = observed.
    """
    shape, height, width = _image_shape(shape)
    _check_fraction(missing_fraction)
    block_h, block_w = _block_size(block_size, height, width)
    rng = np.random.RandomState(check_seed(seed))
    observed = np.ones((height, width), dtype=bool)
    target = missing_fraction * height * width
    while observed.size - observed.sum() < target:
        top = rng.randint(0, height - block_h + 1)
        left = rng.randint(0, width - block_w + 1)
        observed[top:top + block_h, left:left + block_w] = False
    if not observed.any():
        raise ValueError(f"missing_fraction {missing_fraction} with block_size {block_size} removed every "
                         "pixel; use smaller blocks or a lower fraction")
    return torch.from_numpy(observed).expand(shape).clone()


def load_mask(path, shape=None, threshold: float = 0.5) -> torch.Tensor:
    """Read an observation mask from an image file (PNG, BMP, TIFF, ...): bright = observed.

    Colour images are converted to grey (alpha ignored) and scaled to ``[0, 1]`` by their dtype's
    range; pixels brighter than ``threshold`` are observed.

    Args:
        path: image file.
        shape: optional ``(H, W)`` to resize to (nearest neighbour), or ``(..., H, W)`` to also
            broadcast over leading dimensions.
        threshold: grey level in ``[0, 1)`` separating missing from observed.

    Returns:
        Boolean tensor ``(H, W)`` (or ``shape``), True = observed.
    """
    from skimage import io, transform

    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0 <= threshold < 1:
        raise ValueError(f"threshold must be a number in [0, 1), got {threshold!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: mask file {path} does not exist")
    try:
        image = io.imread(path)
    except Exception as exc:  # the image plugins raise many kinds of errors for a corrupt file
        raise ValueError(f"path: cannot read {path} as an image ({exc})") from exc
    grey = _to_grey(np.asarray(image), path)
    if shape is not None:
        shape, height, width = _image_shape(shape)
        grey = transform.resize(grey, (height, width), order=0, anti_aliasing=False, preserve_range=True)
    mask = torch.from_numpy(np.ascontiguousarray(grey > threshold))
    mask = as_bool_mask(mask, f"mask read from {path}")
    return mask if shape is None else mask.expand(shape).clone()


def _to_grey(image: np.ndarray, path: Path) -> np.ndarray:
    from skimage import color

    if image.dtype == bool:
        scaled = image.astype(np.float64)
    elif np.issubdtype(image.dtype, np.integer):
        scaled = image.astype(np.float64) / np.iinfo(image.dtype).max
    else:
        scaled = image.astype(np.float64)
    if scaled.ndim == 3 and scaled.shape[-1] in (3, 4):
        scaled = color.rgb2gray(scaled[..., :3])
    elif scaled.ndim == 3 and scaled.shape[-1] == 2:  # grey + alpha
        scaled = scaled[..., 0]
    if scaled.ndim != 2:
        raise ValueError(f"path: {path} is not a 2-D grey or colour image (array shape {image.shape})")
    return scaled


def _image_shape(shape) -> tuple[tuple[int, ...], int, int]:
    shape = _as_shape(shape, "shape")
    if len(shape) < 2:
        raise ValueError(f"shape must be (..., H, W), got {shape}")
    return shape, shape[-2], shape[-1]


def _check_fraction(missing_fraction) -> None:
    if isinstance(missing_fraction, bool) or not isinstance(missing_fraction, Real) \
            or not 0 <= missing_fraction < 1:
        raise ValueError(f"missing_fraction must be a number in [0, 1), got {missing_fraction!r}")


def _block_size(block_size, height: int, width: int) -> tuple[int, int]:
    if isinstance(block_size, (int, np.integer)):
        sizes = (block_size, block_size)
    elif isinstance(block_size, (tuple, list)):
        sizes = tuple(block_size)
    else:
        sizes = ()
    if len(sizes) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in sizes):
        raise TypeError(f"block_size must be an int or a pair of ints, got {block_size!r}")
    if not (1 <= sizes[0] <= height and 1 <= sizes[1] <= width):
        raise ValueError(f"block_size must lie between 1 and the image size ({height}, {width}), got {block_size!r}")
    return int(sizes[0]), int(sizes[1])
