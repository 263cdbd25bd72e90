"""The interface every csprior generator shares, and the seeded construction they all use.

A generator is an ``nn.Module`` that maps a FIXED random input (a buffer, ``net_input``) to an
image: ``forward()`` returns ``(1, out_channels, H, W)`` float32 and ``forward(input)`` the output
for another input of the same shape (the engine adds noise to ``net_input`` that way). It exposes
``out_shape`` ``(H, W)``, ``out_channels`` and ``n_parameters`` (the trainable count).

Weights and input are drawn inside ``seeded(seed)``, which forks the CPU random state, so equal
seeds give equal generators and the caller's global random state is left untouched. Weights keep
PyTorch's default initialisation (uniform ``±1/sqrt(fan_in)``), as the papers' code does.
"""
from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Sequence

import torch
from torch import nn


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block on the CPU random stream seeded with ``seed``; the global state is restored."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def check_int(name: str, value, least: int = 1) -> int:
    """``value`` as an int if it is an integer ``>= least``, else TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {least}, got {type(value).__name__}")
    if value < least:
        raise ValueError(f"{name} must be an int >= {least}, got {value}")
    return int(value)


def check_shape(out_shape: Sequence[int], name: str = "out_shape", ndims: tuple[int, ...] = (2,)) -> tuple[int, ...]:
    """``out_shape`` as a tuple of positive ints with a length in ``ndims``, else a clear error."""
    lengths = " or ".join(map(str, ndims))
    if not isinstance(out_shape, Sequence) or isinstance(out_shape, str):
        raise TypeError(f"{name} must be a sequence of {lengths} ints, got {out_shape!r}")
    shape = tuple(out_shape)
    if len(shape) not in ndims:
        raise ValueError(f"{name} must have {lengths} entries, got {shape}")
    if any(isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1 for size in shape):
        raise ValueError(f"{name} must hold positive ints, got {shape}")
    return tuple(int(size) for size in shape)


class Generator(nn.Module):
    """Base class: a fixed random input ``net_input`` mapped to ``(1, out_channels, H, W)``.

    Subclasses register ``net_input`` (via ``set_input``) and implement ``generate(z)``.

    Attributes:
        out_shape: output spatial size ``(H, W)``.
        out_channels: output channels.
        sigmoid: whether a sigmoid maps the output to [0, 1].
    """

    net_input: torch.Tensor

    def __init__(self, out_shape: Sequence[int], out_channels: int, sigmoid: bool):
        super().__init__()
        self.out_shape = check_shape(out_shape)
        self.out_channels = check_int("out_channels", out_channels)
        if not isinstance(sigmoid, bool):
            raise TypeError(f"sigmoid must be a bool, got {type(sigmoid).__name__}")
        self.sigmoid = sigmoid

    def set_input(self, channels: int, size: Sequence[int]) -> None:
        """Draw the fixed input: uniform noise in [0, 0.1), shape ``(1, channels, *size)``, as the
        Deep Decoder, ConvDecoder and Deep Image Prior authors do (call inside ``seeded``)."""
        self.register_buffer("net_input", 0.1 * torch.rand(1, channels, *size))

    @property
    def n_parameters(self) -> int:
        """Number of trainable scalars."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, input: torch.Tensor | None = None) -> torch.Tensor:
        """Output ``(1, out_channels, H, W)`` float32 for ``net_input`` or for ``input`` (same shape)."""
        z = self.net_input if input is None else input
        if input is not None and tuple(input.shape) != tuple(self.net_input.shape):
            raise ValueError(f"input must have the shape of net_input {tuple(self.net_input.shape)}, "
                             f"got {tuple(input.shape)}")
        out = self.generate(z)
        return torch.sigmoid(out) if self.sigmoid else out

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The network before the optional sigmoid; ``z`` has ``net_input``'s shape."""
        raise NotImplementedError
