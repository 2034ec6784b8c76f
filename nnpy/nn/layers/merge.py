"""Merge layers: several inputs in, one out (the joins of a ``Graph`` model).

A merge layer takes a *list* of inputs: ``build`` gets a tuple of sample shapes, ``forward``
a list of arrays ``(N, *shape_i)`` and ``backward`` returns a list of gradients, one per input,
in the same order. In a graph model a node lists its inputs: ``inputs: [branch_a, branch_b]``.
"""
from __future__ import annotations

from ... import functional as F
from ...errors import ShapeError
from ...registry import register_layer
from ..layer import Layer

__all__ = ["Add", "Concatenate", "Multiply"]


def _shapes_text(shapes) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


class Merge(Layer):
    """Base of the merge layers: checks that there are at least two inputs of equal rank."""

    many_inputs = True

    def mismatch(self, expected: str, input_shapes) -> ShapeError:
        """A ShapeError naming this layer, what it expects and the shapes it got."""
        return ShapeError(f"layer '{self.name or self.type_name}' ({self.type_name}) expects {expected}, but its "
                          f"input shapes are {_shapes_text(input_shapes)} (batch axis not shown)")

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise self.mismatch("a list of at least 2 inputs", input_shape)
        if len({len(s) for s in input_shape}) > 1:
            raise self.mismatch("inputs with the same number of axes", input_shape)
        return self.merged_shape(input_shape)

    def merged_shape(self, input_shapes) -> tuple:
        """The output shape; equal input shapes by default (Add, Multiply)."""
        if len(set(input_shapes)) > 1:
            raise self.mismatch("inputs of one shape", input_shapes)
        return input_shapes[0]


@register_layer("Concatenate")
class Concatenate(Merge):
    """The inputs side by side along ``axis``: (N, C₁, H, W), (N, C₂, H, W) → (N, C₁+C₂, H, W).

    ``axis`` counts the sample axes (no batch axis; negative counts from the end). Default:
    the channels, axis 0, for images (C, H, W) — PyTorch's ``torch.cat(dim=1)`` — and the
    last axis otherwise (features of (F,) vectors and of (T, F) sequences).
    """

    def __init__(self, axis: int | None = None, name: str | None = None):
        super().__init__(name)
        self.axis = axis

    def merged_shape(self, input_shapes) -> tuple:
        rank = len(input_shapes[0])
        axis = self.axis if self.axis is not None else (0 if rank == 3 else -1)
        if not -rank <= axis < rank:
            raise self.mismatch(f"an axis among the {rank} sample axes (axis={self.axis})", input_shapes)
        self.sample_axis = axis % rank
        others = {s[:self.sample_axis] + s[self.sample_axis + 1:] for s in input_shapes}
        if len(others) > 1:
            raise self.mismatch(f"inputs that agree in every axis but axis {self.sample_axis}", input_shapes)
        self.sizes = [s[self.sample_axis] for s in input_shapes]
        out = list(input_shapes[0])
        out[self.sample_axis] = sum(self.sizes)
        return tuple(out)

    def forward(self, xs, training=False):
        return F.concatenate(xs, axis=self.sample_axis + 1)

    def backward(self, grad_y):
        return F.concatenate_backward(grad_y, self.sizes, axis=self.sample_axis + 1)


@register_layer("Add")
class Add(Merge):
    """x₀ + x₁ + …, element by element; the inputs have one shape."""

    def forward(self, xs, training=False):
        self.count = len(xs)
        return F.add(xs)

    def backward(self, grad_y):
        return F.add_backward(grad_y, self.count)


@register_layer("Multiply")
class Multiply(Merge):
    """x₀ · x₁ · …, element by element (a gate: ``Multiply`` of a Sigmoid branch and a feature
    branch); the inputs have one shape."""

    def forward(self, xs, training=False):
        self.xs = list(xs)
        return F.multiply(self.xs)

    def backward(self, grad_y):
        grads = F.multiply_backward(grad_y, self.xs)
        self.xs = None
        return grads
