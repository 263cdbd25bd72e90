"""Bad input fails with ValueError/TypeError naming the parameter, never with a torch internals error."""
import pytest
import torch

from csprior.operators import (Diagonal, GaussianMatrix, Identity, Inpainting, MatrixOperator,
                               MultiCoilPartialFourier, PartialFourier, PixelSubsample, RandomizedDCT,
                               add_gaussian_noise, fastmri_mask, load_mask, poisson_disc_mask,
                               random_block_mask, random_pixel_mask, sigma_for_snr)

H, W = 17, 23
MASK = torch.zeros(H, W, dtype=torch.bool)
MASK[:, ::3] = True
MAPS = torch.ones(2, H, W, dtype=torch.complex64)


def _real(*shape):
    return torch.ones(*shape)


def _complex(*shape):
    return torch.ones(*shape, dtype=torch.complex64)


def _with(value, *shape, complex_=False):
    x = _complex(*shape) if complex_ else _real(*shape)
    x[(0,) * len(shape)] = value
    return x


APPLY_CASES = {
    # wrong trailing shape, forward and adjoint
    "Inpainting x shape": (lambda: Inpainting(MASK)(_real(H, W - 1)),
                           ValueError, r"x must have shape \(\.\.\., 17, 23\)"),
    "Gaussian y shape": (lambda: GaussianMatrix((H, W), 40).adjoint(_real(3, 39)),
                         ValueError, r"y must have shape \(\.\.\., 40\)"),
    "PixelSubsample x too few dims": (lambda: PixelSubsample((3, H, W), 10)(_real(H, W)),
                                      ValueError, "x must have shape"),
    "PartialFourier x shape": (lambda: PartialFourier(MASK)(_complex(W, H)), ValueError, "x must have shape"),
    "MultiCoil y shape": (lambda: MultiCoilPartialFourier(MASK, MAPS).adjoint(_complex(3, H, W)), ValueError,
                          r"y must have shape \(\.\.\., 2, 17, 23\)"),
    # real data where complex is required
    "PartialFourier real x": (lambda: PartialFourier(MASK)(_real(H, W)), TypeError, "x must be complex"),
    "PartialFourier real y": (lambda: PartialFourier(MASK).adjoint(_real(H, W)),
                              TypeError, "y must be complex"),
    "MultiCoil real x": (lambda: MultiCoilPartialFourier(MASK, MAPS)(_real(2, H, W)),
                         TypeError, "x must be complex"),
    "complex Diagonal real x": (lambda: Diagonal(_complex(H, W))(_real(H, W)),
                                TypeError, "x must be complex"),
    # not finite
    "Gaussian NaN x": (lambda: GaussianMatrix((H, W), 10)(_with(float("nan"), H, W)),
                       ValueError, "x contains NaN or Inf"),
    "PixelSubsample Inf x": (lambda: PixelSubsample((H, W), 10)(_with(float("inf"), 2, H, W)), ValueError,
                             "x contains NaN or Inf"),
    "PartialFourier Inf y": (lambda: PartialFourier(MASK).adjoint(_with(float("inf"), H, W, complex_=True)),
                             ValueError, "y contains NaN or Inf"),
    "DCT NaN y": (lambda: RandomizedDCT((H, W), 10).adjoint(_with(float("nan"), 10)),
                  ValueError, "y contains NaN"),
    # not a tensor / not a number type
    "list x": (lambda: Identity((H, W))([[0.0] * W] * H), TypeError, "x must be a torch.Tensor"),
    "integer x": (lambda: Inpainting(MASK)(torch.ones(H, W, dtype=torch.int64)), TypeError,
                  "x must be a floating or complex tensor"),
}

CONSTRUCTION_CASES = {
    "Diagonal NaN weights": (lambda: Diagonal(_with(float("nan"), H, W)), ValueError, "weights contains NaN"),
    "Diagonal integer weights": (lambda: Diagonal(torch.ones(H, W, dtype=torch.int64)), TypeError, "weights must be"),
    "Matrix Inf entry": (lambda: MatrixOperator(_with(float("inf"), 3, 4)), ValueError, "matrix contains NaN or Inf"),
    "Matrix integer entries": (lambda: MatrixOperator(torch.ones(3, 4, dtype=torch.int64)), TypeError,
                               "matrix must be a floating"),
    "Matrix in_shape int": (lambda: MatrixOperator(_real(3, 4), in_shape=4), TypeError,
                            "in_shape must be a sequence of ints"),
    # empty masks
    "Inpainting empty mask": (lambda: Inpainting(torch.zeros(H, W, dtype=torch.bool)),
                              ValueError, "mask selects nothing"),
    "PartialFourier empty mask": (lambda: PartialFourier(torch.zeros(H, W)),
                                  ValueError, "mask selects nothing"),
    "PartialFourier empty column mask": (lambda: PartialFourier(torch.zeros(W, dtype=torch.bool), height=H),
                                         ValueError, "mask selects nothing"),
    "MultiCoil empty mask": (lambda: MultiCoilPartialFourier(torch.zeros(H, W, dtype=torch.bool), MAPS),
                             ValueError,
                             "mask selects nothing"),
    "non-binary mask": (lambda: Inpainting(torch.full((H, W), 0.5)), TypeError, "mask must be boolean"),
    "3-D Fourier mask": (lambda: PartialFourier(torch.ones(2, H, W, dtype=torch.bool)), ValueError,
                         "mask must have 1 or 2 dimensions"),
    "column mask without height": (lambda: PartialFourier(torch.ones(W, dtype=torch.bool)),
                                   ValueError, "height"),
    "column mask, height 0": (lambda: PartialFourier(torch.ones(W, dtype=torch.bool), height=0),
                              ValueError, "height"),
    # measurement counts and ratios
    "PixelSubsample m=0": (lambda: PixelSubsample((H, W), 0), ValueError, r"m must be a count in \[1, 391\]"),
    "PixelSubsample m>n": (lambda: PixelSubsample((H, W), H * W + 1), ValueError, "m must be a count"),
    "PixelSubsample ratio 0": (lambda: PixelSubsample((H, W), 0.0),
                               ValueError, r"m must be a ratio in \(0, 1\]"),
    "PixelSubsample ratio 1.5": (lambda: PixelSubsample((H, W), 1.5), ValueError, "m must be a ratio"),
    "PixelSubsample ratio NaN": (lambda: PixelSubsample((H, W), float("nan")),
                                 ValueError, "m must be a ratio"),
    "PixelSubsample m str": (lambda: PixelSubsample((H, W), "half"),
                             TypeError, "m must be an int count or a float ratio"),
    "PixelSubsample m bool": (lambda: PixelSubsample((H, W), True), TypeError, "m must be"),
    "Gaussian m=-1": (lambda: GaussianMatrix((H, W), -1), ValueError, "m must be a count"),
    "Gaussian ratio 2.0": (lambda: GaussianMatrix((H, W), 2.0), ValueError, "m must be a ratio"),
    "DCT ratio -0.5": (lambda: RandomizedDCT((H, W), -0.5), ValueError, "m must be a ratio"),
    "Gaussian memory_budget": (lambda: GaussianMatrix((H, W), 10, memory_budget=0),
                               ValueError, "memory_budget"),
    "Gaussian seed": (lambda: GaussianMatrix((H, W), 10, seed=-1), ValueError, "seed"),
    "PixelSubsample seed": (lambda: PixelSubsample((H, W), 10, seed=1.5), TypeError, "seed"),
    "in_shape zero": (lambda: GaussianMatrix((0, W), 10), ValueError, "in_shape"),
    "in_shape not ints": (lambda: Identity(None), TypeError, "in_shape"),
    "in_shape float": (lambda: GaussianMatrix((64.7, 64), 10), TypeError, "in_shape must be a sequence of ints"),
    "in_shape string": (lambda: Identity("64"), TypeError, "in_shape must be a sequence of ints"),
    "in_shape bool": (lambda: Identity((True, 4)), TypeError, "in_shape must be a sequence of ints"),
    # explicit operators
    "MatrixOperator in_shape": (lambda: MatrixOperator(torch.ones(3, 10), (3, 4)), ValueError, "in_shape"),
    "MatrixOperator matrix": (lambda: MatrixOperator(torch.ones(10)), TypeError, "matrix"),
    "Diagonal weights": (lambda: Diagonal([1.0, 2.0]), TypeError, "weights"),
    "Diagonal scalar weights": (lambda: Diagonal(torch.tensor(1.0)), ValueError, "weights must have at least one"),
    "Diagonal no weights": (lambda: Diagonal(torch.empty(0)), ValueError, "weights must have at least one"),
    "MatrixOperator no rows": (lambda: MatrixOperator(torch.empty(0, 5)), ValueError,
                               "matrix must have at least one row"),
    # coil maps
    "maps 2-D": (lambda: MultiCoilPartialFourier(MASK, torch.ones(H, W, dtype=torch.complex64)),
                 ValueError, "maps"),
    "maps mismatch": (lambda: MultiCoilPartialFourier(MASK, torch.ones(2, H, W + 1, dtype=torch.complex64)),
                      ValueError,
                      "maps must have shape"),
    "maps NaN": (lambda: MultiCoilPartialFourier(MASK, _with(float("nan"), 2, H, W, complex_=True)),
                 ValueError,
                 "maps contains NaN"),
    "maps int": (lambda: MultiCoilPartialFourier(MASK, torch.ones(2, H, W, dtype=torch.int64)),
                 TypeError, "maps"),
    "maps list": (lambda: MultiCoilPartialFourier(MASK, [[1.0]]), TypeError, "maps"),
    # composition
    "compose shapes": (lambda: GaussianMatrix((H, W), 10) @ Identity((W, H)), ValueError, "cannot compose"),
    "add shapes": (lambda: GaussianMatrix((H, W), 10) + GaussianMatrix((H, W), 11), ValueError, "cannot add"),
}

MASK_CASES = {
    "acceleration 0": (lambda: fastmri_mask("random", 368, 0.08, 0), ValueError, "accelerations"),
    "acceleration -4": (lambda: fastmri_mask("equispaced_fraction", 368, 0.08, -4),
                        ValueError, "accelerations"),
    "acceleration below 1": (lambda: fastmri_mask("random", 368, 0.08, 0.5), ValueError, "accelerations"),
    "acceleration inf": (lambda: fastmri_mask("random", 368, 0.08, float("inf")),
                         ValueError, "accelerations"),
    "acceleration non-integer equispaced": (lambda: fastmri_mask("equispaced", 368, 0.08, 2.5), ValueError,
                                            "accelerations must be integers"),
    "acceleration str": (lambda: fastmri_mask("random", 368, 0.08, ["four"]), TypeError, "accelerations"),
    "centre fraction 1": (lambda: fastmri_mask("random", 368, 1.0, 4),
                          ValueError, r"center_fractions must lie in \[0, 1\)"),
    "centre fraction -0.1": (lambda: fastmri_mask("random", 368, -0.1, 4), ValueError, "center_fractions"),
    "centre fraction NaN": (lambda: fastmri_mask("equispaced", 368, float("nan"), 4),
                            ValueError, "center_fractions"),
    "centre fractions empty": (lambda: fastmri_mask("random", 368, [], []), ValueError, "center_fractions"),
    "lengths differ": (lambda: fastmri_mask("random", 368, [0.08, 0.04], [4]), ValueError,
                       "center_fractions and accelerations must have the same length"),
    "kind": (lambda: fastmri_mask("magic", 368, 0.08, 4), ValueError, "kind must be one of"),
    "num_cols 0": (lambda: fastmri_mask("random", 0, 0.08, 4), ValueError, "num_cols"),
    "num_cols float": (lambda: fastmri_mask("random", 368.0, 0.08, 4), ValueError, "num_cols"),
    "seed negative": (lambda: fastmri_mask("random", 368, 0.08, 4, seed=-1), ValueError, "seed"),
    "seed 2**32": (lambda: fastmri_mask("random", 368, 0.08, 4, seed=2 ** 32), ValueError, "seed"),
    "seed str": (lambda: fastmri_mask("random", 368, 0.08, 4, seed="file1000001.h5"), ValueError, "seed"),
    "seed empty tuple": (lambda: fastmri_mask("random", 368, 0.08, 4, seed=()), ValueError, "seed"),
    "offset negative": (lambda: fastmri_mask("equispaced", 368, 0.08, 4, offset=-1), ValueError, "offset"),
    "poisson acceleration 0": (lambda: poisson_disc_mask((32, 32), 0), ValueError, "acceleration"),
    "poisson acceleration -2": (lambda: poisson_disc_mask((32, 32), -2), ValueError, "acceleration"),
    "poisson calib too large": (lambda: poisson_disc_mask((32, 32), 4, calib=40), ValueError, "calib"),
    "poisson calib over budget": (lambda: poisson_disc_mask((32, 32), 8, calib=20), ValueError, "calib"),
    "poisson shape 3-D": (lambda: poisson_disc_mask((2, 32, 32), 4), ValueError, "shape"),
    "poisson acceleration str": (lambda: poisson_disc_mask((32, 32), "4"), ValueError,
                                 "acceleration must be a finite number"),
    "poisson radius_growth str": (lambda: poisson_disc_mask((32, 32), 4, radius_growth="1"), ValueError,
                                  "radius_growth must be a finite number"),
    "poisson calib float": (lambda: poisson_disc_mask((32, 32), 4, calib=6.0), ValueError,
                            "calib must be a non-negative int or a pair"),
    "poisson radius_growth": (lambda: poisson_disc_mask((32, 32), 4, radius_growth=-1),
                              ValueError, "radius_growth"),
    "pixel fraction 1": (lambda: random_pixel_mask((H, W), 1.0),
                         ValueError, r"missing_fraction must be a number in \[0, 1\)"),
    "pixel fraction negative": (lambda: random_pixel_mask((H, W), -0.2), ValueError, "missing_fraction"),
    "pixel shape 1-D": (lambda: random_pixel_mask((H,), 0.5), ValueError, "shape"),
    "block fraction 1.5": (lambda: random_block_mask((H, W), 1.5, 3), ValueError, "missing_fraction"),
    "block size too big": (lambda: random_block_mask((H, W), 0.5, 30), ValueError, "block_size"),
    "block size float": (lambda: random_block_mask((H, W), 0.5, 2.5), TypeError, "block_size"),
    "block removes everything": (lambda: random_block_mask((H, W), 0.99, (H, W)),
                                 ValueError, "missing_fraction"),
}

NOISE_CASES = {
    "sigma negative": (lambda: add_gaussian_noise(_real(4), sigma=-0.1),
                       ValueError, "sigma must be a finite number >= 0"),
    "sigma NaN": (lambda: add_gaussian_noise(_real(4), sigma=float("nan")), ValueError, "sigma"),
    "sigma str": (lambda: add_gaussian_noise(_real(4), sigma="0.1"), ValueError, "sigma"),
    "snr NaN": (lambda: add_gaussian_noise(_real(4), snr_db=float("nan")), ValueError, "snr_db"),
    "snr inf": (lambda: add_gaussian_noise(_real(4), snr_db=float("inf")), ValueError, "snr_db"),
    "snr str": (lambda: sigma_for_snr(_real(4), "20 dB"), ValueError, "snr_db"),
    "snr zero signal": (lambda: add_gaussian_noise(torch.zeros(4), snr_db=10.0), ValueError, "zero power"),
    "both sigma and snr": (lambda: add_gaussian_noise(_real(4), sigma=0.1, snr_db=10.0), ValueError,
                           "exactly one of sigma and snr_db"),
    "neither sigma nor snr": (lambda: add_gaussian_noise(_real(4)),
                              ValueError, "exactly one of sigma and snr_db"),
    "noise y NaN": (lambda: add_gaussian_noise(_with(float("nan"), 4), sigma=0.1),
                    ValueError, "y contains NaN"),
    "noise y list": (lambda: add_gaussian_noise([1.0, 2.0], sigma=0.1),
                     TypeError, "y must be a torch.Tensor"),
    "noise seed": (lambda: add_gaussian_noise(_real(4), sigma=0.1, seed="a"), TypeError, "seed"),
    "noise measured shape": (lambda: add_gaussian_noise(_real(4, 5), sigma=0.1,
                                                        measured=torch.ones(3, dtype=torch.bool)),
                             ValueError, "measured"),
    "noise measured dtype": (lambda: add_gaussian_noise(_real(4), sigma=0.1, measured=torch.ones(4)),
                             TypeError,
                             "measured must be a boolean"),
}

CASES = {**APPLY_CASES, **CONSTRUCTION_CASES, **MASK_CASES, **NOISE_CASES}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_names_the_parameter(name):
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("threshold", [1.5, -0.1, "half"])
def test_load_mask_threshold(tmp_path, threshold):
    with pytest.raises(ValueError, match="threshold"):
        load_mask(tmp_path / "mask.png", threshold=threshold)
