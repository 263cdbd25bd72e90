"""The linear-operator algebra every measurement model in csprior is built on.

An operator maps tensors shaped ``(*batch, *in_shape)`` to ``(*batch, *out_shape)`` for any number of
leading batch dimensions. ``in_dtype``/``out_dtype`` are ``torch.float32``/``torch.complex64`` for
operators that require one kind of data, or ``None`` for operators with real coefficients, which
accept real or complex input and return the input's dtype.

Subclasses implement ``_forward`` and ``_adjoint`` on already-validated input; ``forward`` and
``adjoint`` validate (type, trailing shape, dtype, finiteness) so that bad input fails with a message
naming the parameter instead of a torch internals error. Hot loops that have validated their data
once may pass ``check=False``.

Algebra (after SigPy's ``Linop``): ``A.H`` is the adjoint, ``A @ B`` composes (shapes checked),
``A + B``, ``A - B``, ``c * A`` and ``-A`` build new operators.
"""
from __future__ import annotations

import math
from numbers import Integral
from typing import Iterable

import torch

Shape = tuple[int, ...]


def _as_shape(shape: Iterable[int], name: str) -> Shape:
    # no int() coercion: it would truncate 64.7 and read the string "64" as the shape (6, 4)
    try:
        entries = tuple(shape)
    except TypeError:
        entries = None
    if isinstance(shape, str) or entries is None or not all(isinstance(s, Integral) and not isinstance(s, bool) for s in entries):
        raise TypeError(f"{name} must be a sequence of ints, got {shape!r}")
    out = tuple(int(s) for s in entries)
    if not out or any(s <= 0 for s in out):
        raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {out}")
    return out


def check_tensor(x, shape: Shape, dtype: torch.dtype | None, name: str, finite: bool = True) -> None:
    """Raise TypeError/ValueError unless ``x`` is a tensor shaped ``(*batch, *shape)`` of ``dtype``'s kind.

    Only the kind is checked (real or complex), not the precision: float64 or complex128 input is
    accepted and computed in that precision. ``dtype=None`` accepts any floating or complex dtype.
    ``finite`` also rejects NaN and Inf.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if tuple(x.shape[x.ndim - len(shape):]) != shape or x.ndim < len(shape):
        raise ValueError(f"{name} must have shape (..., {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    if dtype is None:
        if not (x.is_floating_point() or x.is_complex()):
            raise TypeError(f"{name} must be a floating or complex tensor, got {x.dtype}")
    elif dtype.is_complex and not x.is_complex():
        raise TypeError(f"{name} must be complex ({dtype}), got real {x.dtype}; use x.to(torch.complex64)")
    elif not dtype.is_complex and x.is_complex():
        raise TypeError(f"{name} must be real ({dtype}), got complex {x.dtype}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values")


class LinearOperator:
    """A linear map ``(*batch, *in_shape) -> (*batch, *out_shape)``.

    Args:
        in_shape: trailing shape of the input, without batch dimensions.
        out_shape: trailing shape of the output.
        in_dtype: required input dtype (``torch.float32``/``torch.complex64``) or ``None`` for
            real-coefficient operators that accept either and preserve it.
        out_dtype: output dtype, ``None`` meaning "the input's dtype".
    """

    def __init__(self, in_shape, out_shape, in_dtype: torch.dtype | None = None,
                 out_dtype: torch.dtype | None = None):
        self.in_shape = _as_shape(in_shape, "in_shape")
        self.out_shape = _as_shape(out_shape, "out_shape")
        self.in_dtype = in_dtype
        self.out_dtype = out_dtype

    # -- to be implemented by subclasses -------------------------------------------------------
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- public interface -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """Apply the operator: ``x`` ``(*batch, *in_shape)`` -> ``(*batch, *out_shape)``."""
        if check:
            check_tensor(x, self.in_shape, self.in_dtype, "x")
        return self._forward(x)

    def adjoint(self, y: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """Apply the adjoint: ``y`` ``(*batch, *out_shape)`` -> ``(*batch, *in_shape)``."""
        if check:
            check_tensor(y, self.out_shape, self.out_dtype, "y")
        return self._adjoint(y)

    def __call__(self, x: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        return self.forward(x, check=check)

    @property
    def H(self) -> "LinearOperator":
        """The adjoint operator."""
        return Adjoint(self)

    @property
    def is_complex(self) -> bool:
        """True when the operator requires complex input."""
        return self.in_dtype is not None and self.in_dtype.is_complex

    @property
    def measured(self) -> torch.Tensor | None:
        """Boolean ``out_shape`` mask of the outputs that carry measurements, ``None`` for all.

        Operators that return zeros at unsampled positions (masked k-space) override this so that
        held-out splits and data consistency only touch real measurements.
        """
        return None

    @property
    def device(self) -> torch.device:
        """Device of the operator's tensors (CPU for operators that hold none)."""
        for value in self._tensors():
            return value.device
        return torch.device("cpu")

    def to(self, device) -> "LinearOperator":
        """Move every tensor the operator holds (and its sub-operators) to ``device``; returns self."""
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
        for op in self._suboperators():
            op.to(device)
        return self

    @property
    def batch_amortised(self) -> bool:
        """True when applying the operator to a batch of inputs costs about as much as applying it to
        one (it streams or regenerates a large dense matrix once per product, ``GaussianMatrix``); an
        operator built from others is when any of them is. The reconstruction engine then fits a
        batch of ConvDecoders in lockstep even at sizes where, for other operators, one after another
        is faster on CPU."""
        return any(op.batch_amortised for op in self._suboperators())

    def _suboperators(self):
        for value in vars(self).values():
            if isinstance(value, LinearOperator):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (op for op in value if isinstance(op, LinearOperator))

    def _tensors(self):
        for value in vars(self).values():
            if isinstance(value, torch.Tensor):
                yield value
        for op in self._suboperators():
            yield from op._tensors()

    def random_input(self, *batch: int, generator: torch.Generator | None = None,
                     complex_: bool | None = None) -> torch.Tensor:
        """A standard normal tensor ``(*batch, *in_shape)`` of the operator's input kind."""
        return _randn((*batch, *self.in_shape), self.in_dtype, generator, complex_, self.device)

    def random_output(self, *batch: int, generator: torch.Generator | None = None,
                      complex_: bool | None = None) -> torch.Tensor:
        """A standard normal tensor ``(*batch, *out_shape)`` of the operator's output kind."""
        dtype = self.out_dtype if self.out_dtype is not None else self.in_dtype
        return _randn((*batch, *self.out_shape), dtype, generator, complex_, self.device)

    def norm(self, iterations: int = 100, tol: float = 1e-6, seed: int = 0) -> float:
        """Spectral norm ``||A||_2`` estimated by power iteration on ``A^H A``.

        Stops when the relative change of the estimate falls below ``tol``.
        """
        gen = torch.Generator(device="cpu").manual_seed(seed)
        x = self.random_input(generator=gen)
        x = x / torch.linalg.vector_norm(x)
        estimate = 0.0
        for _ in range(iterations):
            z = self._adjoint(self._forward(x))
            new = float(torch.linalg.vector_norm(z))
            if new == 0.0:
                return 0.0
            x = z / new
            if abs(new - estimate) <= tol * new:
                estimate = new
                break
            estimate = new
        return math.sqrt(estimate)

    # -- algebra ------------------------------------------------------------------------------------
    def __matmul__(self, other: "LinearOperator") -> "LinearOperator":
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Composition(self, other)

    def __add__(self, other: "LinearOperator") -> "LinearOperator":
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, other)

    def __sub__(self, other: "LinearOperator") -> "LinearOperator":
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return Sum(self, Scaled(other, -1.0))

    def __mul__(self, scalar) -> "LinearOperator":
        if not isinstance(scalar, (int, float, complex)):
            return NotImplemented
        return Scaled(self, scalar)

    __rmul__ = __mul__

    def __neg__(self) -> "LinearOperator":
        return Scaled(self, -1.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_shape={self.in_shape}, out_shape={self.out_shape})"


def _randn(shape, dtype, generator, complex_, device) -> torch.Tensor:
    want_complex = complex_ if complex_ is not None else (dtype is not None and dtype.is_complex)
    if dtype is not None and dtype.is_complex and not want_complex:
        raise ValueError("this operator requires complex data; complex_=False is not possible")
    if dtype is not None and not dtype.is_complex and want_complex:
        raise ValueError("this operator requires real data; complex_=True is not possible")
    out_dtype = torch.complex64 if want_complex else torch.float32
    return torch.randn(shape, generator=generator, dtype=out_dtype).to(device)


def _result_dtype(first: torch.dtype | None, second: torch.dtype | None) -> torch.dtype | None:
    return first if first is not None else second


class Adjoint(LinearOperator):
    """The adjoint ``A^H`` of an operator (``A.H``)."""

    def __init__(self, op: LinearOperator):
        super().__init__(op.out_shape, op.in_shape, op.out_dtype if op.out_dtype else op.in_dtype,
                         op.in_dtype)
        self.op = op

    def _forward(self, x):
        return self.op._adjoint(x)

    def _adjoint(self, y):
        return self.op._forward(y)

    @property
    def H(self) -> LinearOperator:
        return self.op


class Composition(LinearOperator):
    """``(A @ B)(x) = A(B(x))``; raises ValueError when ``B.out_shape != A.in_shape``."""

    def __init__(self, outer: LinearOperator, inner: LinearOperator):
        if inner.out_shape != outer.in_shape:
            raise ValueError(f"cannot compose: the inner operator's out_shape {inner.out_shape} "
                             f"differs from the outer operator's in_shape {outer.in_shape}")
        inner_out = inner.out_dtype if inner.out_dtype is not None else inner.in_dtype
        if outer.in_dtype is not None and inner_out is not None and outer.in_dtype != inner_out:
            raise ValueError(f"cannot compose: the inner operator returns {inner_out} but the outer "
                             f"operator takes {outer.in_dtype}")
        super().__init__(inner.in_shape, outer.out_shape, _result_dtype(inner.in_dtype, outer.in_dtype),
                         _result_dtype(outer.out_dtype, inner_out))
        self.outer, self.inner = outer, inner

    @property
    def measured(self) -> torch.Tensor | None:
        return self.outer.measured

    def _forward(self, x):
        return self.outer._forward(self.inner._forward(x))

    def _adjoint(self, y):
        return self.inner._adjoint(self.outer._adjoint(y))


class Sum(LinearOperator):
    """``(A + B)(x) = A(x) + B(x)``; both operators must share shapes."""

    def __init__(self, first: LinearOperator, second: LinearOperator):
        if (first.in_shape, first.out_shape) != (second.in_shape, second.out_shape):
            raise ValueError(f"cannot add operators of shapes {first.in_shape}->{first.out_shape} "
                             f"and {second.in_shape}->{second.out_shape}")
        super().__init__(first.in_shape, first.out_shape, _result_dtype(first.in_dtype, second.in_dtype),
                         _result_dtype(first.out_dtype, second.out_dtype))
        self.first, self.second = first, second

    def _forward(self, x):
        return self.first._forward(x) + self.second._forward(x)

    def _adjoint(self, y):
        return self.first._adjoint(y) + self.second._adjoint(y)


class Scaled(LinearOperator):
    """``(c A)(x) = c A(x)`` for a real or complex scalar ``c``."""

    def __init__(self, op: LinearOperator, scalar: complex):
        super().__init__(op.in_shape, op.out_shape, op.in_dtype, op.out_dtype)
        self.op, self.scalar = op, scalar

    def _forward(self, x):
        return self.scalar * self.op._forward(x)

    def _adjoint(self, y):
        return self.scalar.conjugate() * self.op._adjoint(y)
