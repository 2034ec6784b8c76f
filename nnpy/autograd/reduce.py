"""Reductions over axes: sum, mean, max. Their gradients spread dy back over the reduced axes."""
from __future__ import annotations

import builtins
import math

from .function import Function
from .shape import broadcast_to, normalize_axis, reshape
from .tensor import Tensor, as_tensor


def reduced_axes(axis, shape, op: str) -> tuple:
    """``axis`` (None, an int or a tuple, negative allowed) as sorted non-negative axes."""
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted({normalize_axis(int(a), ndim, op, shape) for a in axes}))


def kept_shape(shape, axes) -> tuple:
    """The shape of a reduction over ``axes`` with ``keepdims=True``."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class Sum(Function):
    """y = Σ x over ``axes``;  dx = dy broadcast back over them."""

    def __init__(self, axes: tuple, keepdims: bool):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return (broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)), x.shape),)


class Max(Function):
    """y = max x over ``axes``;  dx = dy at the maximum (shared equally between ties), else 0."""

    def __init__(self, axes: tuple, keepdims: bool):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        y = x.max(axis=self.axes, keepdims=True)
        at_max = x == y
        self.share = at_max / at_max.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        return y if self.keepdims else y.reshape([d for i, d in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        x = self.inputs[0]
        return (broadcast_to(reshape(gy, kept_shape(x.shape, self.axes)), x.shape) * self.share,)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:   # noqa: A001 (Tensor.sum)
    x = as_tensor(x)
    return Sum(reduced_axes(axis, x.shape, "sum"), bool(keepdims))(x)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """sum / (number of elements reduced)."""
    x = as_tensor(x)
    axes = reduced_axes(axis, x.shape, "mean")
    count = math.prod(x.shape[a] for a in axes)
    return Sum(axes, bool(keepdims))(x) * (1.0 / builtins.max(count, 1))


def max(x, axis=None, keepdims: bool = False) -> Tensor:   # noqa: A001 (Tensor.max)
    x = as_tensor(x)
    axes = reduced_axes(axis, x.shape, "max")
    if any(x.shape[a] == 0 for a in axes):
        raise Max(axes, keepdims).shape_error([x], "a maximum over zero elements")
    return Max(axes, bool(keepdims))(x)
