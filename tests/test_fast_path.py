"""The fast paths compute the authors' networks: the Deep Decoder's ``deep_decoder.decode`` and the
ConvDecoder's channels-last evaluation.

Compared with the papers' ``nn.Sequential`` (``csprior.benchmarks.reference_models``) from the
same seed: outputs, gradients and ten Adam steps, the hand-written backward pass by ``gradcheck``,
the upsampling variants against the layer-by-layer blocks, and the architecture of
``DeepDecoder(out_shape, channels=64, depth=5, upsample="bilinear")``.
"""
import pytest
import torch
import torch.nn.functional as F

from csprior.benchmarks.reference_models import copy_parameters, reference_conv_decoder, reference_deep_decoder
from csprior.generators import ConvDecoder, DeepDecoder
from csprior.generators.deep_decoder import _pixel_products, _pointwise, _ReluNormLinear

LINEAR_KERNEL = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 16


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm())


def _pair(side: int, channels: int, depth: int, out_channels: int = 1, seed: int = 0):
    ours = DeepDecoder((side, side), channels=channels, depth=depth, out_channels=out_channels, seed=seed)
    reference = reference_deep_decoder(channels, depth, out_channels=out_channels)
    copy_parameters(ours, reference)
    return ours, reference


def _adam_fit(model, net_input, target, steps=10):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        output = model() if net_input is None else model(net_input)
        F.mse_loss(output, target).backward()
        optimizer.step()
    with torch.no_grad():
        return model() if net_input is None else model(net_input)


def test_authors_architecture_depth_and_input_size():
    model = DeepDecoder((256, 256), channels=64, depth=5, upsample="bilinear")
    assert model.net_input.shape == (1, 64, 256 // 2 ** 5, 256 // 2 ** 5)
    assert len(model.blocks) == 5 + 1
    assert model.sizes == [(8 * 2 ** i, 8 * 2 ** i) for i in range(6)]
    reference = reference_deep_decoder(64, 5)
    assert model.n_parameters == sum(p.numel() for p in reference.parameters())
    assert model.n_parameters == 6 * (64 ** 2 + 2 * 64) + 64


@pytest.mark.parametrize("channels, depth, side, dtype", [(64, 5, 64, torch.float64), (8, 3, 48, torch.float32)])
def test_fast_path_equals_reference_after_ten_adam_steps(channels, depth, side, dtype):
    # At 64 channels a float32 fit is chaotic at the 1e-4 level: Adam gives rounding-size gradients
    # (dead ReLU channels) full-size steps and a ReLU input within rounding of 0 flips its mask, so the
    # reference in float32 already ends ~1e-3 to 5e-2 away from itself in float64 after ten steps.
    # That case is compared in float64 (the function), the small one in float32 (the rounding).
    ours, reference = _pair(side, channels, depth, seed=3)
    ours, reference = ours.to(dtype), reference.to(dtype)
    target = torch.rand(1, 1, side, side, generator=torch.Generator().manual_seed(1), dtype=dtype)
    with torch.no_grad():
        assert _relative(ours(), reference(ours.net_input)) < 1e-5
    start = ours().detach()
    fitted = _adam_fit(ours, None, target)
    assert _relative(fitted, _adam_fit(reference, ours.net_input, target)) < 1e-4
    assert _relative(fitted, start) > 1e-3  # the steps moved the output well beyond the tolerance


def test_float32_forward_at_the_authors_size_equals_reference():
    ours, reference = _pair(256, 64, 5, seed=0)
    with torch.no_grad():
        assert _relative(ours(), reference(ours.net_input)) < 1e-5


# 256²: one instance's input gradient takes oneDNN's convolution from _CONV_INPUT_GRAD_PIXELS up
@pytest.mark.parametrize("side, dtype, tolerance", [(32, torch.float64, 1e-10), (32, torch.float32, 1e-4),
                                                    (256, torch.float64, 1e-10)])
def test_fast_path_gradients_equal_reference_gradients(side, dtype, tolerance):
    ours, reference = _pair(side, 16, 3, out_channels=2, seed=4)
    ours, reference = ours.to(dtype), reference.to(dtype)
    target = torch.rand(1, 2, side, side, generator=torch.Generator().manual_seed(2), dtype=dtype)
    F.mse_loss(ours(), target).backward()
    F.mse_loss(reference(ours.net_input), target).backward()
    for ours_p, reference_p in zip(ours.parameters(), reference.parameters()):
        assert _relative(ours_p.grad, reference_p.grad) < tolerance


@pytest.mark.parametrize("batch", [1, 2], ids=["one instance (1×1 convolutions)", "stacked (batched products)"])
def test_hand_written_backward_passes_gradcheck(batch):
    gen = torch.Generator().manual_seed(0)
    channels, out = 16, 16  # enough channels for the one-instance oneDNN path (_CONV_MIN_CHANNELS)
    u = torch.randn(batch, channels, 7, 5, dtype=torch.float64, generator=gen)
    u = u.contiguous(memory_format=torch.channels_last).requires_grad_()
    gamma = torch.rand(batch, channels, dtype=torch.float64, generator=gen).add_(0.5).requires_grad_()
    beta = torch.randn(batch, channels, dtype=torch.float64, generator=gen, requires_grad=True)
    weight = torch.randn(batch, out, channels, dtype=torch.float64, generator=gen, requires_grad=True)

    def function(u, gamma, beta, weight):
        # the forward pass rectifies its input in place, so gradcheck feeds it a fresh copy
        return _ReluNormLinear.apply(u.clone(), gamma, beta, weight, 1e-5)[0]
    assert torch.autograd.gradcheck(function, (u, gamma, beta, weight))


@pytest.mark.parametrize("batch, side", [(1, 8), (1, 128), (3, 8), (3, 128)])
def test_pointwise_convolution_paths_equal_the_product(batch, side):
    # one instance: a convolution; stacked: batched products below 128², a convolution each from 128²
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 16, side, side, dtype=torch.float64, generator=gen).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(batch, 24, 16, dtype=torch.float64, generator=gen)
    bias = torch.randn(batch, 24, dtype=torch.float64, generator=gen)
    got = _pointwise(x, weight, bias)
    expected = torch.einsum("boc,bchw->bohw", weight, x) + bias[:, :, None, None]
    assert got.is_contiguous(memory_format=torch.channels_last) and got._base is None
    assert _relative(got, expected) < 1e-12


def test_weight_gradient_by_onednn_equals_the_batched_product():
    # from 64² pixels in float32 the weight gradient comes from oneDNN's convolution backward
    gen = torch.Generator().manual_seed(0)
    grad = torch.randn(1, 3, 64, 64, generator=gen).contiguous(memory_format=torch.channels_last)
    x = torch.randn(1, 5, 64, 64, generator=gen).contiguous(memory_format=torch.channels_last)
    expected = torch.einsum("bohw,bchw->boc", grad.double(), x.double())
    batched_product = torch.bmm(grad.flatten(2), x.flatten(2).transpose(1, 2))  # the float32 path below 64²
    # float32 sums of 4096 products: the two orders of summation err alike
    assert _relative(_pixel_products(grad, x).double(), expected) < 4 * _relative(batched_product.double(), expected)


@pytest.mark.parametrize("upsample", ["nearest", "bicubic", LINEAR_KERNEL], ids=["nearest", "bicubic", "kernel"])
@pytest.mark.parametrize("shape", [(32, 32), (27, 21)])
def test_fast_path_equals_layer_by_layer_blocks(upsample, shape):
    model = DeepDecoder(shape, channels=6, depth=3, out_channels=2, upsample=upsample, seed=1)
    x = model.net_input
    for block, size in zip(model.blocks[:-1], model.sizes[1:]):
        x = block(x, model.upsample, size)
    expected = torch.sigmoid(model.output(model.blocks[-1](x)))
    with torch.no_grad():
        assert _relative(model(), expected) < 1e-5


@pytest.mark.parametrize("channels, side, dtype, in_size", [(64, 40, torch.float64, None),
                                                            (6, 24, torch.float32, None),
                                                            (16, 64, torch.float64, (1, 1))])
def test_conv_decoder_fast_path_equals_reference_after_ten_adam_steps(channels, side, dtype, in_size):
    # 64 channels in float64 for the reason given above (in float32 the reference is already ~4e-2
    # away from itself in float64 after five steps); in_size (1, 1) doubles every layer (the
    # coarse-grid path of nearest_conv)
    ours = ConvDecoder((side, side), channels=channels, layers=7, out_channels=2, seed=6,
                       in_size=in_size).to(dtype)
    reference = reference_conv_decoder(ours.sizes, channels, out_channels=2).to(dtype)
    copy_parameters(ours, reference)
    target = torch.randn(1, 2, side, side, generator=torch.Generator().manual_seed(3), dtype=dtype)
    with torch.no_grad():
        assert _relative(ours(), reference(ours.net_input)) < 1e-5
        start = ours()
    fitted = _adam_fit(ours, None, target)
    assert fitted.is_contiguous()
    assert _relative(fitted, _adam_fit(reference, ours.net_input, target)) < 1e-4
    assert _relative(fitted, start) > 1e-3
