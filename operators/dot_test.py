"""The adjoint dot-test (after PyLops): ``<A x, y> = <x, A^H y>`` on random inputs."""
from __future__ import annotations

import math

import torch

from .base import LinearOperator


def _inner(a: torch.Tensor, b: torch.Tensor) -> complex:
    # accumulate in double precision so the test measures the operator, not the sum
    return complex(torch.sum(a.to(torch.complex128) * b.to(torch.complex128).conj()))


def _norm(a: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(a.to(torch.complex128)))


def dot_test(A: LinearOperator, seed: int = 0, batch_shape: tuple[int, ...] = (),
             complex_: bool | None = None) -> float:
    """Relative error ``|<Ax, y> - <x, A^H y>| / max(||Ax|| rms(y), ||A^H y|| rms(x))``.

    The scale is the typical size of the inner products (their standard deviation over the random
    draw of ``y``, resp. ``x``), not their value: random vectors can make ``<Ax, y>`` arbitrarily
    close to zero, and dividing by it would then report rounding as a wrong adjoint. The error
    estimates ``||(B - A^H) y|| / ||A^H y||`` for an implemented adjoint ``B``.

    Args:
        A: the operator under test.
        seed: seeds the random ``x`` ``(*batch_shape, *A.in_shape)`` and ``y`` ``(*batch_shape, *A.out_shape)``.
        batch_shape: leading batch dimensions of the test vectors.
        complex_: test with complex vectors (default: the operator's own kind; real-coefficient
            operators default to real).
    Returns:
        The relative error as a float (about 1e-7 for an exact adjoint in float32).
    """
    gen = torch.Generator().manual_seed(seed)
    x = A.random_input(*batch_shape, generator=gen, complex_=complex_)
    if A.out_dtype is None and A.in_dtype is None:
        y = A.random_output(*batch_shape, generator=gen, complex_=x.is_complex())
    else:
        y = A.random_output(*batch_shape, generator=gen)
    forward, adjoint = A.forward(x), A.adjoint(y)
    lhs, rhs = _inner(forward, y), _inner(x, adjoint)
    scale = max(_norm(forward) * _norm(y) / math.sqrt(y.numel()),
                _norm(adjoint) * _norm(x) / math.sqrt(x.numel()))
    return abs(lhs - rhs) / scale if scale > 0 else 0.0
