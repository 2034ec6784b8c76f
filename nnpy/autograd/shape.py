"""Operations that move numbers around without changing them: reshape, transpose,
broadcast, sum back to a shape, indexing, concatenate and stack.

Each backward moves the gradient back the same way: reshape it back, transpose it
back, scatter it back to where it was picked from.
"""
from __future__ import annotations

from ..backend import xp
from ..errors import ShapeError
from .function import Function
from .tensor import Tensor, as_tensor


def normalize_axis(axis: int, ndim: int, op: str, shape) -> int:
    """``axis`` in 0..ndim-1 (negative axes count from the end)."""
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for shape {tuple(shape)}")
    return axis % ndim


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(int(d) for d in shape)

    @property
    def mismatch(self):
        return f"cannot be reshaped to {self.shape} (the number of elements differs)"

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return (reshape(gy, self.inputs[0].shape),)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(int(a) for a in axes)

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return (transpose(gy, None),)
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a % len(self.axes)] = i
        return (transpose(gy, inverse),)


class BroadcastTo(Function):
    """Repeat along axes of size 1 (and new leading axes); the gradient sums them back."""
    mismatch = "cannot be broadcast together (trailing axes must be equal or 1)"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return (sum_to(gy, self.inputs[0].shape),)


class SumTo(Function):
    """Sum over the axes that broadcasting to a bigger shape added or stretched from 1."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        stretched = tuple(lead + i for i, d in enumerate(self.shape) if d == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
        return y.reshape(self.shape)

    def backward(self, gy):
        return (broadcast_to(gy, self.inputs[0].shape),)


def _picks_repeatedly(index) -> bool:
    """Can ``index`` pick one element twice? Only integer arrays (and lists) can."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, xp.ndarray)) and xp.asarray(p).dtype.kind in "iu" for p in parts)


def _plain_index(index):
    """Tensors used as indices become their arrays; lists become arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(p.data if isinstance(p, Tensor) else xp.asarray(p) if isinstance(p, list) else p
                  for p in parts)
    return parts if isinstance(index, tuple) else parts[0]


class GetItem(Function):
    """y = x[index]: slices, integers, integer arrays, boolean masks. The gradient is
    scattered back: zeros of x's shape with dy added at the picked places."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        try:
            return x[self.index]
        except IndexError as exc:
            raise ValueError(str(exc)) from None

    @property
    def mismatch(self):
        return f"cannot be indexed with {self.index!r}"

    def backward(self, gy):
        return (ScatterAdd(self.index, self.inputs[0].shape)(gy),)


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the adjoint of ``x[index]``).

    An integer array may pick an element several times; ``add.at`` adds every pick
    (``out[index] += g`` would keep only one). Its backward is indexing again.
    """

    def __init__(self, index, shape):
        self.index, self.shape = index, tuple(shape)

    def forward(self, g):
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _picks_repeatedly(self.index):
            xp.add.at(out, self.index, g)
        else:
            out[self.index] = g
        return out

    def backward(self, gy):
        return (getitem(gy, self.index),)


class Concatenate(Function):
    """Join along an existing axis; the gradient is cut back into the same pieces."""

    def __init__(self, axis: int):
        self.axis = axis

    @property
    def mismatch(self):
        return f"cannot be concatenated along axis {self.axis} (the other axes must agree)"

    def forward(self, *xs):
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x, needed in zip(self.inputs, self.needs_grad):
            stop = start + x.shape[self.axis]
            cut = (slice(None),) * self.axis + (slice(start, stop),)
            grads.append(getitem(gy, cut) if needed else None)
            start = stop
        return tuple(grads)


def reshape(x, shape) -> Tensor:
    x = as_tensor(x)
    return x if tuple(x.shape) == tuple(shape) else Reshape(shape)(x)


def transpose(x, axes=None) -> Tensor:
    return Transpose(axes)(x)


def broadcast_to(x, shape) -> Tensor:
    x = as_tensor(x)
    return x if tuple(x.shape) == tuple(shape) else BroadcastTo(shape)(x)


def sum_to(x, shape) -> Tensor:
    """``x`` summed down to ``shape`` (the reverse of broadcasting ``shape`` to ``x.shape``)."""
    x = as_tensor(x)
    return x if tuple(x.shape) == tuple(shape) else SumTo(shape)(x)


def getitem(x, index) -> Tensor:
    return GetItem(_plain_index(index))(x)


def flatten(x, start_axis: int = 0) -> Tensor:
    """Merge axes ``start_axis…`` into one: (N, C, H, W) -> (N, C·H·W) for ``start_axis=1``."""
    x = as_tensor(x)
    start = normalize_axis(start_axis, max(x.ndim, 1), "flatten", x.shape) if x.ndim else 0
    return reshape(x, (*x.shape[:start], -1) if x.ndim else (1,))


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along ``axis`` (all other axes equal)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError("concatenate: needs at least one tensor")
    ndim = tensors[0].ndim
    if any(t.ndim != ndim for t in tensors):
        raise Concatenate(axis).shape_error(tensors)
    return Concatenate(normalize_axis(axis, ndim, "concatenate", tensors[0].shape))(*tensors)


def stack(tensors, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis: ``stack([a, b]).shape == (2, *a.shape)``."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeError("stack: needs at least one tensor")
    shape = tensors[0].shape
    if any(t.shape != shape for t in tensors):
        shapes = " and ".join(str(tuple(t.shape)) for t in tensors)
        raise ShapeError(f"stack: shapes {shapes} differ (stack needs equal shapes)")
    axis = normalize_axis(axis, len(shape) + 1, "stack", shape)
    expanded = (*shape[:axis], 1, *shape[axis:])
    return concatenate([reshape(t, expanded) for t in tensors], axis=axis)
