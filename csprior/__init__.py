"""csprior: compressive sensing and linear inverse problems with untrained generator priors.

Library entry points: ``csprior.reconstruct``, ``csprior.baselines``, ``csprior.metrics``,
``csprior.operators``, ``csprior.datasets``. See README.md.
"""
import logging

from . import baselines, generators, metrics
from .generators import ConvDecoder, DeepDecoder, DeepImagePrior, TwoLayerGenerator, build_generator
from .reconstruct import reconstruct
from .result import Result

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"
__all__ = ["ConvDecoder", "DeepDecoder", "DeepImagePrior", "Result", "TwoLayerGenerator", "baselines",
           "build_generator", "generators", "metrics", "reconstruct", "__version__"]
