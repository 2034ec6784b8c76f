"""2-D convolution and max pooling, composed of differentiable pieces.

``conv2d`` is im2col followed by one matrix product, as ``nnpy.functional.conv2d`` computes
it (``Im2Col`` and ``Col2Im`` run ``nnpy.functional``'s im2col and col2im); they are each
other's backward (adjoint linear maps), so convolutions can be differentiated any number of
times.
``max_pool2d`` picks one input per window with an integer index, and indexing
scatters the gradient back.
"""
from __future__ import annotations

from ..backend import xp
from ..errors import ShapeError
from .. import functional as F
from ..functional.windows import check_padding, pair, resolve_padding
from .function import Function
from .tensor import Tensor, as_tensor


class Im2Col(Function):
    """x (N, C, H, W) -> patches (N, Ho, Wo, C, kh, kw) (``nnpy.functional.im2col``)."""

    def __init__(self, kernel: tuple, stride: tuple, pads: tuple):
        self.kernel, self.stride, self.pads = kernel, stride, pads

    def forward(self, x):
        return F.im2col(x, self.kernel, self.stride, self.pads)

    def backward(self, gcols):
        return (Col2Im(self.inputs[0].shape, self.stride, self.pads)(gcols),)


class Col2Im(Function):
    """The adjoint of Im2Col (``nnpy.functional.col2im``): every patch value is added back onto
    the pixel it came from."""

    def __init__(self, x_shape: tuple, stride: tuple, pads: tuple):
        self.x_shape, self.stride, self.pads = tuple(x_shape), stride, pads

    def forward(self, cols):
        return F.col2im(cols, self.x_shape, self.stride, self.pads)

    def backward(self, gx):
        kernel = tuple(self.inputs[0].shape[4:6])
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
    cols = Im2Col((kh, kw), stride, pads)(x)                     # (N, Ho, Wo, C, kh, kw)
    n, ho, wo = cols.shape[:3]
    y = cols.reshape(n * ho * wo, c * kh * kw) @ W.reshape(f, c * kh * kw).T   # (N·Ho·Wo, F)
    y = y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)            # (N, F, Ho, Wo)
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

    The winner of each window is found on the array (``nnpy.functional.max_pool2d_winners``, as
    the MaxPool2D layer finds it); the output is ``x.flatten()[winners]``, so its gradient goes to
    the winners (added up where overlapping windows share one).
    """
    x = as_tensor(x)
    (kh, kw) = pair(size, "size")
    (sh, sw) = (kh, kw) if stride is None else pair(stride, "stride")
    if x.ndim != 4 or x.shape[2] < kh or x.shape[3] < kw:
        raise ShapeError(f"max_pool2d: input of shape {tuple(x.shape)} must be (N, C, H, W) with H ≥ {kh} and "
                         f"W ≥ {kw} for {kh}×{kw} windows")
    winners = F.max_pool2d_winners(x.data, (kh, kw), (sh, sw), ((x.shape[2] - kh) // sh + 1,
                                                                 (x.shape[3] - kw) // sw + 1))
    return x.reshape(-1)[winners]
