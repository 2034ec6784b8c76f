"""Inverted dropout."""
from __future__ import annotations

from ... import functional as F
from ...registry import register_layer
from ..layer import Layer

__all__ = ["Dropout"]


@register_layer("Dropout")
class Dropout(Layer):
    """Training: zero each value with probability ``rate`` and scale the rest by 1/(1 − rate),
    so nothing changes at evaluation time (identity). The mask comes from the run's
    seeded generator ``self.rng``.
    """

    def __init__(self, rate: float = 0.5, name: str | None = None):
        super().__init__(name)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"rate must be in [0, 1), not {rate!r}")
        self.rate = float(rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        self.mask = F.dropout_mask(self.rng, x.shape, self.rate, x.dtype)   # (same shape as x)
        return x * self.mask

    def backward(self, grad_y):
        return grad_y if self.mask is None else grad_y * self.mask
