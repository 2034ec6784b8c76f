"""The fast twin of ``functional.normalization.channel_rows``: the rows of a batch-inner input
without a copy.

A Conv2D output is laid out (C, H, W, N) in memory (``nnpy.kernels.conv``). Its channel rows are
then (1, C, H·W·N), a view: every per-channel pass runs over one long contiguous stretch, and
the gradient comes back in the same memory order. Against numpy's broadcasting over the 4-D view
this took the resnet-fashion model's BatchNorm layers (forward + backward, batch 64) from 24 to
16 ms a step. The sums run in another order than over (N, C, H·W) rows: the same numbers to
float32 rounding.
"""
from __future__ import annotations

from functools import lru_cache

from ..backend import xp
from ..functional.normalization import channel_dots as plain_channel_dots, channel_sums as plain_channel_sums


def batch_inner(a) -> bool:
    """True when ``a`` (N, C, H, W) is laid out (C, H, W, N) in memory, as Conv2D's outputs are."""
    return a.ndim == 4 and a.transpose(1, 2, 3, 0).flags.c_contiguous and not a.flags.c_contiguous


def channel_rows(a, inner: bool):
    """``a`` (N, C) or (N, C, H, W) as rows ``(A, C, B)``, and the function that turns rows back
    into ``a``'s shape with that memory order. ``inner`` (4-D only): the rows of batch-inner
    memory, A = 1, B = H·W·N; else those of NCHW memory, A = N, B = H·W. A view of ``a`` when its
    memory is laid out that way, else a copy — so that a gradient's rows match its forward's."""
    if a.ndim == 2:
        a = xp.ascontiguousarray(a)
        return a.reshape(*a.shape, 1), lambda r: r.reshape(a.shape)
    n, c, h, w = a.shape
    if inner:
        rows = xp.ascontiguousarray(a.transpose(1, 2, 3, 0)).reshape(1, c, -1)
        return rows, lambda r: r.reshape(c, h, w, n).transpose(3, 0, 1, 2)
    return xp.ascontiguousarray(a).reshape(n, c, h * w), lambda r: r.reshape(n, c, h, w)


@lru_cache(maxsize=32)
def _ones(n: int, dtype: str):
    ones = xp.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def channel_sums(rows):
    """``functional.normalization.channel_sums`` (Σ over axes 0 and 2 of rows (A, C, B)); for
    batch-inner rows (A = 1) as one product with ones, ``rows[0] @ 1``: a BLAS GEMV, 3x faster than
    numpy's sum here (0.065 -> 0.023 ms at 32 × 12544), summed in another order (float32 rounding)."""
    if rows.shape[0] != 1:
        return plain_channel_sums(rows)
    return xp.matmul(rows[0], _ones(rows.shape[2], rows.dtype.str))


def channel_dots(a, b):
    """``functional.normalization.channel_dots`` (Σ a·b over axes 0 and 2); for batch-inner rows
    (A = 1) as C products of a row (1, B) with a column (B, 1), one stacked ``matmul``: BLAS's dot,
    2x faster than einsum here (0.085 -> 0.040 ms at 32 × 12544), float32 rounding apart."""
    if a.shape[0] != 1:
        return plain_channel_dots(a, b)
    return xp.matmul(a[0][:, None, :], b[0][:, :, None])[:, 0, 0]
