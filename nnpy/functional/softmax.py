"""Softmax and log-softmax along one axis, with their backward passes.

Shapes: any; ``axis`` picks the class axis. Subtracting the maximum first keeps every exponent
≤ 0, so nothing overflows (the result is the same: softmax(z) = softmax(z − c)).
"""
from __future__ import annotations

from ..backend import xp
from .math import exp, log


def softmax(z, axis: int = -1, out=None):
    """y = exp(z − max z) / Σ exp(z − max z) along ``axis``; same shape as z. ``out``: an array
    to write y into (``out=z`` overwrites the scores, one pass less over memory for each step)."""
    if out is None:
        e = exp(z - z.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    e = xp.subtract(z, z.max(axis=axis, keepdims=True), out=out)
    xp.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def softmax_backward(y, dy, axis: int = -1, out=None):
    """dz = y · (dy − Σ dy·y) along ``axis``, with y = softmax(z) (the Jacobian diag(y) − y yᵀ applied to dy).
    ``out``: an array to write dz into (``out=dy`` overwrites dy)."""
    if out is None:
        return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
    dz = xp.subtract(dy, (dy * y).sum(axis=axis, keepdims=True), out=out)
    dz *= y
    return dz


def log_softmax(z, axis: int = -1):
    """y = z − max z − log Σ exp(z − max z) along ``axis``; same shape as z."""
    z = z - z.max(axis=axis, keepdims=True)
    return z - log(exp(z).sum(axis=axis, keepdims=True))


def log_softmax_backward(y, dy, axis: int = -1):
    """dz = dy − exp(y) · Σ dy along ``axis``, with y = log_softmax(z) (so exp(y) = softmax(z))."""
    return dy - exp(y) * dy.sum(axis=axis, keepdims=True)
