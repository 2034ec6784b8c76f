"""Element-wise functions and their derivatives.

Where the derivative is simplest in terms of the output y (exp, tanh, sigmoid,
sqrt) the backward uses the output tensor, so it stays differentiable.
"""
from __future__ import annotations

from .. import functional as F
from ..backend import xp
from .function import Function
from .shape import sum_to
from .tensor import Tensor, as_tensor


class Exp(Function):
    """y = eˣ;  dx = gy · y."""

    def forward(self, x):
        return xp.exp(x)

    def backward(self, gy):
        return (gy * self.output,)


class Log(Function):
    """y = ln x;  dx = gy / x."""

    def forward(self, x):
        return xp.log(x)

    def backward(self, gy):
        return (gy / self.inputs[0],)


class Sqrt(Function):
    """y = √x;  dx = gy / (2y)."""

    def forward(self, x):
        return xp.sqrt(x)

    def backward(self, gy):
        return (gy / (2 * self.output),)


class Sin(Function):
    """y = sin x;  dx = gy · cos x."""

    def forward(self, x):
        return xp.sin(x)

    def backward(self, gy):
        return (gy * cos(self.inputs[0]),)


class Cos(Function):
    """y = cos x;  dx = −gy · sin x."""

    def forward(self, x):
        return xp.cos(x)

    def backward(self, gy):
        return (-gy * sin(self.inputs[0]),)


class Tanh(Function):
    """y = tanh x;  dx = gy · (1 − y²)."""

    def forward(self, x):
        return F.tanh(x)

    def backward(self, gy):
        return (F.tanh_backward(self.output, gy),)


class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ);  dx = gy · y · (1 − y)."""

    def forward(self, x):
        return F.sigmoid(x)

    def backward(self, gy):
        return (F.sigmoid_backward(self.output, gy),)


class ReLU(Function):
    """y = max(x, 0);  dx = gy where x > 0, else 0 (the mask is a constant: relu'' = 0)."""

    def forward(self, x):
        return F.relu(x)

    def backward(self, gy):
        return (F.relu_backward(self.output, gy),)


class Abs(Function):
    """y = |x|;  dx = gy · sign(x) (0 at x = 0)."""

    def forward(self, x):
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, gy):
        return (gy * self.sign,)


class Maximum(Function):
    """y = max(a, b) element-wise; the gradient goes to the larger input, half to each on a tie."""
    mismatch = "cannot be broadcast together (trailing axes must be equal or 1)"

    def forward(self, a, b):
        y = xp.maximum(a, b)
        self.to_a = xp.where(a == b, 0.5, a > b).astype(y.dtype)   # a's share of the gradient
        return y

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy * self.to_a, a.shape) if self.needs_grad[0] else None,
                sum_to(gy * (1 - self.to_a), b.shape) if self.needs_grad[1] else None)


class Where(Function):
    """y = a where cond else b; the gradient goes to a where cond holds, to b elsewhere."""
    mismatch = "cannot be broadcast together (trailing axes must be equal or 1)"

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return xp.where(self.cond, a, b)

    def backward(self, gy):
        a, b = self.inputs
        zero = xp.zeros((), gy.dtype)
        return (sum_to(where(self.cond, gy, zero), a.shape) if self.needs_grad[0] else None,
                sum_to(where(self.cond, zero, gy), b.shape) if self.needs_grad[1] else None)


def exp(x): return Exp()(x)
def log(x): return Log()(x)
def sqrt(x): return Sqrt()(x)
def sin(x): return Sin()(x)
def cos(x): return Cos()(x)
def tanh(x): return Tanh()(x)
def sigmoid(x): return Sigmoid()(x)
def relu(x): return ReLU()(x)
def abs(x): return Abs()(x)          # noqa: A001 (also |x| via abs(tensor))
def maximum(a, b): return Maximum()(a, b)


def dropout(x, p: float, training: bool = True, rng=None):
    """Inverted dropout: while training, zero each value with probability ``p`` and scale the
    rest by 1/(1 − p), so evaluation (``training=False``) is the identity.

    ``rng``: the ``numpy.random.Generator`` to draw the mask from (a layer passes ``self.rng``,
    the run's seeded generator; the draws are those of the built-in ``Dropout``).
    """
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), not {p!r}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    rng = rng if rng is not None else xp.random.default_rng()
    return x * F.dropout_mask(rng, x.shape, p, x.dtype)   # the mask is a constant of x's dtype


def where(cond, a, b):
    """``a`` where the boolean array ``cond`` is true, else ``b`` (all three broadcast together)."""
    if isinstance(cond, Tensor):
        cond = cond.data
    return Where(xp.asarray(cond, dtype=bool))(a, b)
