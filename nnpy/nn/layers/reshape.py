"""Layers that only change the shape of their input."""
from __future__ import annotations

import math

import numpy as np

from ...registry import register_layer
from ..layer import Layer

__all__ = ["Flatten", "Permute", "Reshape"]


@register_layer("Flatten")
class Flatten(Layer):
    """(N, d1, d2, …) -> (N, d1·d2·…). A view: no copy when the input is contiguous."""

    def build(self, input_shape):
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_y):
        return grad_y.reshape(grad_y.shape[0], *self.input_shape)


@register_layer("Reshape")
class Reshape(Layer):
    """(N, *input_shape) -> (N, *target_shape); one entry of ``target_shape`` may be −1."""

    def __init__(self, target_shape, name: str | None = None):
        super().__init__(name)
        self.target_shape = tuple(int(d) for d in target_shape)

    def build(self, input_shape):
        size, target = math.prod(input_shape), list(self.target_shape)
        if target.count(-1) > 1:
            raise self.shape_error(f"at most one -1 in target_shape {self.target_shape}", input_shape)
        if -1 in target:
            known = math.prod(d for d in target if d != -1)
            if known == 0 or size % known:
                raise self.shape_error(f"a size divisible by {known} for target_shape {self.target_shape}",
                                       input_shape)
            target[target.index(-1)] = size // known
        if math.prod(target) != size:
            raise self.shape_error(f"{math.prod(target)} values for target_shape {self.target_shape}",
                                   input_shape)
        return tuple(target)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], *self.output_shape)

    def backward(self, grad_y):
        return grad_y.reshape(grad_y.shape[0], *self.input_shape)


@register_layer("Permute")
class Permute(Layer):
    """Reorder the sample axes (Keras' ``Permute``): ``dims`` lists them in their new order,
    numbered from 1, the batch axis staying first. ``Permute((2, 1, 3))`` turns images
    (N, C, H, W) into (N, H, C, W) -- rows first, as a recurrent layer reads them.
    """

    def __init__(self, dims, name: str | None = None):
        super().__init__(name)
        self.dims = tuple(int(d) for d in dims)

    def build(self, input_shape):
        if sorted(self.dims) != list(range(1, len(input_shape) + 1)):
            raise self.shape_error(f"dims that reorder its {len(input_shape)} axes 1..{len(input_shape)}, "
                                   f"not {self.dims},", input_shape)
        self.axes = (0, *self.dims)                       # as numpy numbers them, with the batch
        self.inverse = tuple(int(a) for a in np.argsort(self.axes))
        return tuple(input_shape[d - 1] for d in self.dims)

    def forward(self, x, training=False):
        return x.transpose(self.axes)

    def backward(self, grad_y):
        return grad_y.transpose(self.inverse)
