"""Two layers written by their forward alone: LayerNorm and Swish.

    nnpy train --config examples/layernorm-mlp.yaml --plugin examples/plugins/layernorm.py

Importing this file registers both, so a config can name them like built-in layers. The
LayerNorm here is registered as ``PluginLayerNorm``: nnpy has a built-in ``LayerNorm`` (with a
hand-written backward, ``nnpy.functional.layer_norm``); this one shows the same layer written by its
forward alone.
Their backward passes come from nnpy.autograd; ``nnpy gradcheck`` checks them.
"""
from nnpy import register_layer
from nnpy.autograd import AutogradLayer, sigmoid, sqrt


@register_layer("PluginLayerNorm")
class LayerNorm(AutogradLayer):
    """Normalize each sample over its last axis, then scale and shift (Ba et al., 2016).

    x̂ = (x − mean(x)) / sqrt(var(x) + ε),  y = γ · x̂ + β,  mean and var over the last axis.
    Input (N, F) or (N, …, F); output the same. ``gamma``, ``beta``: (F,).
    """

    def __init__(self, epsilon: float = 1e-5, name: str | None = None):
        super().__init__(name)
        if float(epsilon) <= 0:
            raise ValueError(f"epsilon must be positive, not {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.add_param("gamma", input_shape[-1:], "ones")
        self.add_param("beta", input_shape[-1:], "zeros")
        return input_shape

    def forward(self, x, training=False):
        centered = x - x.mean(axis=-1, keepdims=True)
        variance = (centered * centered).mean(axis=-1, keepdims=True)
        x_hat = centered / sqrt(variance + self.epsilon)
        return x_hat * self.param("gamma") + self.param("beta")


@register_layer("Swish", "SiLU")
class Swish(AutogradLayer):
    """y = x · σ(β·x) (Ramachandran et al., 2017); β = 1 is SiLU. Any input shape."""

    def __init__(self, beta: float = 1.0, name: str | None = None):
        super().__init__(name)
        self.beta = float(beta)

    def forward(self, x, training=False):
        return x * sigmoid(self.beta * x)
