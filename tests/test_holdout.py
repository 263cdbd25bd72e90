"""The held-out split: entry-wise in general, whole outer columns for Cartesian column masks."""
import pytest
import torch

from csprior.holdout import split_measurements
from csprior.operators import MultiCoilPartialFourier, PartialFourier, PixelSubsample, fastmri_mask
from csprior.datasets import simulated_coil_maps


def _column_operator(coils=None):
    columns, n_low = fastmri_mask("random", 64, [0.08], [4], seed=3)
    if coils is None:
        return PartialFourier(columns, height=32), columns, n_low
    return MultiCoilPartialFourier(columns, simulated_coil_maps((32, 64), coils=coils)), columns, n_low


@pytest.mark.parametrize("coils", [None, 4])
def test_column_masks_hold_out_whole_outer_columns(coils):
    A, columns, n_low = _column_operator(coils)
    y = torch.zeros(A.out_shape, dtype=torch.complex64)
    split = split_measurements(A, y, 0.1, seed=0)
    held = split.held_mask.reshape(-1, *split.held_mask.shape[-2:])
    held_columns = held[0].any(dim=0)
    assert torch.equal(held, held_columns.expand_as(held))  # whole columns, every coil alike
    assert held_columns.sum() == round(0.1 * int(columns.sum()))
    start = (64 - n_low + 1) // 2
    assert not held_columns[start:start + n_low].any()  # the calibration centre is always fitted
    assert not (held_columns & ~columns).any()
    assert torch.equal(split.fit_mask | split.held_mask, A.measured.to(split.fit_mask.device))


def test_other_masks_hold_out_entries():
    A = PixelSubsample((16, 16), 0.5, seed=0)
    split = split_measurements(A, torch.zeros(A.out_shape), 0.2, seed=0)
    assert int(split.held_mask.sum()) == round(0.2 * A.out_shape[0])
    mask = torch.rand(32, 32, generator=torch.Generator().manual_seed(0)) < 0.3  # a 2-D random mask
    mask[12:20, 12:20] = True
    B = PartialFourier(mask)
    split = split_measurements(B, torch.zeros(B.out_shape, dtype=torch.complex64), 0.1, seed=0)
    assert int(split.held_mask.sum()) == round(0.1 * int(mask.sum()))


def test_a_centre_only_mask_falls_back_to_entries():
    columns = torch.zeros(32, dtype=torch.bool)
    columns[12:20] = True
    A = PartialFourier(columns, height=16)
    split = split_measurements(A, torch.zeros(A.out_shape, dtype=torch.complex64), 0.1, seed=0)
    assert int(split.held_mask.sum()) == round(0.1 * 8 * 16)


def test_fraction_out_of_range_is_a_value_error():
    A = PixelSubsample((8, 8), 0.5, seed=0)
    with pytest.raises(ValueError, match="fraction"):
        split_measurements(A, torch.zeros(A.out_shape), 0.7)
