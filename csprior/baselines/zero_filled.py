"""The zero-filled reconstruction ``Aᴴ y``, with root-sum-of-squares coil combination for multi-coil MRI."""
from __future__ import annotations

import time

import torch

from csprior.operators import LinearOperator, MultiCoilPartialFourier, ifft2c
from csprior.result import Result

from .convergence import Solution
from .inputs import finish, prepare


def zero_filled(y: torch.Tensor, A: LinearOperator) -> Result:
    """Back-projection ``Aᴴ y``; for multi-coil k-space the root-sum-of-squares image.

    Args:
        y: measurements ``(*batch, *A.out_shape)``; for ``MultiCoilPartialFourier``, k-space
            ``(*batch, coils, H, W)`` (zero where not sampled).
        A: the measurement operator. For ``PartialFourier`` ``Aᴴ y`` is the inverse FFT of the
            zero-filled k-space.

    Returns:
        ``Result`` with ``image`` ``(*batch, *A.in_shape)``. For ``MultiCoilPartialFourier`` the image
        is ``sqrt(Σ_c |ifft2c(M ⊙ y_c)|²)`` (the coil maps are not used), a magnitude stored as
        complex64 with zero imaginary part so that it has ``A``'s input dtype; otherwise ``Aᴴ y``.
        No iterations: empty ``history``, ``stop_reason`` ``"direct"``.
    """
    start = time.perf_counter()
    problems = prepare(y, A)
    if isinstance(problems.A, MultiCoilPartialFourier):
        coil_images = ifft2c(problems.y * problems.A.mask)
        image = coil_images.abs().pow(2).sum(dim=-3).sqrt().to(torch.complex64)
        combination = "rss"
    else:
        image = problems.A.adjoint(problems.y, check=False)
        combination = "adjoint"
    count = problems.count
    solution = Solution(image, [{} for _ in range(count)], [0] * count, ["direct"] * count)
    params = [{"combination": combination}] * count
    return finish(problems, solution, "zero-filled", params, time.perf_counter() - start)
