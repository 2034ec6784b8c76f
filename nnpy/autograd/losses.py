"""Softmax, log-softmax and the two standard losses, as Tensor operations.

Softmax and log-softmax are single Functions whose forward and backward are the ones of
``nnpy.functional`` (the backward runs on Tensors there, so it can be differentiated again);
the losses apply ``nnpy.functional``'s formulas to Tensors.
"""
from __future__ import annotations

from .. import functional as F
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
        return F.softmax(x, self.axis)

    def backward(self, gy):
        return (F.softmax_backward(self.output, gy, self.axis),)


class LogSoftmax(Function):
    """y = x − max − log Σ exp(x − max) along ``axis``;  dx = dy − exp(y) · Σ dy."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        return F.log_softmax(x, self.axis)

    def backward(self, gy):
        return (F.log_softmax_backward(self.output, gy, self.axis),)


def softmax(x, axis: int = -1) -> Tensor:
    x = as_tensor(x)
    return Softmax(normalize_axis(axis, x.ndim, "softmax", x.shape))(x)


def log_softmax(x, axis: int = -1) -> Tensor:
    x = as_tensor(x)
    return LogSoftmax(normalize_axis(axis, x.ndim, "log_softmax", x.shape))(x)


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
        target = F.one_hot(labels, c, log_p.dtype)
    else:
        if labels.shape != logits.shape:
            raise ShapeError(f"cross_entropy: probability targets of shape {tuple(labels.shape)} do not match "
                             f"logits of shape {tuple(logits.shape)}")
        target = labels.reshape(-1, c).astype(log_p.dtype, copy=False)
    if log_p.shape[0] == 0:
        return (log_p * target).sum()          # no positions: 0, still a function of the logits
    return F.cross_entropy(log_p, target)


def mse(a, b) -> Tensor:
    """Mean squared error mean((a − b)²); ``a`` and ``b`` must have one shape (no silent broadcasting)."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    a, b = as_tensor(a, like), as_tensor(b, like)
    if a.shape != b.shape:
        raise ShapeError(f"mse: shapes {tuple(a.shape)} and {tuple(b.shape)} differ (reshape one of them)")
    return F.mse(a - b)
