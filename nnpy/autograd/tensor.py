"""``Tensor``: an array that remembers how it was computed, and the switch that records it.

A Tensor wraps an array of ``nnpy.backend.xp`` (``.data``). When gradients are
recorded (the default, see ``no_grad``) and an operation gets an input with
``requires_grad=True``, its output remembers the operation (``.creator``, a
``Function``); ``backward()`` walks these links in reverse and leaves
``dL/dt`` in ``t.grad`` for every leaf tensor ``t`` that requires a gradient::

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()          # y.creator is Sum, whose input's creator is Mul
    y.backward()               # x.grad == 2·x

Operators (``+ - * / ** @``, unary ``-``, indexing) and the methods below build
the graph through the functions of this package; comparisons return plain boolean
arrays (they have no gradient).
"""
from __future__ import annotations

from contextlib import contextmanager

from ..backend import default_dtype, xp
from ..errors import AutogradError

_recording = True   # is a graph recorded? (no_grad switches it off)


def is_grad_enabled() -> bool:
    """True when operations on tensors that require gradients record the graph."""
    return _recording


@contextmanager
def set_grad_enabled(enabled: bool):
    """Record the graph (True) or not (False) inside the ``with`` block."""
    global _recording
    before, _recording = _recording, bool(enabled)
    try:
        yield
    finally:
        _recording = before


def no_grad():
    """``with no_grad():`` computes values only: no graph, outputs do not require gradients."""
    return set_grad_enabled(False)


def to_array(value, dtype=None):
    """``value`` as an array. Python numbers and lists become the default float dtype
    (float32) unless ``dtype`` is given; numpy arrays and scalars keep theirs."""
    if isinstance(value, xp.ndarray):
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    if isinstance(value, xp.generic):
        return xp.asarray(value, dtype=dtype)
    return xp.asarray(value, dtype=dtype or default_dtype())


class Tensor:
    """An array with an optional gradient.

    ``data``: the array (``nnpy.backend.xp``); ``grad``: a Tensor of the same shape
    after ``backward()`` (None before); ``requires_grad``: whether gradients flow into
    it; ``creator``: the Function that computed it (None for a leaf); ``name``: a
    label for ``to_dot``.
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "name", "__weakref__")
    __array_ufunc__ = None        # ndarray + Tensor calls Tensor.__radd__, not numpy

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        data = to_array(data)
        if requires_grad and data.dtype.kind != "f":
            raise AutogradError(f"only floating tensors can require gradients; this one is {data.dtype} "
                                f"of shape {tuple(data.shape)}")
        self.data = data
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self.creator = None
        self.name = name

    # ---- the array ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        """The rows ``t[0], t[1], …`` (each a Tensor in the graph)."""
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.data)

    def numpy(self):
        """The array itself (shares memory: changing it changes the tensor)."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def detach(self) -> "Tensor":
        """The same array as a new leaf that requires no gradient (cuts the graph here)."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        body = repr(self.data).replace("array(", "").rstrip(")")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{grad})"

    # ---- gradients ----------------------------------------------------------------------
    def backward(self, grad=None, create_graph: bool = False, retain_graph: bool | None = None) -> None:
        """Accumulate ``d self / d leaf`` into ``leaf.grad`` of every leaf that requires it.

        ``grad``: dL/dself for a non-scalar tensor (the gradient flowing in from above;
        a scalar gets 1). ``create_graph``: record the backward pass itself, so that the
        gradients can be differentiated again. The graph is released afterwards unless
        ``retain_graph`` (default: ``create_graph``).
        """
        from .backprop import backward
        backward(self, grad, create_graph=create_graph, retain_graph=retain_graph)

    # ---- operators ----------------------------------------------------------------------
    def __add__(self, other): return arith.add(self, other)
    def __radd__(self, other): return arith.add(other, self)
    def __sub__(self, other): return arith.sub(self, other)
    def __rsub__(self, other): return arith.sub(other, self)
    def __mul__(self, other): return arith.mul(self, other)
    def __rmul__(self, other): return arith.mul(other, self)
    def __truediv__(self, other): return arith.div(self, other)
    def __rtruediv__(self, other): return arith.div(other, self)
    def __pow__(self, other): return arith.pow(self, other)
    def __rpow__(self, other): return arith.pow(other, self)
    def __matmul__(self, other): return arith.matmul(self, other)
    def __rmatmul__(self, other): return arith.matmul(other, self)
    def __neg__(self): return arith.neg(self)
    def __pos__(self): return self
    def __abs__(self): return elementwise.abs(self)
    def __getitem__(self, index): return shape.getitem(self, index)

    # comparisons have no gradient: they return plain boolean arrays
    def __lt__(self, other): return self.data < _data(other)
    def __le__(self, other): return self.data <= _data(other)
    def __gt__(self, other): return self.data > _data(other)
    def __ge__(self, other): return self.data >= _data(other)
    def __eq__(self, other): return self.data == _data(other)
    def __ne__(self, other): return self.data != _data(other)
    __hash__ = object.__hash__

    # ---- methods --------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        return reduce.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        return reduce.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims: bool = False) -> "Tensor":
        return reduce.max(self, axis, keepdims)

    def exp(self) -> "Tensor":
        return elementwise.exp(self)

    def log(self) -> "Tensor":
        return elementwise.log(self)

    def reshape(self, *new_shape) -> "Tensor":
        """``t.reshape(2, -1)`` or ``t.reshape((2, -1))``."""
        if len(new_shape) == 1 and isinstance(new_shape[0], (tuple, list)):
            new_shape = new_shape[0]
        return shape.reshape(self, new_shape)

    def transpose(self, *axes) -> "Tensor":
        """Reverse the axes, or put them in the order ``axes``."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return shape.transpose(self, axes or None)

    @property
    def T(self) -> "Tensor":
        return shape.transpose(self, None)

    def flatten(self, start_axis: int = 0) -> "Tensor":
        """Merge the axes from ``start_axis`` on: ``flatten()`` is 1-D, ``flatten(1)`` keeps the batch."""
        return shape.flatten(self, start_axis)


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` if it is a Tensor, else a constant Tensor; a constant next to a floating
    tensor ``like`` gets its dtype (so ``x * 2`` and ``x + mask`` stay float32)."""
    if isinstance(value, Tensor):
        return value
    if like is not None and like.data.dtype.kind == "f":
        return Tensor(to_array(value, like.data.dtype))
    return Tensor(value)


# The operations live in their own modules and import Tensor from here.
from . import arith, elementwise, reduce, shape  # noqa: E402
