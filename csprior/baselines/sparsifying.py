"""Orthonormal sparsifying transforms Ψ over the last two axes: the 2-D DCT and periodised wavelets.

Both are ``LinearOperator``s mapping an image ``(..., H, W)`` to coefficients of the same shape, real
or complex (complex images are transformed part by part; the transforms are real), on any device.
Being orthonormal, ``Ψ.H`` is the inverse and ``‖A Ψᴴ‖ = ‖A‖``.

- ``DCT2``: the orthonormal type-II DCT along both axes, ``scipy.fft.dctn(x, norm="ortho",
  axes=(-2, -1))``.
- ``Wavelet2``: an orthogonal PyWavelets wavelet with periodic extension (``mode="periodization"``),
  coefficients laid out as ``pywt.coeffs_to_array(pywt.wavedec2(x, wavelet, mode="periodization",
  level=level))``: the approximation at the top left, each level's details in the three other
  quadrants of its block.

Both are applied as small orthogonal matrices, one per axis (and level), built once by
``csprior.operators.dct_ortho`` and by PyWavelets itself (so the wavelet filters and boundary
handling are PyWavelets' own); at image sizes these dense products are faster than FFT or
convolution routes and run on any device.
"""
from __future__ import annotations

from numbers import Integral

import numpy as np
import pywt
import torch

from csprior.operators import LinearOperator, dct_ortho

ORTHOGONAL_WAVELETS = tuple(name for name in pywt.wavelist(kind="discrete") if pywt.Wavelet(name).orthogonal)


def sparsifying_transform(basis: str, shape, level: int | None = None) -> LinearOperator:
    """The transform named ``basis`` for images of trailing shape ``shape`` (``(..., H, W)``).

    Args:
        basis: ``"dct"`` or the name of an orthogonal PyWavelets wavelet (``"haar"``, ``"db4"``,
            ``"sym8"``, ... see ``ORTHOGONAL_WAVELETS``).
        shape: the image's trailing shape, at least ``(H, W)``.
        level: wavelet decomposition levels (ignored for ``"dct"``), see ``Wavelet2``.
    """
    if not isinstance(basis, str) or (basis != "dct" and basis not in ORTHOGONAL_WAVELETS):
        raise ValueError(f'basis must be "dct" or an orthogonal PyWavelets wavelet such as "haar" or '
                         f'"db4" (biorthogonal ones are not orthonormal), got {basis!r}')
    return DCT2(shape) if basis == "dct" else Wavelet2(shape, basis, level)


def _check_image_shape(shape) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"the image shape must end in (H, W) for a 2-D transform, got {shape}")
    return shape


def _by_parts(transform, x: torch.Tensor) -> torch.Tensor:
    """Apply a real linear ``transform`` to real ``x``, or to the real and imaginary parts of complex ``x``."""
    if x.is_complex():
        return torch.complex(transform(x.real), transform(x.imag))
    return transform(x)


class _SeparableOrthogonal(LinearOperator):
    """``x[..., :h, :w] ← R_j x[..., :h, :w] C_jᵀ`` for orthogonal ``(R_j, C_j)``, ``j = 0, 1, ...`` in turn.

    ``R_j`` is ``h × h`` and ``C_j`` is ``w × w``, acting on the top-left block of their size; the
    adjoint (= inverse) undoes the steps in reverse order. The matrices are float64 and cast to the
    data's real dtype on use; complex data are transformed part by part.
    """

    def __init__(self, shape, rows: list[torch.Tensor], cols: list[torch.Tensor]):
        super().__init__(shape, shape)
        self.rows, self.cols = rows, cols

    def to(self, device) -> "_SeparableOrthogonal":
        """Move the matrices to ``device``; returns self."""
        self.rows = [m.to(device) for m in self.rows]
        self.cols = [m.to(device) for m in self.cols]
        return self

    @property
    def device(self) -> torch.device:
        return self.rows[0].device

    def _forward(self, x):
        return _by_parts(self._analyse, x)

    def _adjoint(self, y):
        return _by_parts(self._synthesise, y)

    def _analyse(self, x):
        out = x.clone()
        for rows, cols in zip(self.rows, self.cols):
            h, w = rows.shape[0], cols.shape[0]
            out[..., :h, :w] = rows.to(x.dtype) @ out[..., :h, :w] @ cols.to(x.dtype).T
        return out

    def _synthesise(self, c):
        out = c.clone()
        for rows, cols in zip(reversed(self.rows), reversed(self.cols)):
            h, w = rows.shape[0], cols.shape[0]
            out[..., :h, :w] = rows.to(c.dtype).T @ out[..., :h, :w] @ cols.to(c.dtype)
        return out


class DCT2(_SeparableOrthogonal):
    """Orthonormal 2-D DCT-II over the last two axes: ``(..., H, W) -> (..., H, W)``, real or complex.

    Applied as ``C_H x C_Wᵀ`` with the ``n × n`` DCT matrices built by ``csprior.operators.dct_ortho``
    (small dense products beat the FFT route at image sizes). ``shape`` is the image shape
    ``(..., H, W)`` the transform acts on.
    """

    def __init__(self, shape):
        shape = _check_image_shape(shape)
        height, width = shape[-2:]
        super().__init__(shape, [_dct_matrix(height)], [_dct_matrix(width)])


class Wavelet2(_SeparableOrthogonal):
    """Orthonormal 2-D discrete wavelet transform with periodic extension over the last two axes.

    Args:
        shape: trailing image shape ``(..., H, W)``.
        wavelet: name of an orthogonal PyWavelets wavelet (``"haar"``, ``"db4"``, ...).
        level: number of levels; ``H`` and ``W`` must be multiples of ``2**level``. ``None`` takes
            the largest level that PyWavelets advises for ``min(H, W)`` and the filter length
            (``pywt.dwt_max_level``, at least 1) and that divides the size.

    Input ``(..., H, W)`` real or complex; output the coefficients ``(..., H, W)`` of the same dtype.
    Level ``j`` applies one periodised DWT step along each axis of the top-left
    ``H/2^j × W/2^j`` block (the previous approximation).
    """

    def __init__(self, shape, wavelet: str, level: int | None = None):
        shape = _check_image_shape(shape)
        height, width = shape[-2:]
        level = _check_level(level, height, width, pywt.Wavelet(wavelet).dec_len)
        super().__init__(shape, [_analysis_matrix(wavelet, height >> j) for j in range(level)],
                         [_analysis_matrix(wavelet, width >> j) for j in range(level)])
        self.wavelet, self.level = wavelet, level


def _check_level(level, height: int, width: int, filter_length: int) -> int:
    if level is None:
        level = max(1, pywt.dwt_max_level(min(height, width), filter_length))
        while level > 1 and (height % 2 ** level or width % 2 ** level):
            level -= 1
    elif isinstance(level, bool) or not isinstance(level, Integral) or level < 1:
        raise ValueError(f"level must be a positive int or None, got {level!r}")
    if height % 2 ** level or width % 2 ** level:
        raise ValueError(f"the image size {height}x{width} must be a multiple of 2**level = {2 ** level} "
                         f"for a {level}-level wavelet transform; choose a smaller level or resize")
    return int(level)


def _dct_matrix(n: int) -> torch.Tensor:
    """The orthonormal ``n × n`` DCT-II matrix (row ``k`` = the ``k``-th basis function)."""
    return dct_ortho(torch.eye(n, dtype=torch.float64)).T


def _analysis_matrix(wavelet: str, n: int) -> torch.Tensor:
    """The orthogonal ``n × n`` matrix of one periodised DWT level: approximation rows, then details."""
    approx, detail = pywt.dwt(np.eye(n), wavelet, mode="periodization", axis=0)
    return torch.from_numpy(np.vstack([approx, detail]))  # float64, cast to the data's dtype on use
