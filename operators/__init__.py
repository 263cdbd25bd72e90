"""Linear measurement operators for csprior.

Every operator maps ``(*batch, *in_shape) -> (*batch, *out_shape)``, has ``forward``/``__call__``,
``adjoint`` and ``.H``, composes with ``@`` (shapes checked), adds and scales, moves with
``.to(device)``, and estimates its spectral norm with ``.norm()`` (power iteration). ``dot_test``
checks that an adjoint is exact. See ``base.py`` for the conventions.
"""
from .base import LinearOperator, check_tensor
from .diagonal import Diagonal
from .dot_test import dot_test
from .fft import fft2c, ifft2c
from .identity import Identity
from .matrix import MatrixOperator

__all__ = ["LinearOperator", "check_tensor", "dot_test", "Diagonal", "fft2c", "ifft2c", "Identity",
           "MatrixOperator"]
