"""Properties of the sampling and observation masks: fastMRI column masks, Poisson-disc, inpainting masks.

Column-for-column agreement with fastMRI itself is in ``test_fastmri_mask_reference.py``.
"""
import numpy as np
import pytest
import torch
from skimage import io

from csprior.operators import (fastmri_mask, load_mask, poisson_disc_mask, random_block_mask,
                               random_pixel_mask)

FILENAME_SEED = tuple(map(ord, "file1000001.h5"))


def _centre(num_cols, num_low):
    start = (num_cols - num_low + 1) // 2
    return slice(start, start + num_low)


# -- fastmri_mask ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["random", "equispaced", "equispaced_fraction"])
@pytest.mark.parametrize("num_cols, fraction", [(368, 0.08), (372, 0.08), (320, 0.04), (101, 0.1),
                                                (17, 0.08), (640, 0.0), (25, 0.1)])
def test_centre_count_and_position(kind, num_cols, fraction):
    mask, num_low = fastmri_mask(kind, num_cols, [fraction], [4], seed=0)
    assert mask.dtype == torch.bool and mask.shape == (num_cols,)
    assert num_low == round(num_cols * fraction)  # Python's round, as fastMRI: 25 * 0.1 -> 2
    assert bool(mask[_centre(num_cols, num_low)].all())


@pytest.mark.parametrize("num_cols, fraction, acceleration", [(368, 0.08, 4), (372, 0.04, 8), (101, 0.1, 3)])
def test_random_mask_reaches_target_acceleration_on_average(num_cols, fraction, acceleration):
    counts = [int(fastmri_mask("random", num_cols, fraction, acceleration, seed=seed)[0].sum())
              for seed in range(300)]
    # the expected number of columns is exactly num_cols / acceleration
    assert num_cols / np.mean(counts) == pytest.approx(acceleration, rel=0.02)


@pytest.mark.parametrize("num_cols", [320, 368, 372])
@pytest.mark.parametrize("fraction, acceleration", [(0.08, 4), (0.04, 8), (0.1, 3)])
def test_equispaced_fraction_reaches_target_acceleration(num_cols, fraction, acceleration):
    for seed in range(5):
        mask, _ = fastmri_mask("equispaced_fraction", num_cols, fraction, acceleration, seed=seed)
        assert num_cols / int(mask.sum()) == pytest.approx(acceleration, rel=0.05)


@pytest.mark.parametrize("num_cols, offset", [(368, 0), (372, 3), (17, 1)])
def test_equispaced_samples_every_ath_column_from_offset(num_cols, offset):
    mask, num_low = fastmri_mask("equispaced", num_cols, 0.08, 4, seed=0, offset=offset)
    expected = torch.zeros(num_cols, dtype=torch.bool)
    expected[offset::4] = True
    expected[_centre(num_cols, num_low)] = True
    assert torch.equal(mask, expected)
    assert num_cols / int(mask.sum()) < 4  # the centre comes on top of the acceleration


def test_equispaced_draws_offset_below_acceleration():
    offsets = set()
    for seed in range(40):
        mask, num_low = fastmri_mask("equispaced", 368, 0.04, 8, seed=seed)
        outer = torch.ones(368, dtype=torch.bool)
        outer[_centre(368, num_low)] = False
        columns = torch.nonzero(mask & outer).flatten()
        offsets.add(int(columns[0]) % 8)
        assert bool((columns % 8 == columns[0] % 8).all())
    assert offsets == set(range(8))


@pytest.mark.parametrize("kind", ["random", "equispaced", "equispaced_fraction"])
def test_seeds_are_deterministic_including_filename_tuples(kind):
    for seed in (0, 12345, FILENAME_SEED):
        first, low = fastmri_mask(kind, 372, [0.08, 0.04], [4, 8], seed=seed)
        again, low_again = fastmri_mask(kind, 372, [0.08, 0.04], [4, 8], seed=seed)
        assert torch.equal(first, again) and low == low_again
    as_list, _ = fastmri_mask(kind, 372, [0.08, 0.04], [4, 8], seed=list(FILENAME_SEED))
    assert torch.equal(as_list, fastmri_mask(kind, 372, [0.08, 0.04], [4, 8], seed=FILENAME_SEED)[0])
    masks = {tuple(fastmri_mask(kind, 372, 0.08, 4, seed=tuple(map(ord, f"file100000{i}.h5")))[0].tolist())
             for i in range(6)}
    assert len(masks) > 1


def test_unseeded_masks_are_valid_and_vary():
    masks = [fastmri_mask("random", 368, 0.08, 4)[0] for _ in range(5)]
    assert all(bool(m[_centre(368, 29)].all()) for m in masks)
    assert len({tuple(m.tolist()) for m in masks}) > 1


def test_multiple_pairs_are_all_chosen():
    lows = {fastmri_mask("random", 368, [0.08, 0.04], [4, 8], seed=seed)[1] for seed in range(30)}
    assert lows == {round(368 * 0.08), round(368 * 0.04)}


def test_centre_covering_every_column_gives_full_mask():
    for kind in ("random", "equispaced", "equispaced_fraction"):
        mask, num_low = fastmri_mask(kind, 17, 0.98, 4, seed=0)
        assert num_low == 17 and bool(mask.all())


def test_equispaced_fraction_centre_only_when_centre_reaches_acceleration():
    mask, num_low = fastmri_mask("equispaced_fraction", 368, 0.5, 2, seed=0)
    expected = torch.zeros(368, dtype=torch.bool)
    expected[_centre(368, num_low)] = True
    assert torch.equal(mask, expected)


def test_acceleration_one_samples_every_column():
    assert bool(fastmri_mask("random", 101, 0.1, 1, seed=0)[0].all())
    assert bool(fastmri_mask("equispaced", 101, 0.1, 1, seed=0)[0].all())


# -- poisson_disc_mask ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, acceleration, calib", [((48, 48), 4, 8), ((64, 80), 4, (12, 10)),
                                                        ((17, 23), 3, 4), ((96, 96), 6, 16)])
def test_poisson_disc_centre_and_acceleration(shape, acceleration, calib):
    mask = poisson_disc_mask(shape, acceleration, calib=calib, seed=0)
    assert mask.dtype == torch.bool and mask.shape == shape
    h, w = (calib, calib) if isinstance(calib, int) else calib
    top, left = shape[0] // 2 - h // 2, shape[1] // 2 - w // 2
    assert bool(mask[top:top + h, left:left + w].all())
    assert shape[0] * shape[1] / int(mask.sum()) == pytest.approx(acceleration, rel=0.03)


def test_poisson_disc_density_falls_off_from_the_centre():
    mask = poisson_disc_mask((96, 96), 4, calib=0, seed=3).numpy()
    ky, kx = np.meshgrid(np.arange(96) - 48, np.arange(96) - 48, indexing="ij")
    radius = np.hypot(ky, kx) / 48
    assert mask[radius < 0.4].mean() > 2 * mask[radius > 0.8].mean()
    uniform = poisson_disc_mask((96, 96), 4, calib=0, seed=3, radius_growth=0).numpy()
    assert uniform[radius < 0.4].mean() == pytest.approx(uniform[radius > 0.8].mean(), rel=0.25)


def test_poisson_disc_is_seeded():
    first = poisson_disc_mask((40, 40), 3, calib=6, seed=1)
    assert torch.equal(first, poisson_disc_mask((40, 40), 3, calib=6, seed=1))
    assert not torch.equal(first, poisson_disc_mask((40, 40), 3, calib=6, seed=2))


# -- inpainting masks -----------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9])
def test_random_pixel_mask_missing_fraction(fraction):
    mask = random_pixel_mask((3, 17, 23), fraction, seed=1)
    assert mask.shape == (3, 17, 23) and mask.dtype == torch.bool
    assert int((~mask[0]).sum()) == round(fraction * 17 * 23)
    assert torch.equal(mask[0], mask[2])  # a pixel is missing in every channel
    assert torch.equal(mask, random_pixel_mask((3, 17, 23), fraction, seed=1))


def test_random_pixel_mask_keeps_one_pixel():
    assert int(random_pixel_mask((4, 4), 0.999, seed=0).sum()) == 1


@pytest.mark.parametrize("fraction, block", [(0.0, 4), (0.25, 4), (0.5, (3, 7)), (0.7, 2)])
def test_random_block_mask_missing_fraction(fraction, block):
    shape = (40, 48)
    mask = random_block_mask(shape, fraction, block, seed=2)
    block_h, block_w = (block, block) if isinstance(block, int) else block
    missing = 1 - mask.float().mean().item()
    assert fraction <= missing < fraction + block_h * block_w / (shape[0] * shape[1])
    assert torch.equal(mask, random_block_mask(shape, fraction, block, seed=2))
    broadcast = random_block_mask((2, *shape), fraction, block, seed=2)
    assert torch.equal(broadcast[1], mask)


def _write(path, array):
    io.imsave(path, array, check_contrast=False)
    return path


@pytest.fixture
def pattern():
    return np.random.default_rng(0).random((17, 23)) > 0.5


def test_load_mask_from_png(tmp_path, pattern):
    grey = _write(tmp_path / "grey.png", (pattern * 255).astype(np.uint8))
    assert torch.equal(load_mask(grey), torch.from_numpy(pattern))
    rgb = _write(tmp_path / "rgb.png", np.repeat((pattern * 255).astype(np.uint8)[..., None], 3, axis=-1))
    assert torch.equal(load_mask(rgb), torch.from_numpy(pattern))
    grey_alpha = np.stack([(pattern * 255).astype(np.uint8), np.full(pattern.shape, 255, np.uint8)], -1)
    assert torch.equal(load_mask(_write(tmp_path / "la.png", grey_alpha)), torch.from_numpy(pattern))
    deep = _write(tmp_path / "deep.png", (pattern * 65535).astype(np.uint16))
    assert torch.equal(load_mask(deep), torch.from_numpy(pattern))


def test_load_mask_resizes_broadcasts_and_thresholds(tmp_path, pattern):
    path = _write(tmp_path / "mask.png", (pattern * 255).astype(np.uint8))
    resized = load_mask(path, shape=(3, 34, 46))
    assert resized.shape == (3, 34, 46)
    assert torch.equal(resized[2], torch.from_numpy(np.kron(pattern, np.ones((2, 2), dtype=bool))))
    grey = _write(tmp_path / "levels.png", np.where(pattern, 200, 100).astype(np.uint8))
    assert bool(load_mask(grey, threshold=0.3).all())
    assert torch.equal(load_mask(grey, threshold=0.5), torch.from_numpy(pattern))


def test_load_mask_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_mask(tmp_path / "missing.png")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(ValueError, match="path"):
        load_mask(corrupt)
    black = _write(tmp_path / "black.png", np.zeros((5, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="selects nothing"):
        load_mask(black)
