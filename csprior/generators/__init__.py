"""Untrained generator networks: ``forward()`` maps a fixed seeded input to ``(1, C, H, W)``.

- ``DeepDecoder`` (Heckel & Hand 2019), ``ConvDecoder`` (Darestani & Heckel 2021),
  ``DeepImagePrior`` (Ulyanov et al. 2018): the priors of ``csprior.reconstruct``.
- ``TransposedConvDecoder``, ``ConvNet3x3``: the paper's ablations without fixed upsampling.
- ``TwoLayerGenerator``: the analysed model ``ReLU(U C) v`` with a dense ``jacobian``.
- ``build_generator(name, out_shape, out_channels)``: the papers' defaults for an image size.
- ``FixedUpsample``: fixed interpolating upsampling (bilinear/bicubic/nearest or a user kernel).

Every image generator subclasses ``Generator``: attributes ``out_shape``, ``out_channels``,
``sigmoid``, ``n_parameters``, the input buffer ``net_input`` and ``forward(input=None)``.
"""
from .ablations import ConvNet3x3, TransposedConvDecoder
from .base import Generator
from .conv_decoder import ConvDecoder
from .deep_decoder import DeepDecoder
from .dip import DeepImagePrior
from .registry import GENERATORS, build_generator
from .two_layer import TwoLayerGenerator
from .upsampling import FixedUpsample

__all__ = ["GENERATORS", "ConvDecoder", "ConvNet3x3", "DeepDecoder", "DeepImagePrior", "FixedUpsample",
           "Generator", "TransposedConvDecoder", "TwoLayerGenerator", "build_generator"]
