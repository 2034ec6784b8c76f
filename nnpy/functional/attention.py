"""Scaled dot-product attention over heads, and its backward pass.

Shapes: q (N, H, Tq, Dh), k and v (N, H, Tk, Dh) — a batch of N sequences, H heads of width Dh.
A query at position i (counted from ``offset``: the positions already in a key/value cache) may
look at key j when j ≤ offset + i in causal attention, at every key otherwise.

    scores = q kᵀ / √Dh,   P = softmax(scores + mask),   out = (P ⊙ keep) v

``keep`` is attention dropout's mask (None: none), applied to the probabilities as nanoGPT does.
"""
from __future__ import annotations

from ..backend import xp
from .softmax import softmax, softmax_backward


def split_heads(a, heads: int):
    """(N, T, D) -> (N, H, T, D/H): head h holds columns h·D/H … (h+1)·D/H − 1 of the last axis."""
    n, t, d = a.shape
    return a.reshape(n, t, heads, d // heads).transpose(0, 2, 1, 3)


def merge_heads(a):
    """(N, H, T, Dh) -> (N, T, H·Dh), the inverse of ``split_heads``."""
    n, h, t, dh = a.shape
    return a.transpose(0, 2, 1, 3).reshape(n, t, h * dh)


def causal_mask(tq: int, tk: int, offset: int = 0):
    """(Tq, Tk) bool, True where query i must NOT see key j (j > offset + i)."""
    return xp.arange(tk)[None, :] > (offset + xp.arange(tq))[:, None]


def causal_bias(tq: int, tk: int, offset: int = 0, dtype=xp.float32):
    """(Tq, Tk) mask to add to the scores: 0 where query i sees key j, −∞ where it must not."""
    return xp.where(causal_mask(tq, tk, offset), dtype(-xp.inf), dtype(0))


def attention(q, k, v, causal: bool = True, offset: int = 0, keep=None):
    """out (N, H, Tq, Dh) and the probabilities P (N, H, Tq, Tk) (what the backward needs)."""
    scores = q @ k.swapaxes(-1, -2)
    scores *= q.dtype.type(1 / xp.sqrt(q.shape[-1]))
    if causal:
        scores += causal_bias(q.shape[-2], k.shape[-2], offset, q.dtype.type)
    probs = softmax(scores, axis=-1, out=scores)
    return (probs if keep is None else probs * keep) @ v, probs


def attention_backward(q, k, v, probs, dout, keep=None):
    """dq, dk, dv of ``attention`` (shapes of q, k, v) from dout (N, H, Tq, Dh); a masked score's
    probability is 0, so its gradient is 0 without looking at the mask again."""
    used = probs if keep is None else probs * keep
    dv = used.swapaxes(-1, -2) @ dout
    dprobs = dout @ v.swapaxes(-1, -2)
    if keep is not None:
        dprobs *= keep
    dscores = softmax_backward(probs, dprobs, axis=-1, out=dprobs)
    dscores *= q.dtype.type(1 / xp.sqrt(q.shape[-1]))
    return dscores @ k, dscores.swapaxes(-1, -2) @ q, dv
