"""Stacked generators (``csprior.generators.batched``) and the engine's lockstep fits built on them.

B stacked Deep Decoders or ConvDecoders give each instance the output, the gradient and the Adam
trajectory of the generator it was copied from; ``reconstruct`` on a batch of problems gives each
problem what fitting it alone gives, with its own stopping; ``ensemble=K`` averages K seeded fits.
"""
import sys

import pytest
import torch
import torch.nn.functional as F

from csprior import reconstruct
from csprior.generators import ConvDecoder, DeepDecoder, DeepImagePrior, build_generator
from csprior.generators.batched import can_stack, stack_generators
from csprior.holdout import split_measurements
from csprior.operators import GaussianMatrix, Identity, MatrixOperator, PixelSubsample
from csprior.reconstruct import ENSEMBLE_SEED_STRIDE

ENGINE = sys.modules["csprior.reconstruct"]  # the module (the package re-exports the function under its name)

LINEAR_KERNEL = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 16
SHAPE = (20, 18)
FACTORIES = {
    "deep-decoder": lambda seed: DeepDecoder(SHAPE, channels=6, depth=2, out_channels=2, seed=seed),
    "deep-decoder-kernel": lambda seed: DeepDecoder(SHAPE, channels=6, depth=2, out_channels=2,
                                                    upsample=LINEAR_KERNEL, seed=seed),
    "conv-decoder": lambda seed: ConvDecoder(SHAPE, channels=5, layers=3, out_channels=2, seed=seed),
    "conv-decoder-bias": lambda seed: ConvDecoder(SHAPE, channels=5, layers=3, out_channels=2, bias=True,
                                                  sigmoid=True, seed=seed),
    # one exact doubling: the coarse-grid path of nearest_conv, grouped
    "conv-decoder-doubling": lambda seed: ConvDecoder(SHAPE, channels=5, layers=2, out_channels=2,
                                                      in_size=(10, 9), bias=True, seed=seed),
}


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm())


def _targets(count: int) -> torch.Tensor:
    return torch.rand(count, 2, *SHAPE, generator=torch.Generator().manual_seed(9))


def _single_name(stacked_name: str) -> str:
    """The generator's name of a stacked parameter, e.g. ``norm_biases.1`` -> ``blocks.1.norm.bias``."""
    names = {"conv_weights": "conv.weight", "conv_biases": "conv.bias", "norm_weights": "norm.weight",
             "norm_biases": "norm.bias", "output_weight": "output.weight", "output_bias": "output.bias"}
    kind, _, index = stacked_name.partition(".")
    return f"blocks.{index}.{names[kind]}" if index else names[kind]


def _sum_of_losses(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return sum(F.mse_loss(output, target) for output, target in zip(outputs, targets))


@pytest.mark.parametrize("name", FACTORIES)
def test_stacked_outputs_and_gradients_equal_each_generator(name):
    generators = [FACTORIES[name](seed) for seed in (0, 1, 2)]
    stacked = stack_generators(generators)
    targets = _targets(3)
    outputs = stacked()
    assert outputs.shape == (3, 2, *SHAPE) and stacked.batch == 3
    _sum_of_losses(outputs, targets).backward()
    for b, generator in enumerate(generators):
        output = generator()
        assert _relative(outputs[b], output[0]) < 1e-5
        F.mse_loss(output[0], targets[b]).backward()
        own = dict(generator.named_parameters())
        # gradients that vanish mathematically (a bias before BatchNorm on an all-positive channel)
        # are rounding noise in both: compare at an absolute scale of the instance's gradients
        scale = max(float(p.grad.abs().max()) for p in own.values())
        for name, stacked_p in stacked.named_parameters():
            p = own[_single_name(name)]
            torch.testing.assert_close(stacked_p.grad[b].reshape(p.shape), p.grad, rtol=1e-4, atol=1e-5 * scale)
    assert stacked.n_parameters == generators[0].n_parameters


@pytest.mark.parametrize("name", ["deep-decoder", "conv-decoder"])
def test_stacked_adam_steps_equal_separate_fits_and_select_keeps_instances(name):
    generators = [FACTORIES[name](seed) for seed in (3, 4, 5)]
    stacked = stack_generators(generators)
    targets = _targets(3)
    optimizers = [torch.optim.Adam(g.parameters(), lr=0.01) for g in generators]
    stacked_optimizer = torch.optim.Adam(stacked.parameters(), lr=0.01)
    for _ in range(5):
        stacked_optimizer.zero_grad()
        _sum_of_losses(stacked(), targets).backward()
        stacked_optimizer.step()
        for generator, optimizer, target in zip(generators, optimizers, targets):
            optimizer.zero_grad()
            F.mse_loss(generator()[0], target).backward()
            optimizer.step()
    with torch.no_grad():
        outputs = stacked()
        for b, generator in enumerate(generators):
            assert _relative(outputs[b], generator()[0]) < 1e-4
        subset = stacked.select([2, 0])
        assert torch.equal(subset.net_input, stacked.net_input[[2, 0]])
        assert _relative(subset(), outputs[[2, 0]]) < 1e-6


def test_stacked_forward_accepts_a_perturbed_input():
    generators = [FACTORIES["deep-decoder"](seed) for seed in (0, 1)]
    stacked = stack_generators(generators)
    noisy = stacked.net_input + 0.01 * torch.randn(stacked.net_input.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outputs = stacked(noisy)
        for b, generator in enumerate(generators):
            assert _relative(outputs[b], generator(noisy[b:b + 1])[0]) < 1e-5
    with pytest.raises(ValueError, match="input"):
        stacked(noisy[:1])


def test_stacking_rejects_mixed_or_unequal_generators():
    with pytest.raises(ValueError, match="generators"):
        stack_generators([])
    with pytest.raises(ValueError, match="channels"):
        stack_generators([DeepDecoder(SHAPE, channels=4, depth=2), DeepDecoder(SHAPE, channels=6, depth=2)])
    with pytest.raises(ValueError, match="upsample"):
        stack_generators([DeepDecoder(SHAPE, channels=4, depth=2),
                          DeepDecoder(SHAPE, channels=4, depth=2, upsample="nearest")])
    with pytest.raises(TypeError, match="DeepDecoder"):
        stack_generators([DeepDecoder(SHAPE, channels=4, depth=2), ConvDecoder(SHAPE, channels=4, layers=2)])
    dip = DeepImagePrior((16, 16), channels_down=(4,), channels_up=(4,), channels_skip=(0,))
    assert not can_stack(dip) and can_stack(DeepDecoder(SHAPE, channels=4, depth=2))
    with pytest.raises(ValueError, match="indices"):
        stack_generators([DeepDecoder(SHAPE, channels=4, depth=2)] * 2).select([2])


def _problems(count: int, shape=(16, 16), m=200):
    """Smooth images seen through one Gaussian matrix, with noise levels that make the problems stop
    at different iterations."""
    gen = torch.Generator().manual_seed(0)
    A = MatrixOperator(torch.randn(m, shape[0] * shape[1], generator=gen) / m ** 0.5, shape)
    x = F.avg_pool2d(torch.rand(count, 1, shape[0] + 4, shape[1] + 4, generator=gen), 5, 1).squeeze(1)
    sigma = torch.tensor([0.0, 0.05, 0.2])[:count].view(-1, 1)
    return A, A(x) + sigma * torch.randn(count, m, generator=gen)


@pytest.fixture
def float64():
    """Generators built in float64 for the engine-level comparisons: in float32 a 64-channel fit is
    chaotic at the 1e-4 level (a ConvDecoder in float32 is ~4e-2 away from itself in float64 after
    five Adam steps: rounding-size gradients get full-size Adam steps), so only float64 can show that
    two evaluation orders compute the same fit."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("prior, loop_from_pixels", [("deep-decoder", None), ("conv-decoder", None),
                                                     ("conv-decoder", 0)])
def test_batch_of_problems_equals_each_problem_fitted_alone(prior, loop_from_pixels, monkeypatch):
    if loop_from_pixels is not None:  # ConvDecoders fitted one problem after another, as on large images
        monkeypatch.setattr(ENGINE, "_LOOP_CONV_DECODERS_FROM_PIXELS", loop_from_pixels)
    A, y = _problems(3)
    options = dict(iterations=200, early_stopping="holdout", patience=20, progress=False)
    together = reconstruct(y, A, prior, **options)
    alone = [reconstruct(y[i], A, prior, seed=i, **options) for i in range(3)]
    stops = [r.params["iterations_run"] for r in alone]
    assert len(set(stops)) > 1  # each problem stopped by its own rule, at its own iteration
    for i, single in enumerate(alone):
        assert together[i].params["iterations_run"] == stops[i]
        assert together[i].stop_iteration == single.stop_iteration
        assert _relative(together.image[i], single.image) < 1e-10


def test_conv_decoders_of_128_squared_and_up_loop_on_cpu_only():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")  # a device name: no GPU needed to decide
    small, large = Identity((96, 96)), Identity((128, 128))
    assert ENGINE._fits_in_lockstep("conv-decoder", small, cpu)
    assert not ENGINE._fits_in_lockstep("conv-decoder", large, cpu)
    assert ENGINE._fits_in_lockstep("conv-decoder", large, cuda)
    assert ENGINE._fits_in_lockstep("deep-decoder", large, cpu)
    assert not ENGINE._fits_in_lockstep("dip", small, cpu)


def test_conv_decoders_stay_stacked_where_the_operator_is_amortised_over_the_batch():
    """A dense matrix is read once per product however many problems share it (dense_products)."""
    cpu = torch.device("cpu")
    gaussian = GaussianMatrix((1, 128, 128), 16, seed=0)
    for A in (gaussian, 2.0 * gaussian, gaussian @ Identity((1, 128, 128))):
        assert A.batch_amortised
        assert ENGINE._fits_in_lockstep("conv-decoder", A, cpu)
    subsample = PixelSubsample((1, 128, 128), 0.5, seed=0)
    assert not subsample.batch_amortised and not (subsample + subsample).batch_amortised
    assert not ENGINE._fits_in_lockstep("conv-decoder", subsample, cpu)


@pytest.mark.usefixtures("float64")
def test_ensemble_is_the_average_of_its_members_fitted_alone():
    A, y = _problems(1)
    k, iterations = 3, 15
    result = reconstruct(y[0], A, "deep-decoder", iterations=iterations, early_stopping="fixed", ensemble=k,
                         progress=False, seed=2)
    members = [reconstruct(y[0], A, build_generator("deep-decoder", (16, 16), seed=2 + j * ENSEMBLE_SEED_STRIDE),
                           iterations=iterations, early_stopping="fixed", progress=False, seed=2)
               for j in range(k)]
    average = torch.stack([member.image for member in members]).mean(0)
    assert _relative(result.image, average) < 1e-10
    assert result.n_parameters == k * members[0].n_parameters
    assert result.params["ensemble"] == k and len(result.history["loss"]) == iterations


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("prior", ["deep-decoder", "conv-decoder"])
def test_tv_weight_sweep_equals_each_weight_fitted_alone(prior):
    A, y = _problems(1)
    weights = [0.0, 0.05, 0.5]
    options = dict(iterations=120, early_stopping="holdout", patience=20, progress=False, seed=4, ema=0.9)
    sweep = reconstruct(y[0], A, prior, tv_weight=weights, **options)
    assert sweep.image.shape == (len(weights), *A.in_shape)
    for i, weight in enumerate(weights):
        alone = reconstruct(y[0], A, prior, tv_weight=weight, **options)
        assert sweep[i].params["tv_weight"] == weight
        assert sweep[i].stop_iteration == alone.stop_iteration
        assert sweep[i].history["holdout_loss"] == pytest.approx(alone.history["holdout_loss"], rel=1e-9)
        assert _relative(sweep.image[i], alone.image) < 1e-10


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("options", [dict(ema=0.9), dict(ensemble=2), dict(ema=0.95, ensemble=2)])
def test_held_out_residual_is_that_of_the_returned_average(options):
    """The engine averages A(x) alongside x instead of applying A to the average: the recorded
    held-out residual must still be the returned image's."""
    A, y = _problems(1)
    result = reconstruct(y[0], A, "deep-decoder", iterations=80, early_stopping="holdout", patience=None,
                         progress=False, seed=1, **options)
    split = split_measurements(A, y[0], 0.1, seed=1)
    recorded = result.history["holdout_loss"][result.stop_iteration]
    assert float(split.held_residual(result.image)) == pytest.approx(recorded, rel=1e-9)
