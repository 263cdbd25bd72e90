"""Warm starts: a fit begins from the weights and input of a generator fitted before."""
import pytest
import torch
from skimage.data import shepp_logan_phantom
from skimage.transform import resize

from csprior import build_generator, reconstruct
from csprior.baselines import least_squares
from csprior.generators.batched import BatchedDeepDecoder, LoopedGenerators
from csprior.operators import GaussianMatrix, Identity


def _smooth_image(shift: float, size: int = 16) -> torch.Tensor:
    grid = torch.linspace(0, 1, size)
    return 0.5 + 0.3 * torch.sin(4 * (grid[:, None] + shift)) * torch.cos(3 * grid[None, :])


def _first_iterate(A, y, warm, prior="deep-decoder", **kwargs):
    """The image a warm-started fit sees before its first step (a one-iteration fixed fit)."""
    return reconstruct(y, A, prior, iterations=1, early_stopping="fixed", warm_start=warm, progress=False,
                       **kwargs).image


def test_result_carries_its_fitted_generator_and_a_warm_start_begins_there():
    A = Identity((16, 16))
    first = reconstruct(_smooth_image(0.0), A, "deep-decoder", iterations=40, early_stopping="fixed", progress=False)
    assert isinstance(first.generator, BatchedDeepDecoder) and first.generator.batch == 1
    with torch.no_grad():
        expected = first.generator()[0, 0]
    started = _first_iterate(A, _smooth_image(0.3), first)
    torch.testing.assert_close(started, expected, rtol=1e-5, atol=1e-6)
    cold = _first_iterate(A, _smooth_image(0.3), None)
    assert (cold - expected).abs().max() > 1e-2  # a random start is somewhere else entirely


def test_warm_start_from_a_similar_image_fits_faster():
    A = GaussianMatrix((16, 16), 128, seed=0)
    source, target = _smooth_image(0.0), _smooth_image(0.2)
    fitted = reconstruct(A(source), A, "deep-decoder", iterations=300, early_stopping="fixed", progress=False)
    runs = {name: reconstruct(A(target), A, "deep-decoder", iterations=30, early_stopping="fixed", x_true=target,
                              warm_start=warm, progress=False) for name, warm in (("cold", None), ("warm", fitted))}
    cold, warm = (torch.tensor(runs[name].history["psnr"]) for name in ("cold", "warm"))
    assert warm[0] > cold[0] + 3  # the fitted generator already outputs an image of the same kind
    assert warm.mean() > cold.mean() + 1  # and stays ahead over the first iterations


def test_standalone_module_can_warm_start_a_batch_of_problems():
    module = build_generator("deep-decoder", (16, 16), sigmoid=True, seed=7)
    with torch.no_grad():
        expected = module()[0, 0]
    ys = torch.stack([_smooth_image(0.0), _smooth_image(0.5)])
    started = _first_iterate(Identity((16, 16)), ys, module)
    assert started.shape == (2, 16, 16)
    for image in started:
        torch.testing.assert_close(image, expected, rtol=1e-5, atol=1e-6)


def test_ensemble_members_start_from_their_own_members():
    A = Identity((16, 16))
    fitted = reconstruct(_smooth_image(0.0), A, "deep-decoder", iterations=20, ensemble=2, early_stopping="fixed",
                         progress=False)
    assert fitted.generator.batch == 2
    with torch.no_grad():
        expected = fitted.generator().mean(0)[0]  # the ensemble's watched output: the members' average
    torch.testing.assert_close(_first_iterate(A, _smooth_image(0.4), fitted, ensemble=2), expected,
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="warm_start has 2 members; expected 1 or the ensemble size 3"):
        _first_iterate(A, _smooth_image(0.4), fitted, ensemble=3)


def test_looped_prior_warm_starts_too():
    A = Identity((16, 16))
    fitted = reconstruct(_smooth_image(0.0), A, "dip", iterations=5, early_stopping="fixed", input_noise=0.0,
                         ema=0.0, progress=False)
    assert not isinstance(fitted.generator, LoopedGenerators)  # one member: the fitted module itself
    with torch.no_grad():
        expected = fitted.generator()[0, 0]
    started = _first_iterate(A, _smooth_image(0.4), fitted, prior="dip", input_noise=0.0, ema=0.0)
    torch.testing.assert_close(started, expected, rtol=1e-5, atol=1e-6)


def test_bad_warm_starts_are_named():
    A = Identity((16, 16))
    y = _smooth_image(0.0)
    with pytest.raises(TypeError, match='warm_start must be a Result, a generator module, "phantom" or None'):
        _first_iterate(A, y, "previous")
    with pytest.raises(ValueError, match="holds no fitted generator"):
        _first_iterate(A, y, least_squares(y, A))
    other = build_generator("deep-decoder", (16, 16), channels=8, sigmoid=True)
    with pytest.raises(ValueError, match="warm_start has another architecture than the prior"):
        _first_iterate(A, y, other)
    with pytest.raises(ValueError, match="warm_start must be a fitted ConvDecoder like the prior"):
        _first_iterate(A, y, other, prior="conv-decoder")


def test_fit_source_makes_a_generator_for_real_or_complex_problems():
    from csprior.warm_start import fit_source

    image = _smooth_image(0.0)
    real = fit_source(image, "deep-decoder", complex_domain=False, iterations=3)
    complex_ = fit_source(image, "conv-decoder", complex_domain=True, iterations=3)
    assert real.out_channels == 1 and complex_.out_channels == 2
    with pytest.raises(ValueError, match=r"image must be a real \(H, W\) tensor"):
        fit_source(image[None], "deep-decoder", complex_domain=False)


def test_phantom_generator_fits_the_operators_domain():
    from csprior.operators import PartialFourier
    from csprior.warm_start import phantom_generator

    A = PartialFourier(torch.ones(12, 20, dtype=torch.bool))
    generator = phantom_generator(A, "conv-decoder", iterations=3)
    assert generator.out_channels == 2 and tuple(generator.out_shape) == (12, 20)


def test_phantom_warm_start_by_name():
    A = Identity((16, 16))
    started = _first_iterate(A, _smooth_image(0.0), "phantom")
    cold = _first_iterate(A, _smooth_image(0.0), None)
    phantom = torch.as_tensor(resize(shepp_logan_phantom(), (16, 16), anti_aliasing=True), dtype=torch.float32)
    assert (started - phantom).abs().mean() < 0.5 * (cold - phantom).abs().mean()  # it starts near the phantom
    with pytest.raises(ValueError, match='warm_start="phantom" needs a named prior'):
        _first_iterate(A, _smooth_image(0.0), "phantom", prior=build_generator("deep-decoder", (16, 16)))


def test_phantom_needs_a_single_image_domain():
    from csprior.operators import LinearOperator, fft2c, ifft2c
    from csprior.warm_start import phantom_generator

    class CoilImages(LinearOperator):
        """Per-coil Fourier transform of coil images: input (coils, H, W) complex."""

        def __init__(self, shape):
            super().__init__(shape, shape, torch.complex64, torch.complex64)

        def _forward(self, x):
            return fft2c(x)

        def _adjoint(self, y):
            return ifft2c(y)

    A = CoilImages((2, 8, 8))
    with pytest.raises(ValueError, match=r'needs an operator whose input is one \(H, W\) image'):
        phantom_generator(A, "conv-decoder", iterations=2)
    y = A(torch.rand(2, 8, 8).to(torch.complex64))
    result = reconstruct(y, A, iterations=3, tv_weight=0.0, progress=False)  # the default skips the phantom
    assert result.image.shape == (2, 8, 8)
