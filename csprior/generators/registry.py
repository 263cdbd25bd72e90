"""Build a generator by name with the papers' defaults, adapted to the image size.

==================  =====================================================================
name                defaults (overridable by keyword)
==================  =====================================================================
``"deep-decoder"``  ``DeepDecoder``: 64 channels and depth 5 (Heckel & Hand's k = 64, five
                    ×2 upsamplings), bilinear upsampling, sigmoid; the depth is lowered so
                    that the input keeps at least 4 pixels per side:
                    ``depth = min(5, floor(log2(min(H, W) / 4)))`` (0 below 8 pixels).
``"conv-decoder"``  ``ConvDecoder``: 64 channels, 7 layers, 3×3 kernels, nearest upsampling
                    from ``default_in_size`` (8 pixels along the longer side), no sigmoid
                    (Darestani & Heckel; their fastMRI scripts use 8 layers and 160-256
                    channels, pass ``layers``/``channels`` for those).
``"dip"``           ``DeepImagePrior``: Ulyanov et al.'s denoising configuration (32 input
                    channels, ``[128] * 5`` down/up, ``[4] * 5`` skip, bilinear, sigmoid); the
                    number of scales is lowered to the largest ``s ≤ 5`` with
                    ``min(H, W) > 2**s`` (images of at least 3 pixels per side).
==================  =====================================================================

``sigmoid=None`` keeps each generator's own default; the reconstruction engine passes ``True`` for
real images and ``False`` for complex (MRI) outputs.
"""
from __future__ import annotations

from collections.abc import Sequence

from .base import Generator, check_shape
from .conv_decoder import ConvDecoder
from .deep_decoder import DeepDecoder
from .dip import DeepImagePrior

GENERATORS = ("deep-decoder", "conv-decoder", "dip")
_MAX_DEPTH = 5
_MIN_COARSE_SIDE = 4
_DIP_SCALES = 5


def deep_decoder_depth(out_shape: Sequence[int]) -> int:
    """Largest depth ≤ 5 that leaves the Deep Decoder's input at least 4 pixels per side."""
    coarse_blocks = min(out_shape) // _MIN_COARSE_SIDE  # floor(log2(side / 4)) = bit_length - 1
    return min(_MAX_DEPTH, max(0, coarse_blocks.bit_length() - 1))


def dip_scales(out_shape: Sequence[int]) -> int:
    """Largest number of scales ≤ 5 with ``min(out_shape) > 2**scales``; ValueError below 3 pixels."""
    side = min(out_shape)
    if side < 3:
        raise ValueError(f"out_shape {tuple(out_shape)} is too small for the Deep Image Prior: "
                         f"both sides must be at least 3")
    return min(_DIP_SCALES, (side - 1).bit_length() - 1)  # largest s with 2**s < side


def build_generator(name: str, out_shape: Sequence[int], out_channels: int = 1, *, sigmoid: bool | None = None,
                    seed: int = 0, **kwargs) -> Generator:
    """A generator ``name`` whose ``forward()`` returns ``(1, out_channels, *out_shape)`` float32.

    Args:
        name: ``"deep-decoder"``, ``"conv-decoder"`` or ``"dip"``.
        out_shape: output size ``(H, W)``.
        out_channels: output channels (1 gray, 3 RGB, 2 per complex image).
        sigmoid: output in [0, 1]; None keeps the generator's default.
        seed: seeds the fixed input and the weights.
        **kwargs: constructor arguments that replace the defaults (see the module docstring).
    """
    shape = check_shape(out_shape)
    if sigmoid is not None:
        kwargs["sigmoid"] = sigmoid
    if name == "deep-decoder":
        kwargs.setdefault("depth", deep_decoder_depth(shape))
        return DeepDecoder(shape, out_channels=out_channels, seed=seed, **kwargs)
    if name == "conv-decoder":
        return ConvDecoder(shape, out_channels=out_channels, seed=seed, **kwargs)
    if name == "dip":
        if not {"channels_down", "channels_up", "channels_skip"} & kwargs.keys():
            scales = dip_scales(shape)
            kwargs.update(channels_down=(128,) * scales, channels_up=(128,) * scales, channels_skip=(4,) * scales)
        return DeepImagePrior(shape, out_channels=out_channels, seed=seed, **kwargs)
    raise ValueError(f"name must be one of {GENERATORS}, got {name!r}")
