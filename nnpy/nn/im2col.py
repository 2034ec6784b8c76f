"""Window arithmetic, im2col and col2im for 2-D convolution and pooling.

Convolution works on a batch-last copy of the input, ``xt``: (C, Hp, Wp, N), the
padded image with the batch axis innermost. Then every patch element is a
contiguous run of N numbers, so building the patch matrix is a copy of long runs
(never a gather of short rows), and the whole copy is one strided view::

    xt  (C, Hp, Wp, N)                         cols (C, kh, kw, Ho, Wo, N)
    ┌───────────────┐                          rows    (c, i, j)   = C·kh·kw
    │ ■ ■ · · ·     │  window (ho, wo) at      columns (ho, wo, n) = Ho·Wo·N
    │ ■ ■ · · ·     │  rows sh·ho … sh·ho+kh-1
    │ · · · · ·     │
    └───────────────┘  cols[c, i, j, ho, wo, n] = xt[c, sh·ho + i, sw·wo + j, n]

``W.reshape(F, C·kh·kw) @ cols`` is the convolution, laid out (F, Ho, Wo, N).
col2im is the adjoint: for each kernel offset (i, j) the slice ``cols[:, i, j]``
is added onto the strided window ``xt[:, i::sh, j::sw]`` (kh·kw vectorized adds).
"""
from __future__ import annotations

import math

from numpy.lib.stride_tricks import as_strided

from ..backend import xp


def pair(value, what: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 2)`` stays; anything else is a ValueError naming ``what``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) == value:
        value = (int(value), int(value))
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return int(value[0]), int(value[1])
    raise ValueError(f"{what} must be an int or a pair of ints, not {value!r}")


def check_padding(padding) -> None:
    """Raise ValueError unless ``padding`` is 'same', 'valid', an int >= 0 or a pair of them."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid', an int or a pair, not {padding!r}")
        return
    if min(pair(padding, "padding")) < 0:
        raise ValueError(f"padding must not be negative, not {padding!r}")


def resolve_padding(padding, kernel: tuple, stride: tuple, size: tuple) -> tuple[tuple, tuple]:
    """((top, bottom), (left, right)) for ``padding`` on an input of ``size`` (H, W).

    'valid' is no padding; 'same' gives ceil(size / stride) outputs and, like
    TensorFlow, puts the odd extra row/column at the bottom/right.
    """
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        pads = []
        for n, k, s in zip(size, kernel, stride):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads[0]), tuple(pads[1])
    ph, pw = pair(padding, "padding")
    return (ph, ph), (pw, pw)


def output_size(n: int, k: int, s: int, pads: tuple) -> int:
    """Number of windows of size k and stride s on n inputs padded by ``pads``."""
    return (n + pads[0] + pads[1] - k) // s + 1


class Workspace:
    """Scratch arrays kept across steps while shape and dtype repeat.

    Reusing them avoids glibc returning big blocks to the OS and page-faulting
    them back every step. An array is filled with ``fill`` when first made; code
    that writes only the interior of a padded buffer relies on its border keeping it.
    """

    def __init__(self):
        self._arrays = {}

    def get(self, name: str, shape: tuple, dtype, fill: float = 0.0):
        a = self._arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = self._arrays[name] = xp.full(shape, fill, dtype=dtype)
        return a


def nchw_to_padded_chwn(x, pads: tuple[tuple, tuple], out):
    """Copy x (N, C, H, W) into the interior of ``out`` (C, Hp, Wp, N); the border is left alone."""
    (top, _), (left, _) = pads
    _, _, h, w = x.shape
    xp.copyto(out[:, top:top + h, left:left + w, :], x.transpose(1, 2, 3, 0))
    return out


def padded_chwn_to_nchw(xt, pads: tuple[tuple, tuple], out):
    """Inverse of ``nchw_to_padded_chwn``: crop the border of xt (C, Hp, Wp, N) into out (N, C, H, W)."""
    (top, _), (left, _) = pads
    _, _, h, w = out.shape
    xp.copyto(out, xt[:, top:top + h, left:left + w, :].transpose(3, 0, 1, 2))
    return out


def im2col(xt, kernel: tuple, stride: tuple, out):
    """Patches of xt (C, Hp, Wp, N) into out (C, kh, kw, Ho, Wo, N), one strided copy."""
    (kh, kw), (sh, sw) = kernel, stride
    c, _, _, n = xt.shape
    ho, wo = out.shape[3], out.shape[4]
    s_c, s_h, s_w, s_n = xt.strides
    windows = as_strided(xt, shape=(c, kh, kw, ho, wo, n),
                         strides=(s_c, s_h, s_w, s_h * sh, s_w * sw, s_n), writeable=False)
    xp.copyto(out, windows)
    return out


def col2im(cols, stride: tuple, out):
    """Sum cols (C, kh, kw, Ho, Wo, N) back onto out (C, Hp, Wp, N), which is zeroed first."""
    sh, sw = stride
    _, kh, kw, ho, wo, _ = cols.shape
    out.fill(0)
    for i in range(kh):
        for j in range(kw):
            out[:, i:i + sh * ho:sh, j:j + sw * wo:sw, :] += cols[:, i, j]
    return out
