"""Batch normalization (``nnpy.functional.normalization``)."""
from __future__ import annotations

from ... import functional as F
from ... import kernels
from ...backend import xp
from ...kernels import normalization as fast_rows
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
    ``buffers``: running_mean, running_var. Frozen (``trainable = False``), it normalizes with
    the running statistics in training too and leaves them unchanged (Keras' rule).
    ``gamma_init``: γ's initializer, ``ones`` (y = x̂ at first); ``zeros`` makes the layer output
    β = 0 at first -- the last BatchNorm of a residual branch so, each block starts as its
    shortcut (Goyal et al. 2017; torchvision's ``zero_init_residual``).
    """

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5, gamma_init="ones", name: str | None = None):
        super().__init__(name)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"momentum must be in [0, 1), not {momentum!r}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.gamma_init = gamma_init

    def build(self, input_shape):
        if len(input_shape) not in (1, 3):
            raise self.shape_error("(features,) or (channels, height, width)", input_shape)
        c = input_shape[0]
        self.add_param("gamma", (c,), self.gamma_init)
        self.add_param("beta", (c,), "zeros")
        self.buffers = {"running_mean": xp.zeros(c, self.dtype), "running_var": xp.ones(c, self.dtype)}
        return input_shape

    def forward(self, x, training=False):
        self.rows_of = self._rows_like(x)
        rows, self.unrows = self.rows_of(x)                  # (A, C, B): per-channel sums over axes 0, 2
        training = training and self.trainable               # frozen: the running statistics stay
        self.training = training
        gamma, beta, run = self.params["gamma"], self.params["beta"], self.buffers
        if not training:
            self.rows = rows
            y, self.inv_std = F.batch_norm_evaluate(rows, run["running_mean"], run["running_var"], gamma, beta,
                                                    self.epsilon)
            return self.unrows(y)
        y, mean, var, self.x_centered, self.inv_std = F.batch_norm(rows, gamma, beta, self.epsilon, *self.sums)
        n, m = rows.shape[0] * rows.shape[2], self.momentum
        run["running_mean"] *= m
        run["running_mean"] += (1 - m) * mean
        run["running_var"] *= m
        run["running_var"] += (1 - m) * var * (n / max(n - 1, 1))     # the unbiased batch variance
        return self.unrows(y)

    def _rows_like(self, x):
        """How x and its gradient become channel rows: as a view of batch-inner memory in the fast
        mode (``nnpy.kernels.normalization``), else the plain (N, C, H·W) (``F.channel_rows``).
        Sets ``self.sums``: the per-channel sums the training forward and backward use (BLAS
        products in the fast mode)."""
        if kernels.fast():
            inner = fast_rows.batch_inner(x)
            self.sums = (fast_rows.channel_sums, fast_rows.channel_dots)
            return lambda a: fast_rows.channel_rows(a, inner)
        self.sums = (F.channel_sums, F.channel_dots)
        return F.channel_rows

    def backward(self, grad_y, overwrite: bool = False):
        """dx; ``overwrite``: grad_y is the caller's to give away, dx may be written over it
        (a Chain's fused BatchNorm + ReLU step passes the ReLU's fresh gradient so)."""
        dy, _ = self.rows_of(grad_y)                         # rows like the forward's, whatever dy's memory
        out = dy if overwrite else None                      # dy: grad_y's memory or a copy of it
        if self.training:
            dx, dgamma, dbeta = F.batch_norm_backward(dy, self.x_centered, self.inv_std, self.params["gamma"], out,
                                                      *self.sums)
        else:   # after an evaluation forward: the running statistics are constants
            dx, dgamma, dbeta = F.batch_norm_evaluate_backward(dy, self.rows, self.buffers["running_mean"],
                                                               self.inv_std, self.params["gamma"], out)
        self.grads["gamma"][...], self.grads["beta"][...] = dgamma, dbeta
        return self.unrows(dx)
