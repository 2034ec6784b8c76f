"""The fast twins of ``functional.pooling`` when the windows tile the image (stride == pool size,
no padding: every pooling layer of the shipped models).

The input is seen as (N, C, Ho, kh, Wo, kw) and folded over the kh·kw window offsets, split over
threads along its outermost axis (``nnpy.kernels.threads``), each thread folding its own slab of
channels or samples — much faster than ``.max(axis=(3, 5))`` on the 6-D view, whose innermost
reduced axes are only kh and kw long. Outputs and input gradients keep the memory order of the
input (a Conv2D's output is channel-major). 2×2 max pooling while training runs as pair passes
(``Pairs2x2``), which also remember where each window's gradient goes.

Max pooling gives the plain numbers bit for bit (a max is exact, and the gradient goes to the
same element); average pooling sums in the same order, so it does too.
"""
from __future__ import annotations

import numpy as np

from ..backend import xp
from .im2col import Workspace
from .threads import along, outer_axis, split_over_threads


class TiledPool2D:
    """Pooling whose (kh, kw) windows tile the image; ``out_hw`` (Ho, Wo). ``max`` or average."""

    def __init__(self, pool: tuple, out_hw: tuple, is_max: bool):
        self.pool, self.out_hw, self.is_max = pool, out_hw, is_max
        self._ws = Workspace()

    def _tiles(self, a):
        """View (N, C, Ho, kh, Wo, kw) of the tiled part of a (N, C, H, W)."""
        (ho, wo), (kh, kw) = self.out_hw, self.pool
        return a[:, :, :ho * kh, :wo * kw].reshape(*a.shape[:2], ho, kh, wo, kw)

    def _tile_views(self, a):
        """The (N, C, Ho, Wo) view of each window offset of the tiled view of a, row-major."""
        tiles, (kh, kw) = self._tiles(a), self.pool
        return [tiles[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]

    def _fold(self, x, op):
        """``op`` (np.maximum / np.add) folded over the kh·kw offsets: (N, C, Ho, Wo), x's memory order."""
        views = self._tile_views(x)
        y = xp.empty_like(views[0])
        axis = outer_axis(x)

        def part(lo, hi):
            s = along(axis, lo, hi, 4)
            xp.copyto(y[s], views[0][s])
            for v in views[1:]:
                op(y[s], v[s], out=y[s])
        split_over_threads(x.shape[axis], part, x.nbytes + y.nbytes)
        return y

    def _new_grad(self, dtype):
        """Gradient array in x's memory order: zeros only if some rows/columns lie outside the tiles."""
        (ho, wo), (kh, kw) = self.out_hw, self.pool
        covered = tuple(self.x.shape[2:]) == (ho * kh, wo * kw)
        return (xp.empty_like if covered else xp.zeros_like)(self.x, dtype=dtype)

    def forward(self, x, training: bool):
        self.x, self.pairs = x, None
        if not self.is_max:
            y = self._fold(x, xp.add)
            y *= y.dtype.type(1.0 / (self.pool[0] * self.pool[1]))
            return y
        # training: the pair passes, which also find where the gradient goes; evaluation: the
        # fold, 2-3x faster for the values alone (a backward after it routes by x and y)
        if training and self.pool == (2, 2) and x.shape[2] % 2 == 0 == x.shape[3] % 2:
            self.pairs = Pairs2x2.of(x, self._ws)
        self.y = self.pairs.forward(x) if self.pairs is not None else self._fold(x, xp.maximum)
        return self.y

    def backward(self, grad_y):
        if not self.is_max:
            dx = self._new_grad(grad_y.dtype)
            self._tiles(dx)[...] = (grad_y * (1.0 / (self.pool[0] * self.pool[1])))[:, :, :, None, :, None]
            return dx
        if self.pairs is not None:
            return self.pairs.backward(grad_y)
        dx = self._new_grad(grad_y.dtype)                 # windows are disjoint: each element written once
        axis = outer_axis(self.x)

        def part(lo, hi):
            s = along(axis, lo, hi, 4)
            route([v[s] for v in self._tile_views(self.x)], [dv[s] for dv in self._tile_views(dx)],
                  self.y[s], grad_y[s])
        split_over_threads(self.x.shape[axis], part, self.x.nbytes + dx.nbytes)
        return dx


def route(windows, grad_windows, y, grad_y) -> None:
    """Write each window's gradient to its first element, row-major, that equals the max y
    (``functional.max_pool2d_backward``'s rule; here the windows are disjoint, so written, not added)."""
    taken = xp.zeros(grad_y.shape, dtype=bool)                           # (N, C, Ho, Wo)
    hit = xp.empty_like(taken)
    for k, (v, dv) in enumerate(zip(windows, grad_windows)):
        xp.equal(v, y, out=hit)
        xp.greater(hit, taken, out=hit)                                  # hit and not taken
        if k < len(windows) - 1:
            taken |= hit
        xp.multiply(hit, grad_y, out=dv)


#: The pair passes run over chunks of x this large, so that the passes after the first read
#: it from the cache rather than from memory (lenet, batch 128: forward 13.0 -> 8.8 ms; at
#: 64 KiB the Python of the many small chunks cost more than it saved).
CHUNK_BYTES = 1 << 20


class Pairs2x2:
    """2×2 max pooling with stride 2 as two passes over pairs of neighbours (the usual case).

    A window's max is the max of its two rows' maxima, each the max of a pair of neighbours
    in an image row. Remembering which element of each pair won (``right``: strictly greater,
    so a tie keeps the first) and which row won (``lower``) routes the gradient to the first
    maximum in row-major window order, the element ``route`` picks, bit for bit.
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
        split_over_threads(r, part, 2 * x.nbytes)
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
        split_over_threads(r, part, 3 * dx5.nbytes)
        return dx5.reshape(self.mem_shape).transpose(self.inverse)
