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


# --- GELU: x·Φ(x), Φ the standard normal distribution function ------------------------------

_SQRT_2_OVER_PI = 0.7978845608028654      # √(2/π)
_GELU_TANH_C = 0.044715


def erf(x):
    """The error function, element-wise, to the precision of x's dtype (numpy has none).

    float64: 2/√π · e^(−x²) · Σₙ (2x²)ⁿ·x / (1·3·5·…·(2n+1)), a series of positive terms (no
    cancellation) summed until its terms no longer change the sum (|x| ≥ 6 gives ±1 exactly).
    float32 and others: Abramowitz & Stegun 7.1.26, |error| ≤ 1.5·10⁻⁷ (float32's own rounding).
    """
    if x.dtype != xp.float64:
        # t = 1/(1 + p·|x|);  erf(|x|) ≈ 1 − t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·e^(−x²),
        # written in place (Horner's rule, innermost first): one pass per operation, no temporaries
        a = xp.abs(x)
        t = xp.multiply(a, x.dtype.type(0.3275911))
        t += 1
        xp.reciprocal(t, out=t)
        poly = xp.multiply(t, x.dtype.type(1.061405429))
        for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            poly += x.dtype.type(coefficient)
            poly *= t
        xp.multiply(a, a, out=t)                      # t is free again: e^(−x²)
        xp.negative(t, out=t)
        xp.exp(t, out=t)
        poly *= t
        xp.subtract(1, poly, out=poly)
        return xp.copysign(poly, x, out=poly)
    z = xp.clip(x, -6.0, 6.0)
    two_z2 = 2 * z * z
    term, total, n = z.copy(), z.copy(), 0
    while True:
        n += 1
        term *= two_z2 / (2 * n + 1)
        total += term
        if not xp.any(xp.abs(term) > 1e-17 * xp.abs(total)):
            break
    return total * (2 / xp.sqrt(xp.pi)) * xp.exp(-z * z)


def gelu(x, approximate: str = "none"):
    """y = x·Φ(x) = ½x(1 + erf(x/√2)); ``approximate='tanh'``: Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715x³))).
    Returns (y, gate), gate = Φ(x) (or its tanh form): what the backward needs besides x."""
    t_ = x.dtype.type
    if approximate == "tanh":
        gate = t_(0.5) * (1 + xp.tanh(t_(_SQRT_2_OVER_PI) * (x + t_(_GELU_TANH_C) * x * x * x)))
    else:
        gate = erf(x * t_(1 / xp.sqrt(2.0)))      # ½(1 + erf(x/√2)), the last two steps in place
        gate += 1
        gate *= t_(0.5)
    return x * gate, gate


def gelu_backward(x, gate, dy, approximate: str = "none"):
    """dx = dy · (Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π), with gate = Φ(x) from the forward; with
    ``approximate='tanh'`` the derivative of the tanh form, t = 2·gate − 1 its tanh:
    gate + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)."""
    t_ = x.dtype.type
    if approximate == "tanh":
        t = 2 * gate - 1
        return dy * (gate + t_(0.5) * x * (1 - t * t) * t_(_SQRT_2_OVER_PI) * (1 + t_(3 * _GELU_TANH_C) * x * x))
    pdf = xp.exp(t_(-0.5) * x * x) * t_(1 / xp.sqrt(2 * xp.pi))
    return dy * (gate + x * pdf)
