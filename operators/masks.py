"""Sampling masks: validation of user masks, fastMRI's Cartesian column masks, Poisson-disc masks.

``fastmri_mask`` reproduces fastMRI's ``create_mask_for_mask_type(kind, center_fractions,
accelerations)`` column for column (same numpy ``RandomState`` draws in the same order) without
depending on fastMRI. ``poisson_disc_mask`` draws a 2-D variable-density Poisson-disc pattern with a
fully sampled calibration block, as used for 2-D (non-Cartesian-column) undersampling.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
import torch


def as_bool_mask(mask, name: str = "mask", ndim: tuple[int, ...] | None = None) -> torch.Tensor:
    """Validate ``mask`` and return it as a boolean tensor.

    Args:
        mask: boolean (or 0/1 valued) torch tensor, numpy array or nested sequence.
        name: parameter name used in error messages.
        ndim: allowed numbers of dimensions (``None``: any).

    Raises:
        TypeError: ``mask`` is not array-like, or holds values other than booleans or 0/1.
        ValueError: wrong number of dimensions, or no entry is True (nothing would be measured).
    """
    if isinstance(mask, torch.Tensor):
        tensor = mask.detach()
    else:
        try:
            tensor = torch.as_tensor(np.asarray(mask))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a boolean tensor or array, got {type(mask).__name__}") from exc
    if tensor.dtype != torch.bool:
        if tensor.is_complex() or not bool(((tensor == 0) | (tensor == 1)).all()):
            raise TypeError(f"{name} must be boolean (or hold only 0 and 1), got dtype {tensor.dtype}")
        tensor = tensor != 0
    if ndim is not None and tensor.ndim not in ndim:
        allowed = " or ".join(str(d) for d in ndim)
        raise ValueError(f"{name} must have {allowed} dimensions, got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0 or not bool(tensor.any()):
        raise ValueError(f"{name} selects nothing: at least one entry must be True")
    return tensor


# -- fastMRI Cartesian column masks ---------------------------------------------------------------

FASTMRI_KINDS = ("random", "equispaced", "equispaced_fraction")


def fastmri_mask(kind: str, num_cols: int, center_fractions, accelerations, seed=None,
                 offset: int | None = None) -> tuple[torch.Tensor, int]:
    """A Cartesian column mask exactly as fastMRI's ``create_mask_for_mask_type`` samples it.

    For the same arguments, the columns are those that fastMRI's
    ``create_mask_for_mask_type(kind, center_fractions, accelerations)(shape, offset, seed)`` selects
    on k-space with ``shape[-2] == num_cols``: the generator is a numpy ``RandomState`` seeded with
    ``seed``; it first picks the index of the ``(center_fraction, acceleration)`` pair, then
    ``round(num_cols * center_fraction)`` central columns are kept (starting at
    ``(num_cols - num_low + 1) // 2``) and the outer columns are drawn:

    ``"random"``
        each column independently with probability ``(num_cols / a - num_low) / (num_cols - num_low)``,
        so that ``num_cols / a`` columns are expected in total.
    ``"equispaced"``
        every ``a``-th column from ``offset`` (drawn uniformly in ``[0, a)`` when not given); ``a``
        must be an integer. The centre comes on top, so the true acceleration is below ``a``.
    ``"equispaced_fraction"``
        columns ``round(offset + j * a')`` with the spacing ``a'`` adjusted for the centre so that
        about ``num_cols / a`` columns are sampled in total (not exactly equispaced after rounding,
        as in fastMRI's public multi-coil data). When the centre alone reaches ``num_cols / a``
        columns, only the centre is sampled (where fastMRI fails: it divides by zero when the centre
        is exactly ``num_cols / a`` columns, and cannot draw an offset when it is more).

    When ``round(num_cols * center_fraction)`` is every column, the mask is full for every kind
    (fastMRI's ``"random"`` and ``"equispaced_fraction"`` divide by zero there).

    Args:
        kind: one of ``"random"``, ``"equispaced"``, ``"equispaced_fraction"``.
        num_cols: number of k-space columns ``W`` (> 0).
        center_fractions: fractions in ``[0, 1)`` of central columns, one per acceleration (a scalar
            is taken as a one-element list).
        accelerations: undersampling factors ``>= 1``, same length as ``center_fractions``.
        seed: int, or a tuple of ints such as ``tuple(map(ord, filename))`` (fastMRI's validation
            seeding); ``None`` draws a fresh, irreproducible mask, as fastMRI does.
        offset: first outer column for the equispaced kinds (``None``: drawn at random); ignored by
            ``"random"``.

    Returns:
        ``(mask, num_low_frequencies)``: boolean tensor ``(num_cols,)`` (True = sampled column) and
        the number of fully sampled central columns.
    """
    if kind not in FASTMRI_KINDS:
        raise ValueError(f"kind must be one of {FASTMRI_KINDS}, got {kind!r}")
    num_cols = _positive_int(num_cols, "num_cols")
    fractions, accels = _mask_parameters(center_fractions, accelerations, kind)
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, (int, np.integer))
                               or offset < 0):
        raise ValueError(f"offset must be None or a non-negative int, got {offset!r}")
    rng = np.random.RandomState(_check_seed(seed))
    # the draw order (pair index, then outer columns or offset) is fastMRI's
    choice = rng.randint(len(fractions))
    fraction, acceleration = fractions[choice], accels[choice]
    num_low = round(num_cols * fraction)
    if num_low == num_cols:
        # the centre is every column (a fraction just below 1 rounds up): nothing is left to draw.
        # fastMRI's equispaced mask gives the same; its other kinds divide by zero here.
        return torch.ones(num_cols, dtype=torch.bool), num_low
    mask = np.zeros(num_cols, dtype=bool)
    start = (num_cols - num_low + 1) // 2
    mask[start:start + num_low] = True
    mask |= _OUTER_COLUMNS[kind](rng, num_cols, acceleration, offset, num_low)
    return torch.from_numpy(mask), num_low


def _random_columns(rng, num_cols, acceleration, offset, num_low):
    prob = (num_cols / acceleration - num_low) / (num_cols - num_low)
    return rng.uniform(size=num_cols) < prob


def _equispaced_columns(rng, num_cols, acceleration, offset, num_low):
    step = int(acceleration)
    if offset is None:
        offset = rng.randint(0, high=round(acceleration))
    mask = np.zeros(num_cols, dtype=bool)
    mask[offset::step] = True
    return mask


def _equispaced_fraction_columns(rng, num_cols, acceleration, offset, num_low):
    denominator = num_low * acceleration - num_cols
    if denominator >= 0:
        # the centre alone reaches the acceleration: no outer columns (fastMRI yields the same when
        # given an offset and the centre exceeds num_cols / a, and fails otherwise)
        return np.zeros(num_cols, dtype=bool)
    spacing = acceleration * (num_low - num_cols) / denominator
    if offset is None:
        offset = rng.randint(0, high=round(spacing))
    mask = np.zeros(num_cols, dtype=bool)
    # fastMRI rounds float positions half-to-even (np.around) and stops before the last column
    mask[np.around(np.arange(offset, num_cols - 1, spacing)).astype(np.int64)] = True
    return mask


_OUTER_COLUMNS = {"random": _random_columns, "equispaced": _equispaced_columns,
                  "equispaced_fraction": _equispaced_fraction_columns}


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _as_list(values, name: str) -> list[float]:
    items = [values] if np.isscalar(values) else list(values)
    if not items:
        raise ValueError(f"{name} must not be empty")
    try:
        return [float(v) for v in items]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must hold numbers, got {values!r}") from exc


def _mask_parameters(center_fractions, accelerations, kind: str) -> tuple[list[float], list[float]]:
    fractions = _as_list(center_fractions, "center_fractions")
    accels = _as_list(accelerations, "accelerations")
    if len(fractions) != len(accels):
        raise ValueError(f"center_fractions and accelerations must have the same length, got "
                         f"{len(fractions)} and {len(accels)}")
    if not all(0 <= f < 1 for f in fractions):
        raise ValueError(f"center_fractions must lie in [0, 1), got {fractions}")
    if not all(np.isfinite(a) and a >= 1 for a in accels):
        raise ValueError(f"accelerations must be finite and >= 1, got {accels}")
    if kind == "equispaced":
        if not all(a == int(a) for a in accels):
            raise ValueError(f"accelerations must be integers for equispaced masks, got {accels}")
        # keep ints so that a step of exactly `a` is taken, as fastMRI slices with it
        accels = [int(a) for a in accels]
    return fractions, accels


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if not 0 <= seed < 2 ** 32:
            raise ValueError(f"seed must lie in [0, 2**32), got {seed}")
        return int(seed)
    if isinstance(seed, (tuple, list)) and seed and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < 2 ** 32 for s in seed):
        return tuple(int(s) for s in seed)
    raise ValueError(f"seed must be None, an int in [0, 2**32) or a non-empty tuple of such ints, got {seed!r}")


# -- variable-density Poisson-disc masks ----------------------------------------------------------

def poisson_disc_mask(shape, acceleration: float, calib=(24, 24), seed: int = 0,
                      radius_growth: float = 2.0) -> torch.Tensor:
    """A 2-D variable-density Poisson-disc sampling mask with a fully sampled calibration centre.

    Grid points are visited in a seeded random order; a point is sampled unless it lies within the
    exclusion radius of a point sampled before it (dart throwing on the grid). The radius grows
    linearly with the normalised distance ``ρ`` from the k-space centre (``ρ = 1`` at the middle
    of each edge), ``r = r0 · (1 + radius_growth · ρ)``, so the density falls off towards high
    frequencies while no two samples cluster. ``r0`` is set by bisection so that the total number of
    samples, calibration block included, is as close as the search gets to ``H·W / acceleration``.

    Args:
        shape: ``(H, W)`` of k-space.
        acceleration: target undersampling factor ``>= 1``.
        calib: ``(h, w)`` (or an int) of the fully sampled block around the centre
            ``(H // 2, W // 2)`` (the DC of ``fft2c``); ``0`` for none.
        seed: int seed of the visiting order.
        radius_growth: how much larger the exclusion radius is at the edge than at the centre
            (``>= 0``; ``0`` gives a uniform-density Poisson-disc pattern).

    Returns:
        Boolean tensor ``(H, W)``, True = sampled.
    """
    from .base import _as_shape
    from .subsample import check_seed

    height, width = _pair_shape(_as_shape(shape, "shape"))
    if isinstance(acceleration, bool) or not isinstance(acceleration, Real) or not np.isfinite(acceleration) \
            or acceleration < 1:
        raise ValueError(f"acceleration must be a finite number >= 1, got {acceleration!r}")
    if not (isinstance(radius_growth, Real) and np.isfinite(radius_growth) and radius_growth >= 0):
        raise ValueError(f"radius_growth must be a finite number >= 0, got {radius_growth!r}")
    centre = _calibration_block(calib, height, width)
    target = round(height * width / acceleration)
    if int(centre.sum()) > target:
        raise ValueError(f"calib {calib} alone has {int(centre.sum())} samples, more than the "
                         f"{target} that acceleration {acceleration} allows")
    order = np.random.RandomState(check_seed(seed)).permutation(height * width)
    growth = 1 + radius_growth * _normalised_radius(height, width)
    lo, hi = 0.0, float(max(height, width))
    best = _dart_throw(order, growth * lo, centre)
    for _ in range(30):
        mid = (lo + hi) / 2
        mask = _dart_throw(order, growth * mid, centre)
        if abs(int(mask.sum()) - target) < abs(int(best.sum()) - target):
            best = mask
        if int(mask.sum()) == target:
            break
        lo, hi = (mid, hi) if mask.sum() > target else (lo, mid)
    return torch.from_numpy(best)


def _pair_shape(shape) -> tuple[int, int]:
    if len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {shape}")
    return shape


def _calibration_block(calib, height: int, width: int) -> np.ndarray:
    sizes = tuple(calib) if isinstance(calib, (tuple, list, np.ndarray)) else (calib, calib)
    if len(sizes) != 2 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in sizes):
        raise ValueError(f"calib must be a non-negative int or a pair of them, got {calib!r}")
    if sizes[0] > height or sizes[1] > width:
        raise ValueError(f"calib {calib} exceeds the mask shape ({height}, {width})")
    block = np.zeros((height, width), dtype=bool)
    top, left = height // 2 - sizes[0] // 2, width // 2 - sizes[1] // 2
    block[top:top + sizes[0], left:left + sizes[1]] = True
    return block


def _normalised_radius(height: int, width: int) -> np.ndarray:
    ky = (np.arange(height) - height // 2) / max(height / 2, 1)
    kx = (np.arange(width) - width // 2) / max(width / 2, 1)
    return np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)


def _dart_throw(order: np.ndarray, radius: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Grid dart throwing: visit ``order``; sample a free point, then block its disc of ``radius``."""
    height, width = centre.shape
    sampled = centre.copy()
    blocked = centre.copy()
    flat_blocked = blocked.reshape(-1)
    radii = radius.reshape(-1)
    for index in order:
        if flat_blocked[index]:
            continue
        y, x = divmod(int(index), width)
        sampled[y, x] = True
        disc = _disc(float(radii[index]))
        reach = disc.shape[0] // 2
        top, left = max(y - reach, 0), max(x - reach, 0)
        bottom, right = min(y + reach + 1, height), min(x + reach + 1, width)
        blocked[top:bottom, left:right] |= disc[top - y + reach:bottom - y + reach,
                                                left - x + reach:right - x + reach]
        flat_blocked[index] = True
    return sampled


_DISCS: dict[int, np.ndarray] = {}
_DISC_STEPS = 20  # radii are rounded to 1/20 of a pixel so that the discs can be cached


def _disc(radius: float) -> np.ndarray:
    key = round(radius * _DISC_STEPS)
    if key not in _DISCS:
        r = key / _DISC_STEPS
        reach = int(np.ceil(r))
        offsets = np.arange(-reach, reach + 1)
        _DISCS[key] = offsets[:, None] ** 2 + offsets[None, :] ** 2 < r ** 2
    return _DISCS[key]
