"""B independent generators of one architecture evaluated as one vectorised network.

``stack_generators([g_1, ..., g_B])`` copies the weights and inputs of B Deep Decoders (or B
ConvDecoders) into one module whose ``forward()`` returns all B outputs ``(B, C, H, W)`` at once.
Instance ``b`` computes exactly what ``g_b`` computes:

- B Deep Decoders with ``k`` channels are one network on channels-last ``(B, k, H, W)`` stacks whose
  1×1 convolutions are batched matrix products, or one convolution per instance on large images
  (``csprior.generators.deep_decoder.decode``);
- B ConvDecoders with ``c`` channels are one network with ``B·c`` channels whose convolutions are
  grouped (``groups=B``); BatchNorm over ``B·c`` channels with a batch of one image normalises
  each instance's channels with their own statistics, and the fixed upsampling acts per channel.

Every parameter is stacked along a leading instance dimension, so one elementwise optimizer (Adam,
SGD) over the stacked module takes B independent steps; with a loss that is the SUM of the
per-instance losses, instance ``b``'s gradient is the gradient of its own fit. ``select(indices)``
keeps a subset of the instances (the engine drops fits that have stopped). The engine uses this
for batches of problems and for ensembles (``csprior.reconstruct``); tests/test_batched.py checks
that B stacked fits equal B separate fits.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import Generator
from .conv_decoder import ConvDecoder
from .deep_decoder import DeepDecoder, decode
from .nearest_conv import upsample_conv


class BatchedGenerator(nn.Module):
    """Base class: B instances, every parameter and ``net_input`` stacked along dim 0.

    Attributes:
        batch: number of instances B.
        out_shape: output size ``(H, W)``; out_channels: channels per instance; sigmoid: as the
            stacked generators.
        net_input: the instances' fixed inputs ``(B, C_in, h, w)``.
    """

    net_input: torch.Tensor

    def __init__(self, generators: Sequence[Generator], same: Mapping[str, Callable[[Generator], object]]):
        super().__init__()
        first = generators[0]
        shared = {name: (lambda g, name=name: getattr(g, name)) for name in ("out_shape", "out_channels", "sigmoid")}
        for name, get in {**shared, **same}.items():
            values = {repr(get(g)) for g in generators}
            if len(values) > 1:
                raise ValueError(f"generators must share {name} to be stacked, got {sorted(values)}")
        self.out_shape, self.out_channels, self.sigmoid = first.out_shape, first.out_channels, first.sigmoid
        self.register_buffer("net_input", torch.cat([g.net_input for g in generators]))

    @property
    def batch(self) -> int:
        """Number of instances."""
        return self.net_input.shape[0]

    @property
    def n_parameters(self) -> int:
        """Trainable scalars of ONE instance."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad) // self.batch

    def forward(self, input: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``(B, out_channels, H, W)`` for ``net_input`` or for ``input`` (same shape)."""
        if input is not None and tuple(input.shape) != tuple(self.net_input.shape):
            raise ValueError(f"input must have the shape of net_input {tuple(self.net_input.shape)}, "
                             f"got {tuple(input.shape)}")
        out = self.generate(self.net_input if input is None else input)
        return torch.sigmoid(out) if self.sigmoid else out

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """All instances before the sigmoid; ``z`` has ``net_input``'s shape."""
        raise NotImplementedError

    def select(self, indices: Sequence[int]) -> "BatchedGenerator":
        """A new stacked module holding instances ``indices`` (copies, in that order)."""
        index = torch.as_tensor(list(indices), dtype=torch.long, device=self.net_input.device)
        if index.numel() == 0 or index.min() < 0 or index.max() >= self.batch:
            raise ValueError(f"indices must be a non-empty list of instances in [0, {self.batch}), "
                             f"got {list(indices)}")
        subset = copy.deepcopy(self)
        for module in subset.modules():
            for name, p in module._parameters.items():
                module._parameters[name] = nn.Parameter(p.detach()[index], p.requires_grad)
        subset.net_input = self.net_input[index]
        return subset


class BatchedDeepDecoder(BatchedGenerator):
    """B Deep Decoders of one architecture; parameters ``(B, ...)`` (see module docstring).

    Args:
        decoders: the instances, equal in ``out_shape``, ``channels``, ``depth``, ``out_channels``,
            upsampling and ``sigmoid``; their weights and inputs are copied.
    """

    def __init__(self, decoders: Sequence[DeepDecoder]):
        super().__init__(decoders, same={"channels": lambda d: d.channels, "sizes": lambda d: d.sizes,
                                         "upsample": _upsample_key})
        first = decoders[0]
        self.sizes, self.channels = first.sizes, first.channels
        self.upsample = copy.deepcopy(first.upsample)
        self.eps = first.blocks[0].norm.eps

        def stacked(get) -> nn.Parameter:
            return nn.Parameter(torch.stack([get(d).detach() for d in decoders]))
        blocks = range(len(first.blocks))
        self.conv_weights = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].conv.weight[..., 0, 0]) for i in blocks)
        self.norm_weights = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].norm.weight) for i in blocks)
        self.norm_biases = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].norm.bias) for i in blocks)
        self.output_weight = stacked(lambda d: d.output.weight[..., 0, 0])

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        out = decode(z, list(self.conv_weights), list(self.norm_weights), list(self.norm_biases),
                     self.output_weight, self.sizes, self.upsample, self.eps)
        return out.contiguous()


class BatchedConvDecoder(BatchedGenerator):
    """B ConvDecoders of one architecture as one grouped network (see module docstring).

    Args:
        decoders: the instances, equal in ``out_shape``, channels, layers, kernel size, bias,
            ``in_size``, ``out_channels`` and ``sigmoid``; their weights and inputs are copied.
    """

    def __init__(self, decoders: Sequence[ConvDecoder]):
        super().__init__(decoders, same={"channels": lambda d: d.channels, "sizes": lambda d: d.sizes,
                                         "kernel_size": lambda d: d.blocks[0].conv.kernel_size,
                                         "bias": lambda d: d.output.bias is not None})
        first = decoders[0]
        has_bias = first.output.bias is not None
        self.sizes, self.channels = first.sizes, first.channels
        self.eps = first.blocks[0].norm.eps

        def stacked(get) -> nn.Parameter:
            return nn.Parameter(torch.stack([get(d).detach() for d in decoders]))
        blocks = range(len(first.blocks))
        self.conv_weights = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].conv.weight) for i in blocks)
        self.conv_biases = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].conv.bias) for i in blocks) \
            if has_bias else None
        self.norm_weights = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].norm.weight) for i in blocks)
        self.norm_biases = nn.ParameterList(stacked(lambda d, i=i: d.blocks[i].norm.bias) for i in blocks)
        self.output_weight = stacked(lambda d: d.output.weight)
        self.output_bias = stacked(lambda d: d.output.bias) if has_bias else None

    def _conv(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
              size: Sequence[int] | None = None) -> torch.Tensor:
        # (B, c_out, c_in, k, k) weights as one grouped convolution over (1, B·c_in, h, w)
        flat_bias = None if bias is None else bias.reshape(-1)
        return upsample_conv(x, size, weight.flatten(0, 1), flat_bias, groups=self.batch)

    def _block(self, x: torch.Tensor, i: int, size: Sequence[int] | None = None) -> torch.Tensor:
        bias = None if self.conv_biases is None else self.conv_biases[i]
        x = torch.relu_(self._conv(x, self.conv_weights[i], bias, size))
        return F.batch_norm(x, None, None, self.norm_weights[i].reshape(-1), self.norm_biases[i].reshape(-1),
                            training=True, eps=self.eps)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        # channels-last, as in ConvDecoder.generate (oneDNN's faster layout, grouped convolutions too)
        x = z.reshape(1, -1, *z.shape[2:]).contiguous(memory_format=torch.channels_last)
        for i, size in enumerate(self.sizes):
            x = self._block(x, i, size)
        x = self._block(x, len(self.sizes))
        out = self._conv(x, self.output_weight, self.output_bias)
        return out.contiguous().view(self.batch, self.out_channels, *self.out_shape)


def _upsample_key(decoder: DeepDecoder) -> tuple:
    kernel = decoder.upsample.kernel
    return decoder.upsample.mode, None if kernel is None else kernel.tolist()


def stack_generators(generators: Sequence[Generator]) -> BatchedGenerator:
    """One ``BatchedDeepDecoder`` or ``BatchedConvDecoder`` computing all ``generators`` at once.

    Raises TypeError for other generator types (check with ``can_stack`` first) and ValueError when
    the generators differ in architecture or the list is empty.
    """
    if not generators:
        raise ValueError("generators must be a non-empty sequence")
    kinds = {type(g) for g in generators}
    if kinds == {DeepDecoder}:
        return BatchedDeepDecoder(generators)
    if kinds == {ConvDecoder}:
        return BatchedConvDecoder(generators)
    raise TypeError(f"generators must all be DeepDecoder or all be ConvDecoder to be stacked, "
                    f"got {sorted(k.__name__ for k in kinds)}")


def can_stack(generator: nn.Module) -> bool:
    """Whether ``stack_generators`` accepts instances of this generator's type."""
    return type(generator) in (DeepDecoder, ConvDecoder)


class LoopedGenerators(nn.Module):
    """Generators that cannot be stacked (the Deep Image Prior, a user's module) evaluated one after
    another, presented like a ``BatchedGenerator``: ``forward()`` returns ``(B, C, H, W)``.

    Args:
        generators: the instances (kept, not copied), each returning ``(1, C, H, W)``.
    """

    def __init__(self, generators: Sequence[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(generators)

    @property
    def batch(self) -> int:
        """Number of instances."""
        return len(self.members)

    @property
    def net_input(self) -> torch.Tensor:
        """The members' fixed inputs concatenated ``(B, C_in, h, w)``."""
        return torch.cat([g.net_input for g in self.members])

    @property
    def n_parameters(self) -> int:
        """Trainable scalars of ONE instance."""
        return sum(p.numel() for p in self.members[0].parameters() if p.requires_grad)

    def forward(self, input: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``(B, C, H, W)`` for the members' inputs or for ``input`` ``(B, C_in, h, w)``."""
        if len(self.members) == 1:
            return self.members[0]() if input is None else self.members[0](input)
        return torch.cat([g() if input is None else g(input[i:i + 1]) for i, g in enumerate(self.members)])
