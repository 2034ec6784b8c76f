"""2-D convolution (cross-correlation, as every framework computes it), plain and NCHW.

Shapes: x (N, C, H, W), W (F, C, kh, kw), b (F,) or None, y (N, F, Ho, Wo) with
Ho = (H + top + bottom − kh) // sh + 1 (and Wo alike); ``pads`` = ((top, bottom), (left, right)).

    y[n, f, ho, wo] = b[f] + Σ_c Σ_i Σ_j W[f, c, i, j] · xpad[n, c, sh·ho + i, sw·wo + j]

``patches`` gathers every window once, so the sum over (c, i, j) is one matrix product.
``nnpy.kernels.conv`` computes the same numbers faster (its own memory layout, kept scratch
arrays, threads); tests/functional checks the two against each other.
"""
from __future__ import annotations

from ..backend import xp


def pad(x, pads):
    """x (N, C, H, W) with ``pads`` zeros around each image: (N, C, H + top + bottom, W + left + right)."""
    (top, bottom), (left, right) = pads
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def patches(xpad, kernel, stride):
    """Every window of xpad (N, C, Hp, Wp): (N, Ho, Wo, C, kh, kw), a strided view (nothing copied)."""
    (kh, kw), (sh, sw) = kernel, stride
    windows = xp.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))  # (N, C, Hp−kh+1, ·, kh, kw)
    return windows[:, :, ::sh, ::sw].transpose(0, 2, 3, 1, 4, 5)


def im2col(x, kernel, stride, pads):
    """Every window of x (N, C, H, W) padded by ``pads``, copied out: cols (N, Ho, Wo, C, kh, kw)."""
    return xp.ascontiguousarray(patches(pad(x, pads), kernel, stride))


def col2im(dcols, x_shape, stride, pads):
    """The adjoint of ``im2col``: every patch value added back onto the pixel it came from.
    dcols (N, Ho, Wo, C, kh, kw) -> dx of shape ``x_shape`` (N, C, H, W)."""
    n, ho, wo, c, kh, kw = dcols.shape
    (sh, sw), (top, bottom), (left, right) = stride, *pads
    dxpad = xp.zeros((n, c, x_shape[2] + top + bottom, x_shape[3] + left + right), dcols.dtype)
    for i in range(kh):                  # each kernel offset adds its share back onto the pixels it read
        for j in range(kw):
            dxpad[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxpad[:, :, top:top + x_shape[2], left:left + x_shape[3]]


def conv2d(x, W, b, stride, pads):
    """y (N, F, Ho, Wo) = b + W ⋆ x, the sum over (c, i, j) as one product of
    patches (N·Ho·Wo, C·kh·kw) and Wᵀ (C·kh·kw, F)."""
    f = W.shape[0]
    cols = patches(pad(x, pads), W.shape[2:], stride)                 # (N, Ho, Wo, C, kh, kw), a view
    n, ho, wo = cols.shape[:3]
    y = cols.reshape(n * ho * wo, -1) @ W.reshape(f, -1).T              # (N·Ho·Wo, F)
    if b is not None:
        y = y + b
    return y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)               # (N, F, Ho, Wo)


def conv2d_backward(x, W, dy, stride, pads, needs_input_grad: bool = True):
    """Gradients of the convolution: (dx or None, dW, db).

        dW[f, c, i, j] = Σ_{n,ho,wo} dy[n, f, ho, wo] · xpad[n, c, sh·ho + i, sw·wo + j]
        db[f]          = Σ_{n,ho,wo} dy[n, f, ho, wo]
        dxpad[n, c, sh·ho + i, sw·wo + j] += Σ_f W[f, c, i, j] · dy[n, f, ho, wo]   (col2im; the padding cut off)
    """
    (f, c, kh, kw) = W.shape
    n, _, ho, wo = dy.shape
    dy_rows = dy.transpose(0, 2, 3, 1).reshape(n * ho * wo, f)         # (N·Ho·Wo, F)
    cols = patches(pad(x, pads), (kh, kw), stride).reshape(n * ho * wo, -1)
    dW = (dy_rows.T @ cols).reshape(W.shape)
    db = dy_rows.sum(axis=0)
    if not needs_input_grad:
        return None, dW, db
    dcols = (dy_rows @ W.reshape(f, -1)).reshape(n, ho, wo, c, kh, kw)
    return col2im(dcols, x.shape, stride, pads), dW, db


# ---- 1-D convolution: a 2-D convolution of images one row high ----------------------------------

def conv1d(x, W, b, stride: int, pads):
    """y (N, F, Lo) = b + W ⋆ x for sequences x (N, C, L) and W (F, C, k); ``pads`` = (left, right).

    The same sum as ``conv2d`` on images of height 1 with a (1, k) kernel:
    y[n, f, lo] = b[f] + Σ_c Σ_j W[f, c, j] · xpad[n, c, s·lo + j]."""
    y = conv2d(x[:, :, None, :], W[:, :, None, :], b, (1, stride), ((0, 0), tuple(pads)))
    return y[:, :, 0, :]


def conv1d_backward(x, W, dy, stride: int, pads, needs_input_grad: bool = True):
    """Gradients of ``conv1d``: (dx (N, C, L) or None, dW (F, C, k), db (F,)), from ``conv2d_backward``."""
    dx, dW, db = conv2d_backward(x[:, :, None, :], W[:, :, None, :], dy[:, :, None, :], (1, stride),
                                 ((0, 0), tuple(pads)), needs_input_grad)
    return (None if dx is None else dx[:, :, 0, :]), dW[:, :, 0, :], db


# ---- transposed 2-D convolution: the adjoint of conv2d's input gradient ---------------------------

def conv_transpose2d(x, W, b, stride, pads, out_hw):
    """y (N, F, Ho, Wo) for x (N, C, H, W) and W (C, F, kh, kw) (PyTorch's ConvTranspose2d layout).

    Every input pixel spreads its kernel-weighted copy onto the output, s pixels apart:

        ypad[n, f, sh·h + i, sw·w + j] += Σ_c x[n, c, h, w] · W[c, f, i, j],   y = ypad cropped by ``pads``

    which is exactly how ``conv2d_backward`` builds dx (``col2im``): this layer's forward is a
    convolution's input gradient, and its input gradient is that convolution (``conv2d``).
    ``out_hw`` = ((H − 1)·sh − top − bottom + kh + output_padding, …) picks the size;
    ``pads`` are the cropped (top, bottom), (left, right) of the full output."""
    n, c, h, w = x.shape
    _, f, kh, kw = W.shape
    cols = (x.transpose(0, 2, 3, 1).reshape(n * h * w, c) @ W.reshape(c, -1)).reshape(n, h, w, f, kh, kw)
    y = col2im(cols, (n, f, *out_hw), stride, pads)
    if b is not None:
        y = y + b[:, None, None]
    return y


def conv_transpose2d_backward(x, W, dy, stride, pads, needs_input_grad: bool = True):
    """Gradients of ``conv_transpose2d``: (dx (N, C, H, W) or None, dW (C, F, kh, kw), db (F,)).

        dx = conv2d(dy, W)                 (W's (C, F, kh, kw) is conv2d's (out, in, kh, kw))
        dW[c, f, i, j] = Σ_{n,h,w} x[n, c, h, w] · dypad[n, f, sh·h + i, sw·w + j]
    — conv2d_backward's dW with the roles of input and output gradient swapped."""
    _, dW, _ = conv2d_backward(dy, W, x, stride, pads, needs_input_grad=False)
    db = dy.sum(axis=(0, 2, 3))
    dx = conv2d(dy, W, None, stride, pads) if needs_input_grad else None     # (N, C, H, W): output_padding < stride
    return dx, dW, db
