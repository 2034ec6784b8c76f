"""Max, average and global average pooling over (N, C, H, W) images.

When the windows tile the image (stride == pool_size, no padding) the input is
reshaped to (N, C, Ho, kh, Wo, kw) and reduced over the two window axes. Other
strides and paddings loop over the kh·kw window offsets, each a strided view
``x[:, :, i::sh, j::sw]`` of shape (N, C, Ho, Wo). Rows and columns that no window
reaches (H not a multiple of the stride) get zero gradient.

Outputs and input gradients keep the memory order of the input (a Conv2D's output is
channel-major), and the tiled passes are split over threads along the input's outermost axis
(``nnpy.kernels.threads``), each thread folding its own slab of channels or samples.
"""
from __future__ import annotations

import numpy as np

from ...backend import xp
from ...registry import register_layer
from ...functional.windows import check_padding, output_size, pair, resolve_padding
from ...kernels.im2col import Workspace
from ..layer import Layer
from ...kernels.threads import along, outer_axis, parallel_for

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
        views = list(self._tile_views(x))
        y = xp.empty_like(views[0])                                      # x's memory order
        axis = outer_axis(x)

        def part(lo, hi):
            s = along(axis, lo, hi, 4)
            xp.copyto(y[s], views[0][s])
            for v in views[1:]:
                op(y[s], v[s], out=y[s])
        parallel_for(x.shape[axis], part, x.nbytes + y.nbytes)
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
        return (xp.empty_like if covered else xp.zeros_like)(self.x, dtype=dtype)   # x's memory order

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
        self.x_shape, self.pairs = x.shape, None
        # training: the pair passes, which also find where the gradient goes; evaluation: the
        # plain fold below, 2-3x faster for the values alone (a backward after it routes by x and y)
        if training and self.tiled and self.pool_size == (2, 2) and self.x_shape[2] % 2 == 0 == self.x_shape[3] % 2:
            self.pairs = _Pairs2x2.of(x, self._ws)
        if self.pairs is not None:
            self.x, self.y = x, self.pairs.forward(x)
            return self.y
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
        if self.pairs is not None:
            return self.pairs.backward(grad_y)
        if self.tiled:  # windows are disjoint: each gradient element is written once
            dx = self._new_grad(grad_y.dtype)
            axis = outer_axis(self.x)

            def part(lo, hi):
                s = along(axis, lo, hi, 4)
                self._route([v[s] for v in self._tile_views(self.x)], [dv[s] for dv in self._tile_views(dx)],
                            self.y[s], grad_y[s], accumulate=False)
            parallel_for(self.x.shape[axis], part, self.x.nbytes + dx.nbytes)
            return dx
        dxpad = self._padded_grad(grad_y.dtype)
        self._route([v for _, v in self._windows(self.x)], [dv for _, dv in self._windows(dxpad)],
                    self.y, grad_y, accumulate=True)
        return self._crop(dxpad)

    @staticmethod
    def _route(windows, grad_windows, y, grad_y, accumulate: bool) -> None:
        """Send each window's gradient to its first element, row-major, that equals the max y."""
        taken = xp.zeros(grad_y.shape, dtype=bool)                         # (N, C, Ho, Wo)
        hit = xp.empty_like(taken)
        for k, (v, dv) in enumerate(zip(windows, grad_windows)):
            xp.equal(v, y, out=hit)
            xp.greater(hit, taken, out=hit)                                # hit and not taken
            if k < len(windows) - 1:
                taken |= hit
            if accumulate:
                dv += hit * grad_y
            else:
                xp.multiply(hit, grad_y, out=dv)


#: The pair passes run over chunks of x this large, so that the passes after the first read
#: it from the cache rather than from memory (lenet, batch 128: forward 13.0 -> 8.8 ms; at
#: 64 KiB the Python of the many small chunks cost more than it saved).
CHUNK_BYTES = 1 << 20


class _Pairs2x2:
    """2×2 max pooling with stride 2 as two passes over pairs of neighbours (the usual case).

    A window's max is the max of its two rows' maxima, each the max of a pair of neighbours
    in an image row. Remembering which element of each pair won (``right``: strictly greater,
    so a tie keeps the first) and which row won (``lower``) routes the gradient to the first
    maximum in row-major window order, the element ``MaxPool2D._route`` picks, bit for bit.
    The passes run over x in its own memory order, viewed as (outer·Ho, 2, Wo, 2, inner) with
    H directly before W in memory (NCHW: inner = 1; a Conv2D's (C, H, W, N): inner = N): four
    passes of whole arrays instead of routing through four (N, C, Ho, Wo) window views one
    offset at a time (lenet's 64×24×24 maps at batch 64, in the network: forward +
    backward 7.9 -> 5.9 ms on one thread).
    ``of`` returns None for other memory orders.
    """

    def __init__(self, x, order: tuple, ws: Workspace):
        self.order, self.ws = order, ws
        self.inverse = tuple(order.index(k) for k in range(4))
        h_at = order.index(2)
        outer = int(np.prod([x.shape[k] for k in order[:h_at]]))
        inner = int(np.prod([x.shape[k] for k in order[h_at + 2:]]))
        self.view = (outer * (x.shape[2] // 2), 2, x.shape[3] // 2, 2, inner)   # x's memory as windows
        self.mem_shape = tuple(x.shape[k] for k in order)

    @classmethod
    def of(cls, x, ws: Workspace):
        order = tuple(sorted(range(4), key=lambda k: -x.strides[k]))      # x's axes in memory order
        h_at = order.index(2)
        if h_at == 3 or order[h_at + 1] != 3 or not x.transpose(order).flags.c_contiguous:
            return None
        return cls(x, order, ws)

    def _pooled(self, a):
        """An array of the pooled rows' shape (outer·Ho, Wo, inner) as (N, C, Ho, Wo)."""
        shape = list(self.mem_shape)
        shape[self.inverse[2]] //= 2
        shape[self.inverse[3]] //= 2
        return a.reshape(shape).transpose(self.inverse)

    def forward(self, x):
        x5 = x.transpose(self.order).reshape(self.view)                    # (R, 2, Wo, 2, I)
        r, _, wo, _, i = self.view
        y = xp.empty((r, wo, i), x.dtype)
        self.right = self.ws.get("right", (r, 2, wo, i), bool)            # right neighbour won
        self.lower = self.ws.get("lower", (r, wo, i), bool)               # lower row won

        step = max(1, CHUNK_BYTES // (x5[0].nbytes))

        def part(lo, hi):
            for a in range(lo, hi, step):      # chunks that stay in the cache between the four passes
                b = min(a + step, hi)
                left, right = x5[a:b, :, :, 0], x5[a:b, :, :, 1]
                xp.greater(right, left, out=self.right[a:b])
                rows = xp.maximum(left, right)                             # (rows, 2, Wo, I)
                xp.greater(rows[:, 1], rows[:, 0], out=self.lower[a:b])
                xp.maximum(rows[:, 0], rows[:, 1], out=y[a:b])
        parallel_for(r, part, 2 * x.nbytes)
        return self._pooled(y)

    def backward(self, grad_y):
        r, _, wo, _, i = self.view
        g = grad_y.transpose(self.order).reshape(r, wo, i)                 # a copy only if laid out otherwise
        dx5 = xp.empty(self.view, grad_y.dtype)
        drows = self.ws.get("drows", (r, 2, wo, i), grad_y.dtype)          # gradient of each row's max

        step = max(1, CHUNK_BYTES // (dx5[0].nbytes))

        def part(lo, hi):
            for a in range(lo, hi, step):
                b = min(a + step, hi)
                d = drows[a:b]
                xp.multiply(g[a:b], self.lower[a:b], out=d[:, 1])
                xp.subtract(g[a:b], d[:, 1], out=d[:, 0])                  # g · (1 − lower), exactly
                xp.multiply(d, self.right[a:b], out=dx5[a:b, :, :, 1])
                xp.subtract(d, dx5[a:b, :, :, 1], out=dx5[a:b, :, :, 0])
        parallel_for(r, part, 3 * dx5.nbytes)
        return dx5.reshape(self.mem_shape).transpose(self.inverse)


@register_layer("AvgPool2D", "AveragePooling2D")
class AvgPool2D(_Pool2D):
    """y[n, c, ho, wo] = mean of the (kh, kw) window at (sh·ho, sw·wo).

    Input (N, C, H, W); output (N, C, Ho, Wo). Padding counts as zeros that are part
    of the window: the divisor is always kh·kw (PyTorch's ``count_include_pad=True``).
    """

    def forward(self, x, training=False):
        self._check(x)
        self.x_shape, self.x = x.shape, x
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
        self.x = x
        return x.mean(axis=(2, 3))

    def backward(self, grad_y):
        n, c, h, w = self.x.shape
        dx = xp.empty_like(self.x, dtype=grad_y.dtype)                    # x's memory order
        dx[...] = (grad_y * (1.0 / (h * w)))[:, :, None, None]
        return dx

    def flops(self):
        return self.input_shape[0] * self.input_shape[1] * self.input_shape[2]
