"""Batch normalization."""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..layer import Layer
from ..parallel import elementwise, outer_axis, parallel_for

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
        self.axes, self.shape, self.training = axes, shape, training
        if not training:
            return self._evaluate(x)
        mean = self._channel_mean(x, axes)
        x_centered = _apply(xp.subtract, x, mean.reshape(shape))
        var = self._channel_mean(_apply(xp.multiply, x_centered, x_centered), axes)   # as np.var does it
        n = x.size // mean.size
        m = self.momentum
        self.buffers["running_mean"] *= m
        self.buffers["running_mean"] += (1 - m) * mean
        self.buffers["running_var"] *= m
        self.buffers["running_var"] += (1 - m) * var * (n / max(n - 1, 1))
        self.inv_std = (1.0 / xp.sqrt(var + self.epsilon)).astype(x.dtype)
        self.x_hat = _apply(xp.multiply, x_centered, self.inv_std.reshape(shape), out=x_centered)
        y = _apply(xp.multiply, self.x_hat, self.params["gamma"].reshape(shape))
        return _apply(xp.add, y, self.params["beta"].reshape(shape), out=y)

    def _evaluate(self, x):
        """Evaluation: y = x·a + b with a = γ/σ and b = β − μ·a from the running statistics, two
        passes instead of four (the same map as γ·(x − μ)/σ + β, rounded a few ulp differently;
        the shipped models' test accuracies are unchanged)."""
        mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.x, self.inv_std = x, (1.0 / xp.sqrt(var + self.epsilon)).astype(x.dtype)
        scale = self.params["gamma"] * self.inv_std
        y = _apply(xp.multiply, x, scale.reshape(self.shape))
        return _apply(xp.add, y, (self.params["beta"] - mean * scale).reshape(self.shape), out=y)

    def backward(self, grad_y):
        axes, shape = self.axes, self.shape
        if not self.training:   # after an evaluation forward: x̂ from the running statistics
            x_centered = _apply(xp.subtract, self.x, self.buffers["running_mean"].reshape(shape))
            self.x_hat = _apply(xp.multiply, x_centered, self.inv_std.reshape(shape), out=x_centered)
        self.grads["beta"][...] = self._channel_sum(grad_y, axes)
        self.grads["gamma"][...] = self._channel_sum(_apply(xp.multiply, grad_y, self.x_hat), axes)
        scale = (self.params["gamma"] * self.inv_std).reshape(shape)
        if not self.training:
            return _apply(xp.multiply, grad_y, scale)
        # dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)), means over the normalized axes
        n = grad_y.size // self.params["gamma"].size
        mean_dy = (self.grads["beta"] / n).reshape(shape)
        mean_dy_xhat = (self.grads["gamma"] / n).reshape(shape)
        dx = _apply(xp.subtract, grad_y, mean_dy)
        dx = _apply(xp.subtract, dx, _apply(xp.multiply, self.x_hat, mean_dy_xhat), out=dx)
        return _apply(xp.multiply, dx, scale, out=dx)

    @staticmethod
    def _channel_sum(a, axes):
        """a.sum(axis=axes), split over channels between threads when they are a's outer axis
        in memory (each channel's sum is then the same numbers added in the same order)."""
        out = xp.empty(a.shape[1], a.dtype)
        if outer_axis(a) != 1:
            return a.sum(axis=axes, out=out)
        parallel_for(a.shape[1], lambda lo, hi: a[:, lo:hi].sum(axis=axes, out=out[lo:hi]), a.nbytes)
        return out

    def _channel_mean(self, a, axes):
        """a.mean(axis=axes) as numpy computes it (a sum, then a division by the count)."""
        return xp.true_divide(self._channel_sum(a, axes), a.size // a.shape[1])


def _apply(op, a, b, out=None):
    """op(a, b) for an array a and a per-channel b broadcast against it, in a's memory order,
    split over threads when large (``nnpy.nn.parallel``)."""
    out = xp.empty_like(a, dtype=xp.result_type(a, b)) if out is None else out
    return elementwise(op, a, xp.broadcast_to(b, a.shape), out=out)
