"""Batch normalization."""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..layer import Layer

__all__ = ["BatchNorm"]


@register_layer("BatchNorm", "BatchNormalization", "BatchNorm2D", "BatchNorm1D")
class BatchNorm(Layer):
    """Normalize each feature (2-D input (N, F)) or channel (4-D input (N, C, H, W)).

    Training: x̂ = (x − μ_B) / sqrt(σ²_B + ε) with the batch's mean and (biased)
    variance, y = γ·x̂ + β, and the running statistics move towards the batch's:
    ``running = momentum · running + (1 − momentum) · batch`` (Keras' convention;
    the running variance uses the unbiased batch variance). Evaluation: the running
    statistics replace the batch's. ``params``: gamma, beta (F,) or (C,);
    ``buffers``: running_mean, running_var.
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5, name: str | None = None):
        super().__init__(name)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"momentum must be in [0, 1), not {momentum!r}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)

    def build(self, input_shape):
        if len(input_shape) not in (1, 3):
            raise self.shape_error("(features,) or (channels, height, width)", input_shape)
        c = input_shape[0]
        self.add_param("gamma", (c,), "ones")
        self.add_param("beta", (c,), "zeros")
        self.buffers = {"running_mean": xp.zeros(c, self.dtype), "running_var": xp.ones(c, self.dtype)}
        return input_shape

    def forward(self, x, training=False):
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)  # broadcast per feature / channel
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            n = x.size // mean.size
            m = self.momentum
            self.buffers["running_mean"] *= m
            self.buffers["running_mean"] += (1 - m) * mean
            self.buffers["running_var"] *= m
            self.buffers["running_var"] += (1 - m) * var * (n / max(n - 1, 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.training = training
        self.inv_std = (1.0 / xp.sqrt(var + self.epsilon)).astype(x.dtype)
        self.x_hat = (x - mean.reshape(shape)) * self.inv_std.reshape(shape)
        self.axes, self.shape = axes, shape
        return self.x_hat * self.params["gamma"].reshape(shape) + self.params["beta"].reshape(shape)

    def backward(self, grad_y):
        axes, shape = self.axes, self.shape
        self.grads["beta"][...] = grad_y.sum(axis=axes)
        self.grads["gamma"][...] = (grad_y * self.x_hat).sum(axis=axes)
        scale = (self.params["gamma"] * self.inv_std).reshape(shape)
        if not self.training:
            return grad_y * scale
        # dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)), means over the normalized axes
        n = grad_y.size // self.params["gamma"].size
        mean_dy = (self.grads["beta"] / n).reshape(shape)
        mean_dy_xhat = (self.grads["gamma"] / n).reshape(shape)
        return scale * (grad_y - mean_dy - self.x_hat * mean_dy_xhat)
