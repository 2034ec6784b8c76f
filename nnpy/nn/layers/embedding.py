"""Embedding: a lookup table from integer ids to learned vectors."""
from __future__ import annotations

from ...backend import xp
from ...errors import ShapeError
from ... import functional as F
from ...registry import register_layer
from ..layer import Layer

__all__ = ["Embedding"]


@register_layer("Embedding")
class Embedding(Layer):
    """y[..., :] = E[ids[...]].

    Input (N, T) integer ids in [0, input_dim) (any shape works; float arrays
    holding whole numbers are accepted and cast); output (N, T, output_dim).
    ``E``: (input_dim, output_dim). Ids are not differentiable: backward
    returns None.
    """

    def __init__(self, input_dim: int, output_dim: int, init="uniform", name: str | None = None):
        super().__init__(name)
        for key, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if int(value) < 1:
                raise ValueError(f"{key} must be a positive integer, not {value!r}")
        self.input_dim, self.output_dim, self.init = int(input_dim), int(output_dim), init

    def build(self, input_shape):
        self.add_param("E", (self.input_dim, self.output_dim), self.init)
        return (*input_shape, self.output_dim)

    def forward(self, x, training=False):
        self.ids = self._ids(x)
        return F.embedding(self.params["E"], self.ids)   # (N, T, output_dim), a copy

    def backward(self, grad_y):
        F.embedding_backward(self.ids, grad_y, self.grads["E"])
        return None                                      # ids are not differentiable

    def example_input(self, batch, rng):
        """Ids ``(batch, *input_shape)`` drawn from [0, input_dim)."""
        return rng.integers(0, self.input_dim, size=(batch, *self.input_shape))

    def _ids(self, x):
        """``x`` as an integer array, checked to hold whole numbers in [0, input_dim)."""
        x = xp.asarray(x)
        who = f"layer '{self.name or self.type_name}' ({self.type_name})"
        if x.dtype.kind == "f":
            ids = x.astype(xp.intp)
            if not xp.array_equal(ids, x):
                raise ValueError(f"{who} takes integer ids, but its input holds fractional values")
        elif x.dtype.kind in "iub":
            ids = x.astype(xp.intp, copy=False)
        else:
            raise ValueError(f"{who} takes integer ids, not an array of {x.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids[(ids < 0) | (ids >= self.input_dim)].flat[0]
            raise ShapeError(f"{who} got id {int(bad)}, outside [0, input_dim={self.input_dim}); "
                             f"input_dim must exceed the largest id")
        return ids
