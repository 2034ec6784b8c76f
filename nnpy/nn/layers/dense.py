"""The fully connected layer (``nnpy.functional.dense``)."""
from __future__ import annotations

from ... import functional as F
from ... import kernels
from ...kernels import dense as dense_kernel
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
        return F.dense(x, self.params["W"], self.params.get("b"))

    def backward(self, grad_y):
        W = self.params["W"]
        if kernels.fast() and self.needs_input_grad and dense_kernel.applies(self.x):
            F.dense_backward(self.x, W, grad_y, self.grads["W"], self.grads.get("b"), needs_input_grad=False)
            return dense_kernel.input_grad_in_x_order(W, grad_y)       # dx laid out as x
        return F.dense_backward(self.x, W, grad_y, self.grads["W"], self.grads.get("b"), self.needs_input_grad)

    def flops(self):
        return 2 * self.params["W"].size * (self.input_shape[0] if len(self.input_shape) == 2 else 1)
