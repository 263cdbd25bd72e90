"""The coarse-grid evaluation of a k×k convolution of a ×2 nearest-upsampled image
(``csprior.generators.nearest_conv``) equals upsampling then convolving, values and gradients."""
import pytest
import torch
import torch.nn.functional as F

from csprior.generators import ConvDecoder
from csprior.generators.nearest_conv import doubles, upsample2x_conv


def _upsample_then_conv(x, weight, bias, groups):
    upsampled = F.interpolate(x, scale_factor=2, mode="nearest")
    return F.conv2d(upsampled, weight, bias, padding=weight.shape[-1] // 2, groups=groups)


@pytest.mark.parametrize("kernel_size", [3, 5])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("with_bias", [False, True])
def test_values_and_gradients_equal_upsampling_then_convolving(kernel_size, groups, with_bias):
    torch.manual_seed(kernel_size + 10 * groups)
    x = torch.randn(1, 3 * groups, 5, 7, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(4 * groups, 3, kernel_size, kernel_size, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4 * groups, dtype=torch.float64, requires_grad=True) if with_bias else None
    ours = upsample2x_conv(x, weight, bias, groups)
    expected = _upsample_then_conv(x, weight, bias, groups)
    assert ours.shape == (1, 4 * groups, 10, 14)
    assert ours.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(ours, expected, rtol=1e-12, atol=1e-12)
    upstream = torch.randn_like(expected)
    inputs = [t for t in (x, weight, bias) if t is not None]
    ours_grads = torch.autograd.grad((torch.relu(ours) * upstream).sum(), inputs)
    expected_grads = torch.autograd.grad((torch.relu(expected) * upstream).sum(), inputs)
    for got, want in zip(ours_grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_passes_gradcheck():
    torch.manual_seed(1)
    x = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(upsample2x_conv, (x, weight, bias))


def test_rejects_a_batch_and_an_even_kernel():
    with pytest.raises(ValueError, match="x must hold one image"):
        upsample2x_conv(torch.zeros(2, 1, 3, 3), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="odd size"):
        upsample2x_conv(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2))


def test_conv_decoder_takes_the_coarse_path_only_where_a_layer_doubles():
    doubling = ConvDecoder((64, 64), channels=4, layers=7, in_size=(1, 1))
    sizes = [doubling.in_size, *doubling.sizes]
    assert all(doubles(a, b) for a, b in zip(sizes, sizes[1:]))
    default = ConvDecoder((64, 64), channels=4, layers=7)
    sizes = [default.in_size, *default.sizes]
    assert not any(doubles(a, b) for a, b in zip(sizes, sizes[1:]))
