"""2-D convolution and max pooling, composed of differentiable pieces.

``conv2d`` is im2col followed by one matrix product (with ``nnpy.nn.im2col``'s
patch copy); ``Im2Col`` and ``Col2Im`` are each other's backward (they are adjoint
linear maps), so convolutions can be differentiated any number of times.
``max_pool2d`` picks one input per window with an integer index, and indexing
scatters the gradient back.
"""
from __future__ import annotations

from numpy.lib.stride_tricks import sliding_window_view

from ..backend import xp
from ..errors import ShapeError
from ..kernels.im2col import (BATCH_MIDDLE, check_padding, col2im, crop_from, im2col, output_size, pad_into, pair,
                         resolve_padding)
from .function import Function
from .tensor import Tensor, as_tensor


class Im2Col(Function):
    """x (N, C, H, W) -> patches (C, kh, kw, N, Ho, Wo): patch[c, i, j, n, ho, wo] = xpad[n, c, sh·ho+i, sw·wo+j]."""

    def __init__(self, kernel: tuple, stride: tuple, pads: tuple):
        self.kernel, self.stride, self.pads = kernel, stride, pads

    def forward(self, x):
        n, c, h, w = x.shape
        (top, bottom), (left, right) = self.pads
        (kh, kw), (sh, sw) = self.kernel, self.stride
        ho, wo = output_size(h, kh, sh, (top, bottom)), output_size(w, kw, sw, (left, right))
        xt = xp.zeros((c, n, h + top + bottom, w + left + right), dtype=x.dtype)   # (C, N, Hp, Wp)
        pad_into(x, self.pads, xt, BATCH_MIDDLE)
        return im2col(xt, self.kernel, self.stride, xp.empty((c, kh, kw, n, ho, wo), x.dtype), BATCH_MIDDLE)

    def backward(self, gcols):
        return (Col2Im(self.inputs[0].shape, self.stride, self.pads)(gcols),)


class Col2Im(Function):
    """The adjoint of Im2Col: every patch value is added back onto the pixel it came from."""

    def __init__(self, x_shape: tuple, stride: tuple, pads: tuple):
        self.x_shape, self.stride, self.pads = tuple(x_shape), stride, pads

    def forward(self, cols):
        n, c, h, w = self.x_shape
        (top, bottom), (left, right) = self.pads
        padded = xp.empty((c, n, h + top + bottom, w + left + right), dtype=cols.dtype)
        col2im(cols, self.stride, padded, BATCH_MIDDLE)
        return crop_from(padded, self.pads, xp.empty(self.x_shape, cols.dtype), BATCH_MIDDLE)

    def backward(self, gx):
        kernel = tuple(self.inputs[0].shape[1:3])
        return (Im2Col(kernel, self.stride, self.pads)(gx),)


def conv2d(x, W, b=None, stride=1, padding=0) -> Tensor:
    """y[n, f] = b[f] + Σ_c W[f, c] ⋆ x[n, c] (cross-correlation, as nnpy's ``Conv2D``).

    ``x`` (N, C, H, W), ``W`` (F, C, kh, kw), ``b`` (F,) or None; ``stride`` an int or
    a pair; ``padding`` an int, a pair, ``'valid'`` or ``'same'``. Output (N, F, Ho, Wo).
    As a matrix product, with K = C·kh·kw:  Y (F, N·Ho·Wo) = W (F, K) @ patches (K, N·Ho·Wo).
    """
    x, W = as_tensor(x), as_tensor(W)
    if x.ndim != 4 or W.ndim != 4 or x.shape[1] != W.shape[1]:
        raise ShapeError(f"conv2d: input of shape {tuple(x.shape)} and kernel of shape {tuple(W.shape)} do not "
                         f"fit: they must be (N, C, H, W) and (F, C, kh, kw) with the same C")
    f, c, kh, kw = W.shape
    stride = pair(stride, "stride")
    check_padding(padding)
    pads = resolve_padding(padding, (kh, kw), stride, x.shape[2:])
    if x.shape[2] + sum(pads[0]) < kh or x.shape[3] + sum(pads[1]) < kw:
        raise ShapeError(f"conv2d: input of shape {tuple(x.shape)} is smaller than the kernel of shape "
                         f"{tuple(W.shape)} (padding {padding!r})")
    cols = Im2Col((kh, kw), stride, pads)(x)                     # (C, kh, kw, N, Ho, Wo)
    n, ho, wo = cols.shape[3:]
    y = W.reshape(f, c * kh * kw) @ cols.reshape(c * kh * kw, n * ho * wo)
    y = y.reshape(f, n, ho, wo).transpose(1, 0, 2, 3)            # (N, F, Ho, Wo)
    if b is not None:
        b = as_tensor(b, y)
        if b.shape != (f,):
            raise ShapeError(f"conv2d: bias of shape {tuple(b.shape)} does not fit kernel of shape {tuple(W.shape)}; "
                             f"it must be ({f},)")
        y = y + b.reshape(1, f, 1, 1)
    return y


def max_pool2d(x, size, stride=None) -> Tensor:
    """The maximum of each ``size`` window of x (N, C, H, W), windows ``stride`` apart (default:
    ``size``, no overlap). Output (N, C, Ho, Wo) with Ho = (H − kh) // sh + 1.

    The winner of each window is found on the array; the output is ``x.flatten()[winners]``,
    so its gradient goes to the winners (added up where overlapping windows share one).
    """
    x = as_tensor(x)
    (kh, kw) = pair(size, "size")
    (sh, sw) = (kh, kw) if stride is None else pair(stride, "stride")
    if x.ndim != 4 or x.shape[2] < kh or x.shape[3] < kw:
        raise ShapeError(f"max_pool2d: input of shape {tuple(x.shape)} must be (N, C, H, W) with H ≥ {kh} and "
                         f"W ≥ {kw} for {kh}×{kw} windows")
    n, c, h, w = x.shape
    windows = sliding_window_view(x.data, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    ho, wo = windows.shape[2:4]
    best = windows.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1)                     # offset in the window
    rows = xp.arange(ho)[:, None] * sh + best // kw
    cols = xp.arange(wo)[None, :] * sw + best % kw
    planes = xp.arange(n * c).reshape(n, c, 1, 1)                                     # index of (n, c)
    winners = (planes * h + rows) * w + cols                                          # flat index into x
    return x.reshape(-1)[winners]
