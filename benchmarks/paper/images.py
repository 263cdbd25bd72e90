"""Images for the paper experiments: the shared data set when present, scikit-image's bundled
images otherwise (so that every experiment also runs, at small sizes, without the data).

``../shared/data`` layout (see its MANIFEST.md): ``images/set11/*.png`` (Set12 without image 08)
and ``images/deep_decoder/phantom256.png`` (the Deep Decoder authors' phantom).
"""
from __future__ import annotations

from pathlib import Path

import torch

from csprior.datasets import load_image, load_images

SET11 = Path("images/set11")
PHANTOM = Path("images/deep_decoder/phantom256.png")
# bundled stand-ins, used in this order when the data folder is absent
BUNDLED_NATURAL = ("camera", "moon", "coins", "astronaut", "coffee", "chelsea", "rocket", "text", "brick",
                   "grass", "gravel")
BUNDLED_PHANTOM = "shepp_logan_phantom"
# Set12's customary numbering (the shared folder keeps the numbers as file names; 08 is left out)
SET12_NAMES = {"01": "cameraman", "02": "house", "03": "peppers", "04": "starfish", "05": "monarch",
               "06": "airplane", "07": "parrot", "08": "lena", "09": "barbara", "10": "boat", "11": "man",
               "12": "couple"}


def natural_images(data_dir: Path | None, count: int | None, size: int) -> tuple[list[tuple[str, torch.Tensor]], str]:
    """The first ``count`` Set11 images (sorted by file name; all when None) as ``(name, (H, W) float32)``
    at ``size``², and the source's description. Names are Set12's (``"cameraman"`` for ``01.png``);
    without ``data_dir`` the bundled images stand in."""
    if count is not None and count < 1:
        raise ValueError(f"images must be a positive count, got {count}")
    if data_dir is not None:
        loaded = load_images(Path(data_dir) / SET11, size=size, gray=True, limit=count)
        return ([(SET12_NAMES.get(name, name), image[0, 0]) for name, image in loaded],
                f"Set11 ({Path(data_dir) / SET11})")
    names = BUNDLED_NATURAL[:count]
    return ([(name, load_image(name, size=size)[0, 0]) for name in names],
            "scikit-image's bundled images (no data folder given: Set11 unavailable)")


def phantom(data_dir: Path | None, size: int) -> tuple[torch.Tensor, str]:
    """The Deep Decoder authors' phantom ``(size, size)`` float32, or scikit-image's Shepp–Logan
    phantom without ``data_dir``; and the source's description."""
    if data_dir is not None:
        path = Path(data_dir) / PHANTOM
        return load_image(path, size=size)[0, 0], f"phantom256.png ({path})"
    return (load_image(BUNDLED_PHANTOM, size=size)[0, 0],
            "scikit-image's Shepp–Logan phantom (no data folder given: phantom256.png unavailable)")
