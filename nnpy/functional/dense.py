"""The fully connected map y = x @ W + b over the last axis, and its gradients.

Shapes: x (…, in), W (in, out), b (out,) or None, y (…, out) — any leading axes (a batch, or a
batch of sequences), each row mapped alike.
"""
from __future__ import annotations

from ..backend import xp


def dense(x, W, b):
    """y = x @ W + b  (…, out)."""
    y = x @ W
    if b is not None:
        y += b
    return y


def dense_backward(x, W, dy, dW, db, needs_input_grad: bool = True):
    """dW = Σ_rows xᵀ dy  and  db = Σ_rows dy, written into ``dW`` (in, out) and ``db`` (out,) (None:
    no bias); returns dx = dy @ Wᵀ (…, in), or None without ``needs_input_grad``."""
    x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])    # the rows (M, in), (M, out)
    xp.matmul(x2.T, dy2, out=dW)
    if db is not None:
        dy2.sum(axis=0, out=db)
    if not needs_input_grad:
        return None
    return dy @ W.T
