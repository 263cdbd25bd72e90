"""Classical reconstructions, solved to optimality and tuned like the generators.

- ``least_squares`` -- minimum-norm (or Tikhonov-damped) least squares by CGLS.
- ``zero_filled`` -- ``Aᴴ y``; root-sum-of-squares of the coil images for multi-coil MRI.
- ``lasso`` -- ``½‖A Ψᴴ c − y‖² + λ‖c‖₁`` with Ψ the orthonormal DCT or a wavelet (FISTA with
  adaptive restart); complex data give the ℓ1-wavelet MRI reconstruction.
- ``tv`` -- ``½‖A x − y‖² + λ TV(x)``, isotropic or anisotropic (Chambolle–Pock).
- ``bm3d`` -- BM3D denoising through the optional ``bm3d`` package (non-commercial licence).
- ``dct_wiener`` -- denoising by iterated empirical Wiener filtering in sliding DCT windows.

λ is given, chosen on held-out measurements (``lam="holdout"``, the default: the protocol of the
generators' early stopping) or by an oracle sweep against ``x_true`` (``lam="oracle"``, labelled
``"lam_rule": "oracle"``); see ``csprior.baselines.tuning``. Every function takes measurements
``y`` ``(*batch, *A.out_shape)`` whose leading dimensions are independent problems, runs on ``y``'s
device and returns a ``csprior.result.Result``.
"""
from .bm3d import bm3d
from .dct_wiener import dct_wiener
from .finite_differences import FiniteDifferences
from .lasso import lasso
from .least_squares import least_squares
from .sparsifying import DCT2, ORTHOGONAL_WAVELETS, Wavelet2, sparsifying_transform
from .tv import total_variation, tv
from .zero_filled import zero_filled

__all__ = ["bm3d", "dct_wiener", "lasso", "least_squares", "tv", "zero_filled", "total_variation", "FiniteDifferences",
           "DCT2", "Wavelet2", "ORTHOGONAL_WAVELETS", "sparsifying_transform"]
