"""Linear measurement operators for csprior.

Every operator maps ``(*batch, *in_shape) -> (*batch, *out_shape)``, has ``forward``/``__call__``,
``adjoint`` and ``.H``, composes with ``@`` (shapes checked), adds and scales, moves with
``.to(device)``, and estimates its spectral norm with ``.norm()`` (power iteration). ``dot_test``
checks that an adjoint is exact. See ``base.py`` for the conventions.

Operators: ``Identity`` (denoising), ``Diagonal``, ``MatrixOperator``, ``PixelSubsample``,
``Inpainting``, ``GaussianMatrix`` (stored or regenerated block by block), ``RandomizedDCT`` (fast
structured alternative), ``PartialFourier`` and ``MultiCoilPartialFourier`` (MRI).
Masks: ``fastmri_mask`` (fastMRI's column masks, exactly), ``poisson_disc_mask``,
``random_pixel_mask``, ``random_block_mask``, ``load_mask``. Noise: ``add_gaussian_noise``.
"""
from .base import LinearOperator, check_tensor
from .diagonal import Diagonal
from .dot_test import dot_test
from .fft import fft2c, ifft2c
from .fourier import MultiCoilPartialFourier, PartialFourier
from .gaussian import GaussianMatrix
from .identity import Identity
from .inpainting import Inpainting, load_mask, random_block_mask, random_pixel_mask
from .masks import FASTMRI_KINDS, as_bool_mask, fastmri_mask, poisson_disc_mask
from .matrix import MatrixOperator
from .noise import add_gaussian_noise, sigma_for_snr
from .structured import RandomizedDCT, dct_ortho, idct_ortho
from .subsample import PixelSubsample, measurement_count

__all__ = ["LinearOperator", "check_tensor", "dot_test", "Diagonal", "fft2c", "ifft2c", "Identity",
           "MatrixOperator", "PartialFourier", "MultiCoilPartialFourier", "GaussianMatrix",
           "RandomizedDCT", "dct_ortho", "idct_ortho", "PixelSubsample", "measurement_count",
           "Inpainting", "random_pixel_mask", "random_block_mask", "load_mask", "fastmri_mask",
           "FASTMRI_KINDS", "poisson_disc_mask", "as_bool_mask", "add_gaussian_noise", "sigma_for_snr"]
