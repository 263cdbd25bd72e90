"""Reproductions of Heckel & Soltanolkotabi (ICLR 2020), one module per claim.

=============  ==========================================================================
name           module and claim
=============  ==========================================================================
``kernels``    ``kernels``: the two-layer generator's dual kernel has trigonometric
               eigenvectors and fast-decaying eigenvalues (authors' n = 300 numbers).
``fitting``    ``fitting``: fixed interpolating convolutions fit an image much faster than
               noise; learned transposed convolutions fit noise.
``two-layer``  ``two_layer``: early-stopped gradient descent denoises a 1-D signal; the
               Jacobian's leading singular vectors are smooth and change little.
``denoising``  ``denoising``: Deep Decoder vs DIP vs BM3D vs TV on Set11, σ = 25.
``cs``         ``cs``: Deep Decoder vs Lasso vs TV vs least squares, Gaussian and Fourier CS.
=============  ==========================================================================

Each module's ``run(out, ...)`` writes ``NAME.csv``, ``NAME.md`` and PNG figures into ``out`` and
returns a ``PaperOutput`` (summary table, files, wall time, notes); ``csprior paper NAME`` calls it.
"""
from . import cs, denoising, fitting, kernels, two_layer
from .output import PaperOutput

EXPERIMENTS = {"kernels": kernels.run, "fitting": fitting.run, "two-layer": two_layer.run,
               "denoising": denoising.run, "cs": cs.run}

__all__ = ["EXPERIMENTS", "PaperOutput"]
