"""Batch normalization over "channel rows": an input seen as (A, C, B), normalized per channel c
over the A·B numbers of axes 0 and 2.

An (N, F) input is (N, F, 1); an (N, C, H, W) input is (N, C, H·W) (``channel_rows``). Per-channel
constants then broadcast as (C, 1).

    training:   μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β
    evaluation: the same map with running statistics: y = x·a + (β − μ·a),  a = γ/√(σ² + ε)
"""
from __future__ import annotations

from ..backend import xp


def channel_rows(x):
    """x (N, C) or (N, C, H, W) as rows (N, C, B), and the function that turns rows back into
    x's shape."""
    shape = x.shape
    rows = xp.ascontiguousarray(x).reshape(shape[0], shape[1], -1)
    return rows, lambda r: r.reshape(shape)


def channel_sums(rows):
    """Σ rows over axes 0 and 2: (C,) for rows (A, C, B)."""
    return rows.sum(axis=(0, 2))


def channel_dots(a, b):
    """Σ a·b over axes 0 and 2: (C,) for rows a, b (A, C, B)."""
    return xp.einsum("acb,acb->c", a, b)


def batch_norm(rows, gamma, beta, epsilon: float, sums=channel_sums, dots=channel_dots):
    """Training forward of rows (A, C, B): (y, mean, var, x_centered, inv_std); mean and var (C,)
    are the batch's (var biased, as np.var), x_centered = x − μ and inv_std = 1/√(σ² + ε) are what
    the backward needs (x̂ = x_centered · inv_std is never stored). ``sums``, ``dots``: how the
    per-channel sums are computed (``channel_sums``, ``channel_dots``; BatchNorm's fast mode
    passes BLAS products, ``nnpy.kernels.normalization``)."""
    n = rows.shape[0] * rows.shape[2]
    mean = sums(rows) / n
    x_centered = rows - mean[:, None]
    var = dots(x_centered, x_centered) / n                               # mean of squares
    inv_std = (1.0 / xp.sqrt(var + epsilon)).astype(rows.dtype)
    scale = gamma * inv_std
    y = xp.multiply(x_centered, scale[:, None])                          # y = γ·x̂ + β = x_centered·(γ/σ) + β
    y += beta[:, None]
    return y, mean, var, x_centered, inv_std


def batch_norm_backward(dy, x_centered, inv_std, gamma, out=None, sums=channel_sums, dots=channel_dots):
    """(dx, dgamma, dbeta) of the training forward, dy and dx (A, C, B):

        dβ = Σ dy,   dγ = Σ dy·x̂,
        dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))     (sums and means over axes 0 and 2)

    ``out``: where dx is written (dy itself may be given: the same numbers), else a new array.
    ``sums``, ``dots`` as in ``batch_norm``.
    """
    n = dy.shape[0] * dy.shape[2]
    dbeta = sums(dy)
    dgamma = dots(dy, x_centered) * inv_std
    scale = gamma * inv_std
    mean_dy, mean_dy_xhat = dbeta / n, dgamma / n
    dx = xp.multiply(dy, scale[:, None], out=out)                        # dy·(γ/σ)
    dx -= (scale * mean_dy)[:, None]                                     # − (γ/σ)·mean(dy)
    dx -= x_centered * (scale * mean_dy_xhat * inv_std)[:, None]         # − x_centered·(γ/σ)·mean(dy·x̂)/σ
    return dx, dgamma, dbeta


def batch_norm_evaluate(rows, mean, var, gamma, beta, epsilon: float):
    """Evaluation forward with the running statistics: (y, inv_std). y = x·a + b with a = γ/σ and
    b = β − μ·a: two passes instead of four (the same map as γ·(x − μ)/σ + β, rounded a few ulp
    differently)."""
    inv_std = (1.0 / xp.sqrt(var + epsilon)).astype(rows.dtype)
    scale = gamma * inv_std
    y = xp.multiply(rows, scale[:, None])
    y += (beta - mean * scale)[:, None]
    return y, inv_std


def batch_norm_evaluate_backward(dy, rows, mean, inv_std, gamma, out=None):
    """(dx, dgamma, dbeta) of the evaluation forward (the statistics are constants): dx = dy·γ/σ.
    ``out`` as in ``batch_norm_backward``."""
    dbeta = channel_sums(dy)
    dgamma = channel_dots(dy, rows - mean[:, None]) * inv_std
    return xp.multiply(dy, (gamma * inv_std)[:, None], out=out), dgamma, dbeta


def fold_batch_norm(W, b, mean, var, gamma, beta, epsilon: float):
    """A layer ``W`` (F, …), ``b`` (F,) (None: no bias) followed by the evaluation forward of batch
    norm over its F outputs, as one layer (W', b') with the same map::

        a = γ/√(σ² + ε),   W'[f] = W[f]·a[f],   b' = (b − μ)·a + β

    (y = (W⋆x + b − μ)·a + β). Rounded a few ulp differently from the two layers one after the other."""
    inv_std = (1.0 / xp.sqrt(var + epsilon)).astype(W.dtype)       # as batch_norm_evaluate
    scale = gamma * inv_std
    W_folded = W * scale.reshape(-1, *(1,) * (W.ndim - 1))
    b_folded = (-mean if b is None else b - mean) * scale + beta
    return W_folded, b_folded.astype(W.dtype, copy=False)


# --- layer normalization: each row (…, D) normalized over its own D numbers ------------------

def layer_norm(x, gamma, beta, epsilon: float):
    """x (…, D) normalized over its last axis, then scaled and shifted:
    x̂ = (x − mean)/√(var + ε), y = γ·x̂ + β, γ and β (D,) (β None: none). Returns (y, x_hat, inv_std), inv_std (…, 1)
    being what the backward needs besides x̂."""
    mean = x.mean(axis=-1, keepdims=True)
    x_centered = x - mean
    var = (x_centered * x_centered).mean(axis=-1, keepdims=True)       # biased, as np.var
    inv_std = 1 / xp.sqrt(var + x.dtype.type(epsilon))
    x_hat = x_centered * inv_std
    y = x_hat * gamma
    if beta is not None:
        y += beta
    return y, x_hat, inv_std


def layer_norm_backward(x_hat, inv_std, gamma, dy, dgamma, dbeta):
    """dγ = Σ_rows dy·x̂ and dβ = Σ_rows dy, written into ``dgamma``/``dbeta`` (D,) (None: no β); returns
    dx = inv_std · (g − mean(g) − x̂ · mean(g·x̂)) with g = dy·γ, means over the last axis."""
    d = x_hat.shape[-1]
    xp.einsum("md,md->d", dy.reshape(-1, d), x_hat.reshape(-1, d), out=dgamma)
    if dbeta is not None:
        dy.reshape(-1, d).sum(axis=0, out=dbeta)
    g = dy * gamma
    return inv_std * (g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True))
