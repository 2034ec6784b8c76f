"""Softmax, log-softmax and the two standard losses, written with Tensors.

Softmax and log-softmax are single Functions (numerically stable forward, short
backward in terms of the output); the losses are compositions of them.
"""
from __future__ import annotations

from ..backend import xp
from ..errors import ShapeError
from .function import Function
from .shape import normalize_axis
from .tensor import Tensor, as_tensor


class Softmax(Function):
    """y = exp(x − max) / Σ exp(x − max) along ``axis``;  dx = y · (dy − Σ dy·y)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.output
        return (y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y = x − max − log Σ exp(x − max) along ``axis``;  dx = dy − exp(y) · Σ dy."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        z = x - x.max(axis=self.axis, keepdims=True)
        return z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        from .elementwise import exp
        return (gy - exp(self.output) * gy.sum(axis=self.axis, keepdims=True),)


def softmax(x, axis: int = -1) -> Tensor:
    x = as_tensor(x)
    return Softmax(normalize_axis(axis, x.ndim, "softmax", x.shape))(x)


def log_softmax(x, axis: int = -1) -> Tensor:
    x = as_tensor(x)
    return LogSoftmax(normalize_axis(axis, x.ndim, "log_softmax", x.shape))(x)


def one_hot(labels, classes: int, dtype) -> "xp.ndarray":
    """(M,) integer classes -> (M, classes) rows of zeros with a 1 at the class."""
    rows = xp.zeros((labels.shape[0], classes), dtype=dtype)
    rows[xp.arange(labels.shape[0]), labels] = 1
    return rows


def cross_entropy(logits, labels) -> Tensor:
    """Mean softmax cross-entropy: −mean_n log softmax(logits_n)[label_n].

    ``logits`` (N, C) or (…, C); ``labels``: integer classes of shape logits.shape[:-1],
    or probability rows of the logits' shape (one-hot or soft targets).
    """
    logits = as_tensor(logits)
    labels = labels.data if isinstance(labels, Tensor) else xp.asarray(labels)
    c = logits.shape[-1]
    log_p = log_softmax(logits, axis=-1).reshape(-1, c)
    if labels.dtype.kind in "iub":
        if labels.shape != logits.shape[:-1]:
            raise ShapeError(f"cross_entropy: logits of shape {tuple(logits.shape)} need integer labels of shape "
                             f"{tuple(logits.shape[:-1])}, not {tuple(labels.shape)}")
        labels = labels.reshape(-1).astype(xp.int64, copy=False)
        if labels.size and (labels.min() < 0 or labels.max() >= c):
            raise ShapeError(f"cross_entropy: labels must be classes 0..{c - 1} for logits of shape "
                             f"{tuple(logits.shape)}, got {labels.min()}..{labels.max()}")
        target = one_hot(labels, c, log_p.dtype)
    else:
        if labels.shape != logits.shape:
            raise ShapeError(f"cross_entropy: probability targets of shape {tuple(labels.shape)} do not match "
                             f"logits of shape {tuple(logits.shape)}")
        target = labels.reshape(-1, c).astype(log_p.dtype, copy=False)
    return -(log_p * target).sum() * (1.0 / max(log_p.shape[0], 1))


def mse(a, b) -> Tensor:
    """Mean squared error mean((a − b)²); ``a`` and ``b`` must have one shape (no silent broadcasting)."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = as_tensor(a, like), as_tensor(b, like)
    if a.shape != b.shape:
        raise ShapeError(f"mse: shapes {tuple(a.shape)} and {tuple(b.shape)} differ (reshape one of them)")
    d = a - b
    return (d * d).mean()
