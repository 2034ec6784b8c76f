"""The fully connected layer."""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..layer import Layer


@register_layer("Dense", "Linear")
class Dense(Layer):
    """y = x @ W + b.

    Input (N, in_features) — or (N, T, in_features), applied at every step; output
    (N, units) — or (N, T, units). ``W``: (in_features, units), ``b``: (units,).
    """

    def __init__(self, units: int, use_bias: bool = True, init="glorot_uniform",
                 bias_init="zeros", name: str | None = None):
        super().__init__(name)
        if int(units) < 1:
            raise ValueError(f"units must be a positive integer, not {units!r}")
        self.units, self.use_bias, self.init, self.bias_init = int(units), bool(use_bias), init, bias_init

    def build(self, input_shape):
        if len(input_shape) not in (1, 2):
            raise self.shape_error("(features,) or (steps, features) — put a Flatten before it", input_shape)
        self.add_param("W", (input_shape[-1], self.units), self.init)
        if self.use_bias:
            self.add_param("b", (self.units,), self.bias_init)
        return (*input_shape[:-1], self.units)

    def forward(self, x, training=False):
        self.x = x
        y = x @ self.params["W"]
        if self.use_bias:
            y += self.params["b"]
        return y

    def backward(self, grad_y):
        x2 = self.x.reshape(-1, self.x.shape[-1])
        g2 = grad_y.reshape(-1, grad_y.shape[-1])
        xp.matmul(x2.T, g2, out=self.grads["W"])
        if self.use_bias:
            g2.sum(axis=0, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        if self.x.ndim == 2 and self.x.flags.f_contiguous and not self.x.flags.c_contiguous:
            # x is the transpose of a contiguous array (a Flatten of a Conv2D's (C, H, W, N)
            # output): dx^T = W @ dy^T gives dx in that memory order, so the layers before this
            # one need no transposing copy (alexnet, batch 256: the ReLU before: 4.2 -> 0.5 ms)
            return xp.matmul(self.params["W"], grad_y.T).T
        return grad_y @ self.params["W"].T

    def flops(self):
        return 2 * self.params["W"].size * (self.input_shape[0] if len(self.input_shape) == 2 else 1)
