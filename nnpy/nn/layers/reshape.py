"""Layers that only change the shape of their input."""
from __future__ import annotations

import math

from ...registry import register_layer
from ..layer import Layer

__all__ = ["Flatten", "Reshape"]


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
