"""Generators: shapes for any size, seeding, parameter counts, fixed filters, Jacobian, errors, and
equality with the papers' nn.Sequential reference models."""
import copy

import pytest
import torch
import torch.nn.functional as F

from csprior.benchmarks.reference_models import (copy_parameters, reference_conv_decoder,
                                                 reference_deep_decoder)
from csprior.generators import (ConvDecoder, ConvNet3x3, DeepDecoder, DeepImagePrior, FixedUpsample,
                                TransposedConvDecoder, TwoLayerGenerator, build_generator)
from csprior.generators.registry import deep_decoder_depth, dip_scales

LINEAR_KERNEL = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 16

# small configurations of every image generator: factory(out_shape, out_channels, seed)
FACTORIES = {
    "deep-decoder": lambda s, c, seed: DeepDecoder(s, channels=4, depth=2, out_channels=c, seed=seed),
    "deep-decoder-kernel": lambda s, c, seed: DeepDecoder(s, channels=4, depth=2, out_channels=c,
                                                          upsample=LINEAR_KERNEL, seed=seed),
    "deep-decoder-nearest": lambda s, c, seed: DeepDecoder(s, channels=4, depth=2, out_channels=c,
                                                           upsample="nearest", seed=seed),
    "conv-decoder": lambda s, c, seed: ConvDecoder(s, channels=4, layers=3, out_channels=c, sigmoid=True,
                                                   seed=seed),
    "dip": lambda s, c, seed: DeepImagePrior(s, in_channels=3, out_channels=c, channels_down=(4, 4),
                                             channels_up=(4, 4), channels_skip=(2, 0), seed=seed),
    "transposed": lambda s, c, seed: TransposedConvDecoder(s, channels=4, depth=2, out_channels=c, seed=seed),
    "conv3x3": lambda s, c, seed: ConvNet3x3(s, channels=4, layers=2, out_channels=c, seed=seed),
}
SHAPES = [(8, 8), (12, 20), (17, 23)]


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("shape", SHAPES)
def test_output_shape_dtype_and_range(name, shape):
    generator = FACTORIES[name](shape, 3, 0)
    out = generator()
    assert out.shape == (1, 3, *shape) and out.dtype == torch.float32
    assert generator.out_shape == shape and generator.out_channels == 3
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1  # sigmoid outputs
    out.sum().backward()
    assert all(p.grad is not None for p in generator.parameters())


def test_registry_builds_each_name_for_odd_sizes_with_papers_defaults():
    for shape in [(17, 23), (40, 33)]:
        for name in ("deep-decoder", "conv-decoder", "dip"):
            out = build_generator(name, shape, out_channels=2, sigmoid=False, seed=1)()
            assert out.shape == (1, 2, *shape)
    decoder = build_generator("deep-decoder", (96, 96))
    assert decoder.depth == 4 and decoder.channels == 64 and decoder.sigmoid  # coarse grid 6×6 ≥ 4
    assert build_generator("deep-decoder", (512, 512)).depth == 5
    assert build_generator("deep-decoder", (96, 96), depth=2).depth == 2
    assert not build_generator("conv-decoder", (64, 48)).sigmoid
    assert [deep_decoder_depth((s, s)) for s in (3, 8, 15, 16, 127, 128, 4096)] == [0, 1, 1, 2, 4, 5, 5]
    assert [dip_scales((s, s)) for s in (3, 4, 5, 32, 33, 512)] == [1, 1, 2, 4, 5, 5]


def test_convdecoder_sizes_follow_the_authors_schedule():
    # fastMRI's 640×368 gives the authors' in_size [8, 4]
    assert ConvDecoder((640, 368), channels=1, layers=8).in_size == (8, 4)
    # from 8×4 to 128×64 in 4 steps the sizes double; 100×100 from 8×8 grows by 12.5^(1/3)
    assert ConvDecoder((128, 64), channels=1, layers=5).sizes == [(16, 8), (32, 16), (64, 32), (128, 64)]
    assert ConvDecoder((100, 100), channels=1, layers=4).sizes == [(19, 19), (44, 44), (100, 100)]


@pytest.mark.parametrize("name", FACTORIES)
def test_seed_determines_input_and_weights_and_leaves_global_rng(name):
    state = torch.get_rng_state()
    first, second = FACTORIES[name]((12, 20), 1, 3), FACTORIES[name]((12, 20), 1, 3)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first(), second())
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), key
    other = FACTORIES[name]((12, 20), 1, 4)
    assert not torch.equal(first.net_input, other.net_input)
    assert not torch.equal(first(), other())


def test_deep_decoder_parameter_count_by_hand():
    # depth 2 → 3 blocks, each a 4×4 1×1 conv (16) and BatchNorm γ, β (8); output conv 4·3 = 12
    decoder = DeepDecoder((16, 16), channels=4, depth=2, out_channels=3)
    assert decoder.n_parameters == 3 * (16 + 8) + 12 == 84
    assert decoder.net_input.shape == (1, 4, 4, 4)
    # ConvDecoder: 3 layers of 3×3 4→4 convs (144) + BatchNorm (8), output 1×1 conv 4·2 = 8
    assert ConvDecoder((16, 16), channels=4, layers=3).n_parameters == 3 * (144 + 8) + 8
    # transposed: 2 of 4×4 kernels 4→4 (256) + BN (8), full-size 1×1 block (16 + 8), output 4
    assert TransposedConvDecoder((16, 16), channels=4, depth=2).n_parameters == 2 * (256 + 8) + 24 + 4
    assert ConvNet3x3((16, 16), channels=4, layers=2).n_parameters == 2 * (144 + 8) + 4


def test_fixed_upsampling_kernel_is_a_buffer_and_is_not_trained():
    bilinear = DeepDecoder((16, 16), channels=4, depth=2)
    kernel = DeepDecoder((16, 16), channels=4, depth=2, upsample=LINEAR_KERNEL)
    assert kernel.n_parameters == bilinear.n_parameters
    assert all(p.data_ptr() != kernel.upsample.kernel.data_ptr() for p in kernel.parameters())
    assert not kernel.upsample.kernel.requires_grad
    optimizer = torch.optim.Adam(kernel.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        F.mse_loss(kernel(), torch.rand(1, 1, 16, 16)).backward()
        optimizer.step()
    assert torch.equal(kernel.upsample.kernel, LINEAR_KERNEL)


def test_user_kernel_interpolates_like_bilinear_away_from_the_border():
    x = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    by_kernel = FixedUpsample(LINEAR_KERNEL)(x, (12, 14))
    by_bilinear = F.interpolate(x, size=(12, 14), mode="bilinear", align_corners=False)
    assert torch.allclose(by_kernel[..., 1:-1, 1:-1], by_bilinear[..., 1:-1, 1:-1], atol=1e-6)
    # an odd target keeps the first rows; a 3-tap kernel (odd size) doubles exactly as well
    assert FixedUpsample(LINEAR_KERNEL)(x, (11, 13)).shape == (1, 3, 11, 13)
    triangle = torch.outer(torch.tensor([0.5, 1, 0.5]), torch.tensor([0.5, 1, 0.5]))
    constant = FixedUpsample(triangle)(torch.ones(1, 1, 5, 5), (10, 10))
    assert torch.allclose(constant[..., 1:-1, 1:-1], torch.ones(8, 8))


def test_forward_input_override_and_eval_mode_use_batch_statistics():
    decoder = DeepDecoder((16, 16), channels=4, depth=2)
    assert torch.equal(decoder(decoder.net_input.clone()), decoder())
    assert not torch.equal(decoder(decoder.net_input + 0.05), decoder())
    train_out = decoder()
    assert torch.equal(decoder.eval()(), train_out)
    with pytest.raises(ValueError, match="input must have the shape of net_input"):
        decoder(torch.rand(1, 4, 5, 5))


def _fit_ten_adam_steps(model, net_input, target):
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(10):
        optimizer.zero_grad()
        F.mse_loss(model(net_input), target).backward()
        optimizer.step()
    with torch.no_grad():
        return model(net_input)


def _relative(a, b):
    return float((a - b).detach().norm() / b.detach().norm())


def test_deep_decoder_equals_the_authors_sequential_model():
    ours = DeepDecoder((64, 64), channels=8, depth=3, out_channels=2, seed=5)  # channels-last path
    reference = reference_deep_decoder(8, 3, out_channels=2)
    copy_parameters(ours, reference)
    with torch.no_grad():
        assert _relative(ours(), reference(ours.net_input)) < 1e-5
    # float64 so that a different summation order (channels-last on the CPU) is not amplified by
    # Adam's normalisation of near-zero gradients
    ours, reference = ours.double(), reference.double()
    target = torch.rand(1, 2, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fitted = _fit_ten_adam_steps(ours, None, target)
    assert _relative(fitted, _fit_ten_adam_steps(reference, ours.net_input, target)) < 1e-4
    assert _relative(fitted, ours()) > 1e-3  # the ten steps did change the output


def test_conv_decoder_equals_the_authors_sequential_model():
    ours = ConvDecoder((24, 20), channels=6, layers=4, out_channels=2, seed=2)
    reference = reference_conv_decoder(ours.sizes, 6, out_channels=2)
    copy_parameters(ours, reference)
    target = torch.randn(1, 2, 24, 20, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert _relative(ours(), reference(ours.net_input)) < 1e-5  # channels-last: other summation order
    fitted = _fit_ten_adam_steps(ours, None, target)
    assert _relative(fitted, _fit_ten_adam_steps(reference, ours.net_input, target)) < 1e-4
    assert _relative(fitted, ours()) > 1e-3


def _dense_circulant(filter_, n):
    centred = torch.zeros(n, dtype=torch.float64)
    centred[:len(filter_)] = filter_
    centred = torch.roll(centred, -(len(filter_) // 2))
    return torch.stack([torch.roll(centred, shift) for shift in range(n)], dim=1)  # U[i, l] = u[i - l]


def test_two_layer_generator_matches_its_definition_and_autograd_jacobian():
    filter_ = torch.tensor([1.0, 2.0, 1.0])
    model = TwoLayerGenerator(10, 4, filter_, seed=1)
    U = _dense_circulant(filter_.double(), 10)
    assert torch.allclose(model.circulant().double(), U, atol=1e-6)
    expected = torch.relu(U @ model.weight.double().T) @ torch.tensor([1, 1, -1, -1.0]).double() / 2
    assert model().shape == (1, 1, 10) and torch.allclose(model()[0, 0].double(), expected, atol=1e-5)
    assert model.n_parameters == 40
    autograd = torch.func.jacrev(lambda C: model(C).flatten())(model.weight.detach()).reshape(10, 40)
    assert torch.allclose(model.jacobian(), autograd, atol=1e-6)


def test_two_layer_generator_in_2d():
    model = TwoLayerGenerator((5, 6), 3, torch.ones(3, 2) / 6, seed=0)
    assert model().shape == (1, 1, 5, 6) and model.n_parameters == 90
    autograd = torch.func.jacrev(lambda C: model(C).flatten())(model.weight.detach()).reshape(30, 90)
    assert torch.allclose(model.jacobian(), autograd, atol=1e-6)
    assert torch.equal(model.v, torch.tensor([1.0, 1.0, -1.0]) / 3 ** 0.5)


@pytest.mark.parametrize("make, message", [
    (lambda: DeepDecoder((8, 12), depth=4), "too small for depth=4"),
    (lambda: DeepDecoder((16, 16), upsample="lanczos"), "upsample must be one of"),
    (lambda: DeepDecoder((16, 16), upsample=torch.ones(3)), "upsample kernel must be a finite 2-D"),
    (lambda: DeepDecoder((16, 16), channels=0), "channels must be an int >= 1"),
    (lambda: DeepDecoder((16, 16), depth=-1), "depth must be an int >= 0"),
    (lambda: DeepDecoder((16, 0)), "out_shape must hold positive ints"),
    (lambda: DeepDecoder((4, 4, 4)), "out_shape must have 2 entries"),
    (lambda: ConvDecoder((16, 16), channels=-2), "channels must be an int >= 1"),
    (lambda: ConvDecoder((16, 16), kernel_size=4), "kernel_size must be odd"),
    (lambda: ConvDecoder((16, 16), layers=1), "layers must be at least 2"),
    (lambda: ConvDecoder((16, 16), in_size=(20, 4)), "must not exceed out_shape"),
    (lambda: DeepImagePrior((32, 40)), "too small for 5 scales"),
    (lambda: DeepImagePrior((64, 64), channels_down=(4,), channels_up=(4, 4), channels_skip=(4, 4)),
     "equal length"),
    (lambda: DeepImagePrior((64, 64), upsample="cubic"), "upsample must be"),
    (lambda: TransposedConvDecoder((4, 4), depth=3), "too small for depth=3"),
    (lambda: TwoLayerGenerator(8, 0, torch.ones(3)), "k must be an int >= 1"),
    (lambda: TwoLayerGenerator(8, 2, torch.ones(2, 2)), "filter must be a real 1-D tensor"),
    (lambda: TwoLayerGenerator(4, 2, torch.ones(5)), "at most"),
    (lambda: build_generator("unet", (16, 16)), "name must be one of"),
    (lambda: build_generator("dip", (2, 9)), "too small for the Deep Image Prior"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_argument_types_raise_type_errors():
    with pytest.raises(TypeError, match="channels must be an int"):
        DeepDecoder((16, 16), channels=4.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        DeepDecoder((16, 16), depth=2, seed="0")
    with pytest.raises(TypeError, match="sigmoid must be a bool"):
        ConvDecoder((16, 16), sigmoid=None)
