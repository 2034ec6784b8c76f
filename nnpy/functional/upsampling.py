"""Upsampling images (N, C, H, W) by whole factors, as one matrix on each side.

Each output row is a fixed mix of input rows, and each output column of input columns, so

    y = A_h @ x @ A_wᵀ        A_h (Ho, H), A_w (Wo, W): the interpolation matrices
    dx = A_hᵀ @ dy @ A_w      (the backward is the same product transposed)

``interpolation_matrix`` writes those mixes down:

    nearest   output o reads input o // s  (PyTorch's ``mode='nearest'``)
    bilinear  output o reads the point src = (o + 0.5) / s − 0.5 (clamped at 0), split between
              floor(src) and the next input (clamped at the edge) by its fraction: PyTorch's
              ``mode='bilinear', align_corners=False`` and Keras' UpSampling2D(interpolation='bilinear').
"""
from __future__ import annotations

import numpy as np

from ..backend import xp


def interpolation_matrix(n_in: int, scale: int, mode: str, dtype) -> np.ndarray:
    """A (n_in·scale, n_in): row o holds the weights output o gives each input (rows sum to 1)."""
    out = xp.arange(n_in * scale)
    A = xp.zeros((n_in * scale, n_in), dtype)
    if mode == "nearest":
        A[out, out // scale] = 1
        return A
    src = xp.maximum((out + 0.5) / scale - 0.5, 0.0)
    lo = xp.floor(src).astype(int)
    hi = xp.minimum(lo + 1, n_in - 1)
    frac = src - lo
    xp.add.at(A, (out, lo), 1 - frac)          # add: at the edge lo == hi and the two weights sum
    xp.add.at(A, (out, hi), frac)
    return A


def upsample2d(x, A_h, A_w):
    """y (N, C, Ho, Wo) = A_h @ x @ A_wᵀ for x (N, C, H, W)."""
    return A_h @ x @ A_w.T


def upsample2d_backward(dy, A_h, A_w):
    """dx (N, C, H, W) = A_hᵀ @ dy @ A_w."""
    return A_h.T @ dy @ A_w
