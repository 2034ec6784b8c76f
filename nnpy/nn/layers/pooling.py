"""Max, average and global average pooling over (N, C, H, W) images.

When the windows tile the image (stride == pool_size, no padding) the input is
reshaped to (N, C, Ho, kh, Wo, kw) and reduced over the two window axes. Other
strides and paddings loop over the kh·kw window offsets, each a strided view
``x[:, :, i::sh, j::sw]`` of shape (N, C, Ho, Wo). Rows and columns that no window
reaches (H not a multiple of the stride) get zero gradient.
"""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..im2col import Workspace, check_padding, output_size, pair, resolve_padding
from ..layer import Layer

__all__ = ["MaxPool2D", "AvgPool2D", "GlobalAvgPool2D"]


class _Pool2D(Layer):
    """Shared options and window geometry; ``pad_value`` fills the padding."""
    pad_value = 0.0

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
        self._ws = Workspace()

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        c, h, w = input_shape
        (kh, kw), (sh, sw) = self.pool_size, self.stride
        self.pads = resolve_padding(self.padding, self.pool_size, self.stride, (h, w))
        if h + sum(self.pads[0]) < kh or w + sum(self.pads[1]) < kw:
            raise self.shape_error(f"images at least as large as the {kh}×{kw} pool", input_shape)
        self.out_hw = (output_size(h, kh, sh, self.pads[0]), output_size(w, kw, sw, self.pads[1]))
        self.tiled = self.pool_size == self.stride and self.pads == ((0, 0), (0, 0))
        return (c, *self.out_hw)

    def _check(self, x):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])

    def _tiles(self, a):
        """View (N, C, Ho, kh, Wo, kw) of the tiled part of a (N, C, H, W)."""
        (ho, wo), (kh, kw) = self.out_hw, self.pool_size
        return a[:, :, :ho * kh, :wo * kw].reshape(*a.shape[:2], ho, kh, wo, kw)

    def _padded(self, x):
        """x with its padding, (N, C, Hp, Wp); x itself when there is none."""
        (top, bottom), (left, right) = self.pads
        if top == bottom == left == right == 0:
            return x
        n, c, h, w = x.shape
        xpad = self._ws.get("xpad", (n, c, h + top + bottom, w + left + right), x.dtype, self.pad_value)
        xpad[:, :, top:top + h, left:left + w] = x
        return xpad

    def _tile_views(self, a):
        """The (N, C, Ho, Wo) view of each window offset of the tiled view of a, row-major."""
        tiles, (kh, kw) = self._tiles(a), self.pool_size
        for i in range(kh):
            for j in range(kw):
                yield tiles[:, :, :, i, :, j]

    def _tile_reduce(self, x, op):
        """``op`` (np.maximum / np.add) folded over the kh·kw offsets of the tiled view:
        (N, C, Ho, Wo). Much faster than ``.max(axis=(3, 5))`` on the 6-D view, whose
        innermost reduced axes are only kh and kw long."""
        views = self._tile_views(x)
        y = next(views).copy()
        for v in views:
            op(y, v, out=y)
        return y

    def _windows(self, a):
        """(offset number, (N, C, Ho, Wo) view of a) for each window offset, row-major."""
        (ho, wo), (kh, kw), (sh, sw) = self.out_hw, self.pool_size, self.stride
        for i in range(kh):
            for j in range(kw):
                yield i * kw + j, a[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]

    def _new_grad(self, dtype):
        """Gradient array for the tiled path: zeros only if some rows/columns lie outside the tiles."""
        (ho, wo), (kh, kw) = self.out_hw, self.pool_size
        covered = tuple(self.x_shape[2:]) == (ho * kh, wo * kw)
        return (xp.empty if covered else xp.zeros)(self.x_shape, dtype=dtype)

    def _padded_grad(self, dtype):
        """Zeros shaped like the padded input, (N, C, Hp, Wp)."""
        n, c, h, w = self.x_shape
        (top, bottom), (left, right) = self.pads
        return xp.zeros((n, c, h + top + bottom, w + left + right), dtype=dtype)

    def _crop(self, dxpad):
        """The gradient of x from that of its padded copy."""
        if dxpad.shape == self.x_shape:
            return dxpad
        (top, _), (left, _) = self.pads
        h, w = self.x_shape[2:]
        return dxpad[:, :, top:top + h, left:left + w].copy()

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
    pad_value = -float("inf")

    def forward(self, x, training=False):
        self._check(x)
        self.x_shape = x.shape
        if self.tiled:
            self.x, self.y = x, self._tile_reduce(x, xp.maximum)
            return self.y
        self.x = self._padded(x)                                           # (N, C, Hp, Wp)
        y = None
        for _, v in self._windows(self.x):
            y = v.copy() if y is None else xp.maximum(y, v, out=y)
        self.y = y
        return y

    def backward(self, grad_y):
        if self.tiled:  # windows are disjoint: each gradient element is written once
            dx = self._new_grad(grad_y.dtype)
            self._route(self._tile_views(self.x), self._tile_views(dx), grad_y, accumulate=False)
            return dx
        dxpad = self._padded_grad(grad_y.dtype)
        self._route((v for _, v in self._windows(self.x)), (dv for _, dv in self._windows(dxpad)),
                    grad_y, accumulate=True)
        return self._crop(dxpad)

    def _route(self, windows, grad_windows, grad_y, accumulate: bool) -> None:
        """Send each window's gradient to its first element, row-major, that equals the max."""
        taken = xp.zeros(grad_y.shape, dtype=bool)                         # (N, C, Ho, Wo)
        hit = xp.empty_like(taken)
        for v, dv in zip(windows, grad_windows):
            xp.equal(v, self.y, out=hit)
            hit &= ~taken
            taken |= hit
            if accumulate:
                dv += hit * grad_y
            else:
                xp.multiply(hit, grad_y, out=dv)


@register_layer("AvgPool2D", "AveragePooling2D")
class AvgPool2D(_Pool2D):
    """y[n, c, ho, wo] = mean of the (kh, kw) window at (sh·ho, sw·wo).

    Input (N, C, H, W); output (N, C, Ho, Wo). Padding counts as zeros that are part
    of the window: the divisor is always kh·kw (PyTorch's ``count_include_pad=True``).
    """

    def forward(self, x, training=False):
        self._check(x)
        self.x_shape = x.shape
        if self.tiled:
            y = self._tile_reduce(x, xp.add)
            y *= y.dtype.type(1.0 / (self.pool_size[0] * self.pool_size[1]))
            return y
        y = None
        for _, v in self._windows(self._padded(x)):
            if y is None:
                y = v.copy()
            else:
                y += v
        y *= 1.0 / (self.pool_size[0] * self.pool_size[1])
        return y

    def backward(self, grad_y):
        g = grad_y * (1.0 / (self.pool_size[0] * self.pool_size[1]))    # (N, C, Ho, Wo)
        if self.tiled:
            dx = self._new_grad(grad_y.dtype)
            self._tiles(dx)[...] = g[:, :, :, None, :, None]
            return dx
        dxpad = self._padded_grad(grad_y.dtype)
        for _, dv in self._windows(dxpad):
            dv += g
        return self._crop(dxpad)


@register_layer("GlobalAvgPool2D", "GlobalAveragePooling2D")
class GlobalAvgPool2D(Layer):
    """y[n, c] = mean over (H, W) of x[n, c]. Input (N, C, H, W); output (N, C)."""

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        return (input_shape[0],)

    def forward(self, x, training=False):
        self.x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, grad_y):
        n, c, h, w = self.x_shape
        dx = xp.empty(self.x_shape, dtype=grad_y.dtype)
        dx[...] = (grad_y * (1.0 / (h * w)))[:, :, None, None]
        return dx

    def flops(self):
        return self.input_shape[0] * self.input_shape[1] * self.input_shape[2]
