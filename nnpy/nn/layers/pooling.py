"""Max, average and global average/max pooling over (N, C, H, W) images (``nnpy.functional.pooling``;
its fast twin when the windows tile the image: ``nnpy.kernels.pooling``), and over (N, C, L) sequences."""
from __future__ import annotations

from ... import functional as F
from ... import kernels
from ...functional.windows import (check_padding, check_padding1d, output_size, pair, resolve_padding,
                                  resolve_padding1d)
from ...kernels.pooling import TiledPool2D
from ...registry import register_layer
from ..layer import Layer

__all__ = ["MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D"]


class _Pool2D(Layer):
    """Shared options and window geometry."""
    is_max = False

    def __init__(self, pool_size=2, stride=None, padding="valid", name: str | None = None):
        super().__init__(name)
        self.pool_size = pair(pool_size, "pool_size")
        self.stride = self.pool_size if stride is None else pair(stride, "stride")
        if min(self.pool_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"pool_size and stride must be positive, not {pool_size!r}, {stride!r}")
        check_padding(padding)
        if not isinstance(padding, str) and any(2 * p > k for p, k in zip(pair(padding, "padding"),
                                                                          self.pool_size)):
            raise ValueError(f"padding must be at most half the pool size {self.pool_size}, not {padding!r}")
        self.padding = padding

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        c, h, w = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.stride
        self.pads = resolve_padding(self.padding, self.pool_size, self.stride, (h, w))
        if h + sum(self.pads[0]) < kh or w + sum(self.pads[1]) < kw:
            raise self.shape_error(f"images at least as large as the {kh}×{kw} pool", input_shape)
        self.out_hw = (output_size(h, kh, sh, self.pads[0]), output_size(w, kw, sw, self.pads[1]))
        tiled = self.pool_size == self.stride and self.pads == ((0, 0), (0, 0))
        self.kernel = TiledPool2D(self.pool_size, self.out_hw, self.is_max) if tiled else None
        return (c, *self.out_hw)

    def _check(self, x):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])

    def _geometry(self):
        return self.pool_size, self.stride, self.pads, self.out_hw

    def flops(self):
        c, (ho, wo), (kh, kw) = self.input_shape[0], self.out_hw, self.pool_size
        return c * ho * wo * kh * kw


@register_layer("MaxPool2D", "MaxPooling2D")
class MaxPool2D(_Pool2D):
    """y[n, c, ho, wo] = max of the (kh, kw) window at (sh·ho, sw·wo).

    Input (N, C, H, W); output (N, C, Ho, Wo). Padding counts as -inf. The gradient
    of a window goes to one element: on ties, the first maximum in row-major window
    order (smallest row, then smallest column).
    """
    is_max = True

    def forward(self, x, training=False):
        self._check(x)
        self.fast = self.kernel is not None and kernels.fast()
        if self.fast:
            return self.kernel.forward(x, training)
        self.x_shape = x.shape
        y, self.winners = F.max_pool2d(x, *self._geometry())
        return y

    def backward(self, grad_y):
        if self.fast:
            return self.kernel.backward(grad_y)
        return F.max_pool2d_backward(self.winners, grad_y, self.x_shape, self.pads)


@register_layer("AvgPool2D", "AveragePooling2D")
class AvgPool2D(_Pool2D):
    """y[n, c, ho, wo] = mean of the (kh, kw) window at (sh·ho, sw·wo).

    Input (N, C, H, W); output (N, C, Ho, Wo). Padding counts as zeros that are part
    of the window: the divisor is always kh·kw (PyTorch's ``count_include_pad=True``).
    """

    def forward(self, x, training=False):
        self._check(x)
        self.fast = self.kernel is not None and kernels.fast()
        if self.fast:
            return self.kernel.forward(x, training)
        self.x_shape = x.shape
        return F.avg_pool2d(x, *self._geometry())

    def backward(self, grad_y):
        if self.fast:
            return self.kernel.backward(grad_y)
        return F.avg_pool2d_backward(self.x_shape, grad_y, *self._geometry())


@register_layer("GlobalAvgPool2D", "GlobalAveragePooling2D")
class GlobalAvgPool2D(Layer):
    """y[n, c] = mean over (H, W) of x[n, c]. Input (N, C, H, W); output (N, C)."""

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        return (input_shape[0],)

    def forward(self, x, training=False):
        self.x = x
        return F.global_avg_pool2d(x)

    def backward(self, grad_y):
        return F.global_avg_pool2d_backward(self.x, grad_y)

    def flops(self):
        return self.input_shape[0] * self.input_shape[1] * self.input_shape[2]


@register_layer("GlobalMaxPool2D", "GlobalMaxPooling2D")
class GlobalMaxPool2D(Layer):
    """y[n, c] = max over (H, W) of x[n, c]. Input (N, C, H, W); output (N, C). The gradient goes
    to one pixel: on ties the first maximum in row-major order (as MaxPool2D)."""

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        return (input_shape[0],)

    def forward(self, x, training=False):
        self.x_shape = x.shape
        y, self.winners = F.global_max_pool2d(x)
        return y

    def backward(self, grad_y):
        return F.global_max_pool2d_backward(self.winners, grad_y, self.x_shape)

    def flops(self):
        return self.input_shape[0] * self.input_shape[1] * self.input_shape[2]


class _Pool1D(Layer):
    """Shared options and window geometry of the pools over sequences (N, C, L)."""

    def __init__(self, pool_size: int = 2, stride: int | None = None, padding="valid", name: str | None = None):
        super().__init__(name)
        stride = pool_size if stride is None else stride
        for what, value in (("pool_size", pool_size), ("stride", stride)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{what} must be a positive integer, not {value!r}")
        check_padding1d(padding)
        if isinstance(padding, int) and 2 * padding > pool_size:
            raise ValueError(f"padding must be at most half the pool size {pool_size}, not {padding!r}")
        self.pool_size, self.stride, self.padding = pool_size, stride, padding

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("sequences (C, L)", input_shape)
        c, length = input_shape
        self.pads = resolve_padding1d(self.padding, self.pool_size, self.stride, length)
        if length + sum(self.pads) < self.pool_size:
            raise self.shape_error(f"sequences at least as long as the pool ({self.pool_size})", input_shape)
        self.out_len = output_size(length, self.pool_size, self.stride, self.pads)
        return (c, self.out_len)

    def _check(self, x):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])

    def flops(self):
        return self.input_shape[0] * self.out_len * self.pool_size


@register_layer("MaxPool1D", "MaxPooling1D")
class MaxPool1D(_Pool1D):
    """y[n, c, lo] = max of the window of ``pool_size`` steps at stride·lo. Input (N, C, L);
    output (N, C, Lo). Padding counts as -inf; the gradient goes to the first maximum."""

    def forward(self, x, training=False):
        self._check(x)
        self.x_shape = x.shape
        y, self.winners = F.max_pool1d(x, self.pool_size, self.stride, self.pads, self.out_len)
        return y

    def backward(self, grad_y):
        return F.max_pool1d_backward(self.winners, grad_y, self.x_shape, self.pads)


@register_layer("AvgPool1D", "AveragePooling1D")
class AvgPool1D(_Pool1D):
    """y[n, c, lo] = mean of the window of ``pool_size`` steps at stride·lo. Input (N, C, L);
    output (N, C, Lo). Padding counts as zeros inside the window (divisor always pool_size)."""

    def forward(self, x, training=False):
        self._check(x)
        self.x_shape = x.shape
        return F.avg_pool1d(x, self.pool_size, self.stride, self.pads, self.out_len)

    def backward(self, grad_y):
        return F.avg_pool1d_backward(self.x_shape, grad_y, self.pool_size, self.stride, self.pads, self.out_len)


@register_layer("GlobalAvgPool1D", "GlobalAveragePooling1D")
class GlobalAvgPool1D(Layer):
    """y[n, c] = mean over L of x[n, c]. Input (N, C, L); output (N, C)."""

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("sequences (C, L)", input_shape)
        return (input_shape[0],)

    def forward(self, x, training=False):
        self.x = x
        return F.global_avg_pool1d(x)

    def backward(self, grad_y):
        return F.global_avg_pool1d_backward(self.x, grad_y)

    def flops(self):
        return self.input_shape[0] * self.input_shape[1]
