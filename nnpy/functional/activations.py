"""Element-wise activations and their backward passes; output and gradients have x's shape.

Each backward is written in terms of what the forward returned (y, or the mask of x > 0), as the
layers keep it; written with operators, it runs on Tensors too (a differentiable backward).
"""
from __future__ import annotations

from ..backend import xp


def relu(x):
    """y = max(x, 0)."""
    return xp.maximum(x, x.dtype.type(0))


def relu_backward(y, dy):
    """dx = dy · [y > 0]  (y = relu(x): y > 0 exactly where x > 0)."""
    return dy * (y > 0)


def leaky_relu(x, negative_slope: float):
    """y = x where x > 0, else negative_slope · x."""
    return xp.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(positive, dy, negative_slope: float):
    """dx = dy where x > 0 (``positive``, the mask), else negative_slope · dy."""
    return xp.where(positive, dy, dy * negative_slope)


def elu(x, alpha: float):
    """y = x where x > 0, else alpha · (eˣ − 1) (expm1 of min(x, 0): exact near 0, no overflow)."""
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))


def elu_backward(positive, y, dy, alpha: float):
    """dx = dy where x > 0, else dy · (y + alpha)  (d/dx alpha(eˣ − 1) = alpha eˣ = y + alpha)."""
    return xp.where(positive, dy, dy * (y + alpha))


def sigmoid(x):
    """y = 1 / (1 + e⁻ˣ), from e^−|x| ∈ (0, 1] so that nothing overflows for large |x|."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(y, dy):
    """dx = dy · y · (1 − y), with y = sigmoid(x)."""
    return dy * y * (1 - y)


def tanh(x):
    """y = tanh x."""
    return xp.tanh(x)


def tanh_backward(y, dy):
    """dx = dy · (1 − y²), with y = tanh(x)."""
    return dy * (1 - y * y)
