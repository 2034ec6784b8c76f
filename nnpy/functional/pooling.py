"""Max and average pooling over (N, C, H, W) images, and global average pooling.

A window of size (kh, kw) at (sh·ho, sw·wo) of the padded input; ``pads`` = ((top, bottom),
(left, right)). Output (N, C, Ho, Wo), Ho = (H + top + bottom − kh) // sh + 1.

    max:  y[n, c, ho, wo] = max_{i,j} xpad[n, c, sh·ho + i, sw·wo + j]    (padding: −∞),
          its gradient going to the first maximum of the window (row-major)
    avg:  y[n, c, ho, wo] = Σ_{i,j} xpad[n, c, sh·ho + i, sw·wo + j] / (kh·kw)   (padding: 0, counted)

Max pooling finds each window's winner once (an argmax over a strided view of all windows) and
picks it; average pooling folds over the kh·kw window offsets, each a strided (N, C, Ho, Wo) view
of the padded input — loops over offsets, never over pixels. ``nnpy.kernels.pooling`` computes the same numbers faster
when the windows tile the image.
"""
from __future__ import annotations

from ..backend import xp


def pad(x, pads, value: float):
    """x (N, C, H, W) with ``value`` around each image (a copy), or x itself without padding."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def window_views(xpad, pool, stride, out_hw):
    """The (N, C, Ho, Wo) view of xpad at each window offset (i, j), row-major."""
    (kh, kw), (sh, sw), (ho, wo) = pool, stride, out_hw
    return [xpad[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] for i in range(kh) for j in range(kw)]


def crop(dxpad, pads, shape):
    """The gradient of x (shape (N, C, H, W)) from that of its padded copy."""
    (top, _), (left, _) = pads
    return dxpad[:, :, top:top + shape[2], left:left + shape[3]]


def max_pool2d_winners(xpad, pool, stride, out_hw):
    """Where each window's maximum is: flat indices into xpad (N, C, Hp, Wp), shape (N, C, Ho, Wo);
    on ties the first maximum in row-major window order (smallest row, then smallest column)."""
    (kh, kw), (sh, sw), (ho, wo) = pool, stride, out_hw
    n, c, hp, wp = xpad.shape
    windows = xp.lib.stride_tricks.sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    best = windows[:, :, :ho, :wo].reshape(n, c, ho, wo, kh * kw).argmax(axis=-1)   # offset in the window
    rows = xp.arange(ho)[:, None] * sh + best // kw
    cols = xp.arange(wo)[None, :] * sw + best % kw
    planes = xp.arange(n * c).reshape(n, c, 1, 1)                                  # the image (n, c)
    return (planes * hp + rows) * wp + cols


def max_pool2d(x, pool, stride, pads, out_hw):
    """(y, winners): y (N, C, Ho, Wo) the maximum of each window, picked from the padded input at
    ``winners`` (``max_pool2d_winners``), which the backward needs."""
    xpad = pad(x, pads, -xp.inf)
    winners = max_pool2d_winners(xpad, pool, stride, out_hw)
    return xpad.reshape(-1)[winners], winners


def max_pool2d_backward(winners, dy, x_shape, pads):
    """dx (x_shape): each window's gradient goes to its winner; overlapping windows add up."""
    (top, bottom), (left, right) = pads
    n, c, h, w = x_shape
    dxpad = xp.zeros((n, c, h + top + bottom, w + left + right), dy.dtype)
    xp.add.at(dxpad.reshape(-1), winners.reshape(-1), dy.reshape(-1))
    return crop(dxpad, pads, x_shape)


def avg_pool2d(x, pool, stride, pads, out_hw):
    """y (N, C, Ho, Wo): the mean of each window, the padding counted as zeros."""
    views = window_views(pad(x, pads, 0.0), pool, stride, out_hw)
    y = views[0].copy()
    for v in views[1:]:
        y += v
    y *= y.dtype.type(1.0 / len(views))
    return y


def avg_pool2d_backward(x_shape, dy, pool, stride, pads, out_hw):
    """dx (N, C, H, W): each window spreads dy / (kh·kw) over its elements."""
    (top, bottom), (left, right) = pads
    n, c, h, w = x_shape
    dxpad = xp.zeros((n, c, h + top + bottom, w + left + right), dy.dtype)
    g = dy * (1.0 / (pool[0] * pool[1]))
    for dv in window_views(dxpad, pool, stride, out_hw):
        dv += g
    return crop(dxpad, pads, x_shape)


def global_avg_pool2d(x):
    """y (N, C) = mean over (H, W)."""
    return x.mean(axis=(2, 3))


def global_avg_pool2d_backward(x, dy):
    """dx (N, C, H, W) = dy / (H·W) at every pixel (in x's memory order)."""
    dx = xp.empty_like(x, dtype=dy.dtype)
    dx[...] = (dy * (1.0 / (x.shape[2] * x.shape[3])))[:, :, None, None]
    return dx


def global_max_pool2d(x):
    """(y, winners): y (N, C) the maximum over (H, W); winners (N, C) its flat index in each
    (H·W) image, the first maximum in row-major order (the rule of ``max_pool2d``)."""
    n, c = x.shape[:2]
    winners = x.reshape(n, c, -1).argmax(axis=2)
    return xp.take_along_axis(x.reshape(n, c, -1), winners[:, :, None], axis=2)[:, :, 0], winners


def global_max_pool2d_backward(winners, dy, x_shape):
    """dx (x_shape): each image's gradient goes to its winner, zeros elsewhere."""
    n, c = x_shape[:2]
    dx = xp.zeros((n, c, x_shape[2] * x_shape[3]), dy.dtype)
    xp.put_along_axis(dx, winners[:, :, None], dy[:, :, None], axis=2)
    return dx.reshape(x_shape)


# ---- 1-D pooling over sequences (N, C, L): the 2-D pooling of images one row high ---------------

def max_pool1d(x, pool: int, stride: int, pads, out_len: int):
    """(y (N, C, Lo), winners): the maximum of each window of ``pool`` steps, ``stride`` apart;
    ``pads`` = (left, right), counted as −∞."""
    y, winners = max_pool2d(x[:, :, None, :], (1, pool), (1, stride), ((0, 0), tuple(pads)), (1, out_len))
    return y[:, :, 0, :], winners


def max_pool1d_backward(winners, dy, x_shape, pads):
    """dx (N, C, L): each window's gradient goes to its winner."""
    n, c, length = x_shape
    dx = max_pool2d_backward(winners, dy[:, :, None, :], (n, c, 1, length), ((0, 0), tuple(pads)))
    return dx[:, :, 0, :]


def avg_pool1d(x, pool: int, stride: int, pads, out_len: int):
    """y (N, C, Lo): the mean of each window (the padding counted as zeros, divisor ``pool``)."""
    return avg_pool2d(x[:, :, None, :], (1, pool), (1, stride), ((0, 0), tuple(pads)), (1, out_len))[:, :, 0, :]


def avg_pool1d_backward(x_shape, dy, pool: int, stride: int, pads, out_len: int):
    """dx (N, C, L): each window spreads dy / pool over its elements."""
    n, c, length = x_shape
    return avg_pool2d_backward((n, c, 1, length), dy[:, :, None, :], (1, pool), (1, stride),
                               ((0, 0), tuple(pads)), (1, out_len))[:, :, 0, :]


def global_avg_pool1d(x):
    """y (N, C) = mean over the sequence axis of x (N, C, L)."""
    return x.mean(axis=2)


def global_avg_pool1d_backward(x, dy):
    """dx (N, C, L) = dy / L at every step."""
    return global_avg_pool2d_backward(x[:, :, None, :], dy)[:, :, 0, :]
