"""Element-wise activations and Softmax. Input and output have the same shape."""
from __future__ import annotations

from ... import functional as F
from ... import kernels
from ...backend import xp
from ...registry import register_layer
from ..layer import Layer
from ...kernels.threads import elementwise

__all__ = ["ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax"]


def _masked(grad_y, y, out):
    """out = grad_y · [y > 0] (the mask as a bool array: 6x faster than np.where here)."""
    return xp.multiply(grad_y, y > 0, out=out)


@register_layer("ReLU")
class ReLU(Layer):
    """y = max(x, 0);  dx = dy · [y > 0]   (``F.relu``, ``F.relu_backward``).

    The fast twin of that math: both passes keep x's memory order, write into a fresh array and
    are split over threads when large (``nnpy.kernels.threads``); tests/functional checks that the
    results equal ``F.relu`` and ``F.relu_backward`` bit for bit.
    """

    def forward(self, x, training=False):
        if not kernels.fast():
            self.y = F.relu(x)
            return self.y
        self.y = elementwise(xp.maximum, x, x.dtype.type(0), out=xp.empty_like(x))
        return self.y

    def backward(self, grad_y):
        if not kernels.fast():
            return F.relu_backward(self.y, grad_y)
        return elementwise(_masked, grad_y, self.y, out=xp.empty_like(self.y, dtype=grad_y.dtype))


@register_layer("LeakyReLU")
class LeakyReLU(Layer):
    """y = x if x > 0 else negative_slope · x."""

    def __init__(self, negative_slope: float = 0.01, name: str | None = None):
        super().__init__(name)
        self.negative_slope = float(negative_slope)

    def forward(self, x, training=False):
        self.positive = x > 0
        return F.leaky_relu(x, self.negative_slope)

    def backward(self, grad_y):
        return F.leaky_relu_backward(self.positive, grad_y, self.negative_slope)


@register_layer("ELU")
class ELU(Layer):
    """y = x if x > 0 else alpha · (exp(x) − 1);  dy/dx = 1 or y + alpha."""

    def __init__(self, alpha: float = 1.0, name: str | None = None):
        super().__init__(name)
        self.alpha = float(alpha)

    def forward(self, x, training=False):
        self.positive = x > 0
        self.y = F.elu(x, self.alpha)
        return self.y

    def backward(self, grad_y):
        return F.elu_backward(self.positive, self.y, grad_y, self.alpha)


@register_layer("Sigmoid")
class Sigmoid(Layer):
    """y = 1 / (1 + exp(−x));  dy/dx = y (1 − y)."""

    def forward(self, x, training=False):
        self.y = F.sigmoid(x)
        return self.y

    def backward(self, grad_y):
        return F.sigmoid_backward(self.y, grad_y)


@register_layer("Tanh")
class Tanh(Layer):
    """y = tanh(x);  dy/dx = 1 − y²."""

    def forward(self, x, training=False):
        self.y = F.tanh(x)
        return self.y

    def backward(self, grad_y):
        return F.tanh_backward(self.y, grad_y)


@register_layer("Softmax")
class Softmax(Layer):
    """Softmax along ``axis`` (default: the last).

    For training a classifier use the ``cross_entropy`` loss on logits instead
    (fused and numerically stable); this layer is for models that must output
    probabilities.  dx = y · (dy − Σ dy·y).
    """

    def __init__(self, axis: int = -1, name: str | None = None):
        super().__init__(name)
        self.axis = int(axis)

    def forward(self, x, training=False):
        self.y = F.softmax(x, self.axis)
        return self.y

    def backward(self, grad_y):
        return F.softmax_backward(self.y, grad_y, self.axis)
