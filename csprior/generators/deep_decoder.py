"""The Deep Decoder (Heckel & Hand, ICLR 2019): 1×1 convolutions, fixed upsampling, ReLU, BatchNorm.

Layer order, checked against the authors' ``decodernw`` (github reinhardh/supplement_deep_decoder,
``include/decoder.py``, defaults ``upsample_first=True``, ``bn_before_act=False``, ``bn_affine=True``)::

    z  (1, k, h0, w0), uniform in [0, 0.1)
    for i in 0 .. depth - 1:   1×1 conv k→k (no bias) → upsample ×2 → ReLU → BatchNorm(k)
    once, at full size:        1×1 conv k→k (no bias) → ReLU → BatchNorm(k)
    output:                    1×1 conv k→out_channels (no bias) → sigmoid (optional)

so ``num_channels_up=[k] * depth`` in the authors' call is ``DeepDecoder(channels=k, depth=depth)``:
``depth`` ×2 upsamplings and ``depth + 1`` blocks. The authors' ``conv`` has no bias and its
reflection padding is void for 1×1 kernels. BatchNorm uses the statistics of the current batch (the
authors never leave training mode); here ``track_running_stats=False`` makes that hold in
``eval()`` mode too. The authors' input is ``floor(H / 2**depth)`` pixels and doubles exactly;
here sizes follow ``halving_sizes`` (identical when ``2**depth`` divides ``H`` and ``W``, and exact
on ``out_shape`` otherwise).
Number of parameters: ``(depth + 1)(k² + 2k) + k·out_channels``.

How it is computed (``decode``, shared with ``csprior.generators.batched``): the same function,
evaluated in a cheaper order. Activations are kept channels-last (``(B, pixels, k)`` in memory), so
each 1×1 convolution is one oneDNN convolution per instance (or, for stacked instances on small
images, for the output layer and for the input gradient below 256², one batched matrix product,
the latter accumulated onto the gradient's per-channel terms). A BatchNorm followed by a 1×1
convolution is affine in its input, ``W (a ⊙ r + s) = (W diag a) r + W s`` with ``a = γ / σ`` and
``s = β - μ a`` per channel, so the normalised activations are never stored: ``_ReluNormLinear``
computes the batch statistics of ``r``, folds them into the next weight and writes its backward
pass out by hand (every reduction it needs comes from the one product ``gradᵀ r``). Only the
rounding differs from the layer-by-layer model (``tests/test_fast_path.py`` compares it with the authors' ``nn.Sequential``;
``python -m csprior.benchmarks.profile_fit`` shows where the time goes).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from .base import Generator, check_int, seeded
from .upsampling import FixedUpsample, halving_sizes


_SQUARES_CHUNK = 4096  # pixels × instances per chunk of the sum of squares: a temporary that stays in cache
# from this many pixels up oneDNN's weight gradient of a 1×1 convolution beats torch.bmm (speed.md, fourth run)
_CONV_WEIGHT_GRAD_PIXELS = 64 * 64
# stacked instances: from this many pixels up a convolution per instance, concatenated, beats torch.bmm
_STACKED_CONV_PIXELS = 128 * 128
# one instance: from this many pixels up the input gradient's product is oneDNN's convolution (speed.md, sixth run)
_CONV_INPUT_GRAD_PIXELS = 256 * 256
# with fewer channels on either side (the output layer) oneDNN switches to a slow plain layout
_CONV_MIN_CHANNELS = 16


class _ReluNormLinear(torch.autograd.Function):
    """``BatchNorm(ReLU(u))`` followed by a 1×1 convolution, per instance, with batch statistics.

    ``u`` is a channels-last ``(B, C, H, W)`` map, ``gamma``/``beta`` ``(B, C)``, ``weight``
    ``(B, C_out, C)``; returns the channels-last ``(B, C_out, H, W)`` map and ``u`` itself,
    rectified in place (it is the fresh output of the layer before, kept once for the backward pass
    of both operations). The variance is the mean of ``(r - E[r])²``, summed chunk by chunk after
    the mean (torch reduces fast along this layout; ``var_mean`` does not); centring keeps channels
    whose spread is small against their mean from losing digits.
    """

    @staticmethod
    def forward(ctx, u, gamma, beta, weight, eps):
        r = _pixels_by_channels(torch.relu_(u))
        ctx.mark_dirty(u)
        ctx.set_materialize_grads(False)
        pixels = r.shape[1]
        mean = r.sum(1) / pixels
        mean_row = mean.unsqueeze(1)
        chunk_pixels = max(1, _SQUARES_CHUNK // r.shape[0])  # the temporary holds every instance's chunk
        squares = sum((chunk - mean_row).square_().sum(1) for chunk in r.split(chunk_pixels, dim=1))
        invstd = torch.rsqrt(squares / pixels + eps)
        scale = gamma * invstd
        shift = beta - mean * scale
        folded = weight * scale.unsqueeze(1)
        out = _pointwise(u, folded, torch.bmm(weight, shift.unsqueeze(2)).squeeze(2))
        ctx.save_for_backward(u, weight, folded, mean, invstd, scale, shift)
        return out, u

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, _):
        if grad is None:  # the product was not used (grads are not materialised): nothing flows back
            return None, None, None, None, None
        u, weight, folded, mean, invstd, scale, shift = ctx.saved_tensors
        r = _pixels_by_channels(u)
        grad = grad.contiguous(memory_format=torch.channels_last)
        pixels = r.shape[1]
        grad_sum = _pixels_by_channels(grad).sum(1)
        cross = _pixel_products(grad, u)  # Σ_p grad[p, o] r[p, c]
        grad_weight = cross * scale.unsqueeze(1) + grad_sum.unsqueeze(2) * shift.unsqueeze(1)
        # g = grad @ weight is the gradient at the BatchNorm output; its sums over pixels are
        # Σ g = grad_sum @ weight and Σ g·r = Σ_o weight ⊙ cross, so g itself is never formed
        grad_beta = torch.bmm(grad_sum.unsqueeze(1), weight).squeeze(1)
        grad_gamma = invstd * ((weight * cross).sum(1) - mean * grad_beta)
        grad_u = None
        if ctx.needs_input_grad[0]:
            # BatchNorm backward scale·(g - mean(g) - n·mean(g n)) = grad @ folded + coef_1 + coef_r·r,
            # then ReLU's mask in place
            coef_r = -scale * invstd * grad_gamma / pixels
            coef_1 = -scale * grad_beta / pixels - coef_r * mean
            grad_u = _affine_plus_product(grad, folded, coef_1, coef_r, u)
            grad_r = _pixels_by_channels(grad_u)
            torch.ops.aten.threshold_backward.grad_input(grad_r, r, 0, grad_input=grad_r)
        return grad_u, grad_gamma, grad_beta, grad_weight, None


def _affine_plus_product(grad: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, scale: torch.Tensor,
                         x: torch.Tensor) -> torch.Tensor:
    """``grad @ weight + bias + scale ⊙ x`` per instance, a new channels-last ``(B, C, H, W)`` map, of
    channels-last ``grad`` ``(B, C_out, H, W)``, ``weight`` ``(B, C_out, C)``, ``bias`` and ``scale``
    ``(B, C)`` and ``x`` ``(B, C, H, W)``."""
    batch, _, height, width = x.shape
    if batch == 1 and height * width >= _CONV_INPUT_GRAD_PIXELS:
        out = _pointwise(grad, weight.transpose(1, 2), bias)
        _pixels_by_channels(out).addcmul_(_pixels_by_channels(x), scale.unsqueeze(1))
        return out
    # the per-channel terms first, the product accumulated onto them: one pass over the map fewer
    # (3-7 % of an iteration of stacked instances or of one instance below 256², speed.md, sixth run)
    out = torch.empty_like(x)
    flat = _pixels_by_channels(out)
    torch.addcmul(bias.unsqueeze(1), _pixels_by_channels(x), scale.unsqueeze(1), out=flat)
    flat.baddbmm_(_pixels_by_channels(grad), weight)
    return out


def _pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Per-instance 1×1 convolution: channels-last ``x`` ``(B, C, H, W)``, ``weight`` ``(B, C_out, C)``,
    ``bias`` ``(B, C_out)``; returns a new channels-last ``(B, C_out, H, W)`` tensor (not a view)."""
    batch, _, height, width = x.shape
    if x.device.type == "cpu" and min(weight.shape[1:]) >= _CONV_MIN_CHANNELS \
            and (batch == 1 or height * width >= _STACKED_CONV_PIXELS):
        # oneDNN's channels-last 1×1 convolution runs 2-3× the GEMM rate of torch.bmm on this layout
        # (benchmarks/results/speed.md, fourth run); stacked instances pay a concatenation for it.
        # Not measured on GPUs, which keep the batched products
        outs = [F.conv2d(x[b:b + 1], weight[b, :, :, None, None], bias[b]) for b in range(batch)]
        return (outs[0] if batch == 1 else torch.cat(outs)).contiguous(memory_format=torch.channels_last)
    out = torch.empty((batch, weight.shape[1], height, width), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    torch.baddbmm(bias.unsqueeze(1), _pixels_by_channels(x), weight.transpose(1, 2), out=_pixels_by_channels(out))
    return out


def _pixel_products(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``Σ_p grad[b, o, p] x[b, c, p]`` ``(B, C_out, C)`` of channels-last ``grad`` ``(B, C_out, H, W)``
    and ``x`` ``(B, C, H, W)``: the weight gradient of a 1×1 convolution."""
    batch, channels, height, width = x.shape
    # one instance: oneDNN's weight gradient from 64² pixels up; stacked: the batched product (as
    # fast as a convolution per instance on the engine's default, measured)
    if batch == 1 and height * width >= _CONV_WEIGHT_GRAD_PIXELS and min(grad.shape[1], channels) >= _CONV_MIN_CHANNELS \
            and x.device.type == "cpu" and x.dtype == torch.float32:
        weight_like = x.new_empty((grad.shape[1], channels, 1, 1))  # only its shape is read
        products = torch.ops.aten.convolution_backward(grad, x, weight_like, None, [1, 1], [0, 0], [1, 1], False,
                                                       [0, 0], 1, [False, True, False])[1]
        return products.view(1, grad.shape[1], channels)
    return torch.bmm(_pixels_by_channels(grad).transpose(1, 2), _pixels_by_channels(x))


def _pixels_by_channels(x: torch.Tensor) -> torch.Tensor:
    """``(B, N, C)`` view of a channels-last ``(B, C, H, W)`` map (a copy if it is not channels-last)."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1])


def decode(z: torch.Tensor, conv_weights: Sequence[torch.Tensor], norm_weights: Sequence[torch.Tensor],
           norm_biases: Sequence[torch.Tensor], output_weight: torch.Tensor, sizes: Sequence[tuple[int, int]],
           upsample: FixedUpsample, eps: float) -> torch.Tensor:
    """The Deep Decoder of ``B`` instances at once (before the sigmoid).

    Args:
        z: inputs ``(B, k, *sizes[0])``.
        conv_weights: ``depth + 1`` tensors ``(B, k, k)`` (out, in), block ``i`` acting at ``sizes[i]``.
        norm_weights, norm_biases: ``depth + 1`` tensors ``(B, k)``, the BatchNorm affine parameters.
        output_weight: ``(B, out_channels, k)``.
        sizes: ``depth + 1`` spatial sizes (``halving_sizes``).
        upsample: the fixed upsampling from ``sizes[i]`` to ``sizes[i + 1]``.
        eps: BatchNorm's epsilon.

    Returns ``(B, out_channels, *sizes[-1])`` of ``z``'s dtype (channels-last strides).
    """
    batch = z.shape[0]
    # the first layer acts on the small input: one batched product, viewed channels-last
    x = torch.bmm(_pixels_by_channels(z.contiguous(memory_format=torch.channels_last)), conv_weights[0].transpose(1, 2))
    x = x.view(batch, *sizes[0], -1).permute(0, 3, 1, 2)
    next_weights = [*conv_weights[1:], output_weight]
    for i, (gamma, beta, weight) in enumerate(zip(norm_weights, norm_biases, next_weights)):
        if i + 1 < len(sizes):
            x = upsample(x, sizes[i + 1])
        if x._base is not None:  # a view (the first layer's, the kernel upsampling's crop): the ReLU works in place
            x = x.clone(memory_format=torch.channels_last)
        x, _ = _ReluNormLinear.apply(x, gamma, beta, weight, eps)
    return x


class DeepDecoderBlock(nn.Module):
    """1×1 conv (no bias) → optional fixed upsampling → ReLU → BatchNorm on ``(1, k, h, w)``.

    ``DeepDecoder`` holds its parameters in these blocks but evaluates them together in ``decode``;
    the layer-by-layer ``forward`` serves the ablations (``csprior.generators.ablations``).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.norm = nn.BatchNorm2d(channels, track_running_stats=False)

    def forward(self, x: torch.Tensor, upsample: FixedUpsample | None = None,
                size: tuple[int, int] | None = None) -> torch.Tensor:
        """``(1, k, h, w)`` → ``(1, k, *size)`` through ``upsample``, or ``(1, k, h, w)`` without it."""
        x = self.conv(x)
        if upsample is not None:
            x = upsample(x, size)
        # x is a fresh tensor that neither conv nor upsampling needs for backward: ReLU in place
        return self.norm(torch.relu_(x))


class DeepDecoder(Generator):
    """Deep Decoder generator (see module docstring for the exact layers).

    Args:
        out_shape: output size ``(H, W)``; any size with ``min(H, W) >= 2**depth``.
        channels: channels ``k`` of every layer (the input has ``k`` channels too).
        depth: number of ×2 upsamplings (``depth + 1`` blocks); 0 gives a per-pixel network.
        out_channels: output channels (1 gray, 3 RGB, 2 per complex image).
        upsample: ``"bilinear"`` (authors), ``"nearest"``, ``"bicubic"`` or a fixed 2-D kernel tensor.
        sigmoid: map the output to [0, 1] (natural images); False for complex/MRI outputs.
        seed: seeds the input and the weights.

    ``forward()`` returns ``(1, out_channels, H, W)`` float32.
    """

    def __init__(self, out_shape: Sequence[int], channels: int = 64, depth: int = 5, out_channels: int = 1,
                 upsample="bilinear", sigmoid: bool = True, seed: int = 0):
        super().__init__(out_shape, out_channels, sigmoid)
        self.channels = check_int("channels", channels)
        self.depth = check_int("depth", depth, least=0)
        self.upsample = FixedUpsample(upsample)
        self.sizes = halving_sizes(self.out_shape, depth)
        with seeded(seed):
            self.blocks = nn.ModuleList(DeepDecoderBlock(channels) for _ in range(depth + 1))
            self.output = nn.Conv2d(channels, out_channels, 1, bias=False)
            self.set_input(channels, self.sizes[0])

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        k = self.channels
        out = decode(z, [block.conv.weight.view(1, k, k) for block in self.blocks],
                     [block.norm.weight.view(1, k) for block in self.blocks],
                     [block.norm.bias.view(1, k) for block in self.blocks],
                     self.output.weight.view(1, self.out_channels, k), self.sizes, self.upsample,
                     self.blocks[0].norm.eps)
        return out.contiguous()
