"""The losses' math: each a mean over the batch, with its gradient with respect to the prediction.

``pred`` and targets arrive here already checked and shaped (the callers, ``nnpy.nn.losses`` and
``nnpy.autograd.losses``, name the culprit of a bad shape): ``t`` has ``pred``'s shape.
"""
from __future__ import annotations

from ..backend import xp


def one_hot(labels, classes: int, dtype):
    """(M,) integer classes -> (M, classes) rows of zeros with a 1 at the class."""
    rows = xp.zeros((labels.shape[0], classes), dtype=dtype)
    rows[xp.arange(labels.shape[0]), labels] = 1
    return rows


def cross_entropy(log_p, t):
    """Cross-entropy of log-probabilities log_p (M, C) (log_softmax of the logits) against
    target rows t (M, C), one-hot or probabilities: L = −Σ_mc t_mc · log_p_mc / M."""
    return -(t * log_p).sum() / log_p.shape[0]


def cross_entropy_backward(probs, t):
    """dL/dz = (softmax(z) − t) / M, with ``probs`` = softmax(z) (M, C)."""
    return (probs - t) * (1.0 / probs.shape[0])


def mse(d):
    """Mean squared error of the differences d = pred − t (any shape): L = mean(d²)."""
    return (d * d).mean()


def mse_backward(d):
    """dL/dpred = 2 d / size."""
    return d * d.dtype.type(2.0 / d.size)


def mae(d):
    """Mean absolute error of d = pred − t: L = mean(|d|)."""
    return xp.mean(xp.abs(d))


def mae_backward(d):
    """dL/dpred = sign(d) / size (0 where d = 0)."""
    return xp.sign(d) * d.dtype.type(1.0 / d.size)


def huber(d, delta: float):
    """L = mean(½d² where |d| ≤ δ, else δ(|d| − ½δ)) of d = pred − t: squared near 0, linear far away."""
    a = xp.abs(d)
    return xp.mean(xp.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)))


def huber_backward(d, delta: float):
    """dL/dpred = clip(d, −δ, δ) / size."""
    return xp.clip(d, -delta, delta) * d.dtype.type(1.0 / d.size)


def binary_cross_entropy(z, t):
    """Sigmoid + binary cross-entropy of logits z against targets t in [0, 1], element-wise,
    mean over all elements: L = mean(max(z, 0) − z·t + log(1 + e^−|z|)) (= −t log σ − (1−t) log(1−σ)).
    Returns (L, σ(z)); σ is computed from e^−|z| ∈ (0, 1], so nothing overflows."""
    e = xp.exp(-xp.abs(z))
    return xp.mean(xp.maximum(z, 0) - z * t + xp.log1p(e)), xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def binary_cross_entropy_backward(sig, t):
    """dL/dz = (σ(z) − t) / size."""
    return (sig - t) / t.size
