"""Window arithmetic, im2col and col2im for 2-D convolution and pooling.

Convolution works on a padded copy ``xt`` of the input with the channel axis
first, in one of two layouts:

* batch-inner  (C, Hp, Wp, N): every patch element is a contiguous run of N
  numbers, and with stride 1 a whole window row is one run of Wo·N. ``Conv2D`` uses
  it, and keeps its outputs (and input gradients) in this memory order, so that the
  next convolution reads them without moving the batch axis (a transposing copy that
  costs about a nanosecond an element each way);
* batch-middle (C, N, Hp, Wp): runs of Wo numbers along an image row, and the GEMM
  result is (F, N, Ho, Wo), one cheap axis swap from NCHW (``nnpy.autograd``'s conv2d).

numpy's strided copies pay per run, so the longer runs of batch-inner win once the
layers between convolutions stop converting to NCHW: im2col and col2im of the
resnet-fashion model's 32->32 conv at batch 64 take 0.6 and 1.4 ms batch-inner
against 2.0 and 4.3 ms batch-middle (one thread).

The patch matrix ``cols`` is a single copy of a strided view of xt::

    xt (C, Hp, Wp, N)                       cols (C, kh, kw, Ho, Wo, N)   batch-inner
    ┌───────────────┐                       cols (C, kh, kw, N, Ho, Wo)   batch-middle
    │ ■ ■ · · ·     │  window (ho, wo):
    │ ■ ■ · · ·     │  rows sh·ho … sh·ho+kh-1     cols[c, i, j, ho, wo, n]
    │ · · · · ·     │  cols sw·wo … sw·wo+kw-1       = xt[c, sh·ho + i, sw·wo + j, n]
    └───────────────┘

Reshaped to (C·kh·kw, ·) it is the right-hand side of the convolution GEMM.
col2im is its adjoint: for each kernel offset (i, j) the slice ``cols[:, i, j]``
is added onto the strided window ``xt[..., i::sh, j::sw, ...]`` (kh·kw vectorized
adds, never ``np.add.at``).

The channel axis comes first in both layouts, so every copy here is split over channels
between threads (``nnpy.kernels.threads``): each channel's values are computed exactly as on
one thread.
"""
from __future__ import annotations

from ..backend import xp
from ..functional.windows import check_padding, output_size, pair, resolve_padding  # noqa: F401  (the geometry)
from .threads import split_over_threads

BATCH_INNER = (1, 2, 3, 0)   # NCHW -> (C, H, W, N)
BATCH_MIDDLE = (1, 0, 2, 3)  # NCHW -> (C, N, H, W)


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


def permute(shape_nchw: tuple, axes: tuple) -> tuple:
    """An NCHW shape in the layout ``axes`` (``BATCH_INNER`` or ``BATCH_MIDDLE``)."""
    return tuple(shape_nchw[a] for a in axes)


def to_nchw(a, axes: tuple):
    """View of an array in layout ``axes`` with its axes in NCHW order."""
    return a.transpose([axes.index(d) for d in range(4)])


def copy_from_nchw(dst, src):
    """dst[...] = src for an NCHW src and a dst view with another memory order.

    numpy walks dst in memory order; for a batch-inner dst that reads src one
    sample apart. When that stride is a multiple of 1 KiB the reads share a few
    cache sets and thrash (3-4x slower), so then walk src in its own order instead.
    """
    if src.strides[0] % 1024 == 0:
        xp.positive(src, out=dst, order="C")
    else:
        xp.copyto(dst, src)


def pad_into(x, pads: tuple[tuple, tuple], xt, axes: tuple):
    """Copy x (N, C, H, W) into the interior of the padded xt (layout ``axes``); the border is left alone."""
    (top, _), (left, _) = pads
    _, _, h, w = x.shape
    interior = to_nchw(xt, axes)[:, :, top:top + h, left:left + w]
    split_over_threads(x.shape[1], lambda lo, hi: copy_from_nchw(interior[:, lo:hi], x[:, lo:hi]), 2 * x.nbytes)
    return xt


def crop_from(xt, pads: tuple[tuple, tuple], out, axes: tuple):
    """Inverse of ``pad_into``: the interior of xt (layout ``axes``) into out (N, C, H, W)."""
    (top, _), (left, _) = pads
    _, _, h, w = out.shape
    interior = to_nchw(xt, axes)[:, :, top:top + h, left:left + w]
    split_over_threads(out.shape[1], lambda lo, hi: xp.copyto(out[:, lo:hi], interior[:, lo:hi]), 2 * out.nbytes)
    return out


def im2col(xt, kernel: tuple, stride: tuple, out, axes: tuple):
    """Patches of the padded image xt into out, one strided copy.

    batch-inner:  xt (C, Hp, Wp, N) -> out (C, kh, kw, Ho, Wo, N)
    batch-middle: xt (C, N, Hp, Wp) -> out (C, kh, kw, N, Ho, Wo)
    """
    (kh, kw), (sh, sw) = kernel, stride
    size = dict(zip(axes[1:], out.shape[3:]))          # out's last axes N, Ho, Wo by NCHW position
    ho, wo = size[2], size[3]
    # windows[n, c, ho, wo, i, j] = x[n, c, sh·ho + i, sw·wo + j]: a strided view, nothing copied yet
    windows = xp.lib.stride_tricks.sliding_window_view(to_nchw(xt, axes), (kh, kw), axis=(2, 3))
    windows = windows[:, :, :sh * ho:sh, :sw * wo:sw]
    # windows' axes 0, 2, 3 (N, Ho, Wo) are numbered as NCHW's: ``axes`` orders them as out does
    windows = windows.transpose(1, 4, 5, *axes[1:])                    # (C, kh, kw, ·) as out
    split_over_threads(len(out), lambda lo, hi: xp.copyto(out[lo:hi], windows[lo:hi]), 2 * out.nbytes)
    return out


def col2im(cols, stride: tuple, out, axes: tuple):
    """Sum cols (C, kh, kw, ·) into the padded image out (layout ``axes``), overwriting it."""
    split_over_threads(len(cols), lambda lo, hi: _col2im(cols[lo:hi], stride, out[lo:hi], axes),
                       cols.nbytes + out.nbytes)
    return out


def _col2im(cols, stride: tuple, out, axes: tuple) -> None:
    (sh, sw), (kh, kw) = stride, cols.shape[1:3]
    ho, wo = to_nchw(cols[:, 0, 0], axes).shape[2:]
    image = to_nchw(out, axes)                                          # view (N, C, Hp, Wp)
    # The offsets i < sh, j < sw hit each pixel of rows < sh·Ho, columns < sw·Wo exactly
    # once, so they are copied; only the pixels beyond need zeros before the adds.
    first = kh >= sh and kw >= sw
    if first:
        image[:, :, sh * ho:].fill(0)
        image[:, :, :, sw * wo:].fill(0)
    else:
        out.fill(0)
    for i in range(kh):
        for j in range(kw):
            window = image[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]    # view (N, C, Ho, Wo)
            if first and i < sh and j < sw:
                xp.copyto(window, to_nchw(cols[:, i, j], axes))
            else:
                window += to_nchw(cols[:, i, j], axes)


# --- padding without a padded copy (batch-inner only) -------------------------------------------

def valid_outputs(offset: int, pad: int, stride: int, size: int, out_size: int) -> tuple[int, int, int]:
    """For one kernel offset along one axis: the outputs ``o`` in [lo, hi) whose input
    ``stride·o + offset − pad`` lies inside the image (not in the padding), and that input for ``lo``."""
    lo = max(0, -(-(pad - offset) // stride))
    hi = min(out_size, (size - 1 + pad - offset) // stride + 1)
    return lo, max(lo, hi), stride * lo + offset - pad


def _offset_windows(shape_chw: tuple, kernel: tuple, stride: tuple, pads: tuple, out_hw: tuple):
    """For each kernel offset (i, j): (i, j, rows, cols, x_rows, x_cols), the output rows and
    columns (slices) that read the image and the image rows and columns (strided slices) they read."""
    (kh, kw), (sh, sw), ((top, _), (left, _)), (ho, wo) = kernel, stride, pads, out_hw
    _, h, w = shape_chw
    for i in range(kh):
        r0, r1, ir = valid_outputs(i, top, sh, h, ho)
        for j in range(kw):
            c0, c1, jc = valid_outputs(j, left, sw, w, wo)
            yield (i, j, slice(r0, r1), slice(c0, c1),
                   slice(ir, ir + sh * (r1 - r0 - 1) + 1, sh), slice(jc, jc + sw * (c1 - c0 - 1) + 1, sw))


def im2col_padded(xt, pads: tuple, kernel: tuple, stride: tuple, out, padding_is_zero: bool = False):
    """``im2col`` of xt (C, H, W, N) padded by ``pads`` with zeros, without making the padded
    copy: each offset's patches are copied from the image and the positions that fall in the
    padding are zeroed. out (C, kh, kw, Ho, Wo, N), batch-inner. The same numbers as
    ``pad_into`` then ``im2col``, one pass over the image fewer (the resnet-fashion model's 3×3
    convolutions with padding 1).

    ``padding_is_zero``: out's padding positions hold zeros already (a zero-filled buffer that
    only this geometry writes, as a ``Conv2DKernel``'s own workspace is), so only the image's
    part is copied: the zeroing is 9·4 small strided writes a convolution, ≈ 4% of a resnet step."""
    out_hw = out.shape[3:5]

    def part(lo, hi):
        x, cols = xt[lo:hi], out[lo:hi]
        for i, j, rows, columns, x_rows, x_cols in _offset_windows(xt.shape[:3], kernel, stride, pads, out_hw):
            window = cols[:, i, j]                                         # (c, Ho, Wo, N)
            if not padding_is_zero:
                for border in (window[:, :rows.start], window[:, rows.stop:],
                               window[:, rows, :columns.start], window[:, rows, columns.stop:]):
                    border.fill(0)
            xp.copyto(window[:, rows, columns], x[:, x_rows, x_cols])
    split_over_threads(len(out), part, 2 * out.nbytes)
    return out


def col2im_padded(cols, pads: tuple, stride: tuple, out):
    """The adjoint of ``im2col_padded``: cols (C, kh, kw, Ho, Wo, N) summed into the image
    out (C, H, W, N), overwriting it, the sums that fall in the padding left out — the numbers of
    ``col2im`` into a padded image and ``crop_from``, bit for bit (each pixel gets the same terms in
    the same order), without the padded image and the crop's copy."""
    split_over_threads(len(cols), lambda lo, hi: _col2im_padded(cols[lo:hi], pads, stride, out[lo:hi]),
                 cols.nbytes + out.nbytes)
    return out


def _col2im_padded(cols, pads: tuple, stride: tuple, out) -> None:
    (sh, sw), (kh, kw), (ho, wo) = stride, cols.shape[1:3], cols.shape[3:5]
    ((top, _), (left, _)) = pads
    # as in _col2im: the offsets i < sh, j < sw reach each pixel of padded rows < sh·Ho, columns
    # < sw·Wo once and before any other offset does, so they are copied; the rest needs zeros
    first = kh >= sh and kw >= sw
    if first:
        out[:, max(0, sh * ho - top):].fill(0)
        out[:, :, max(0, sw * wo - left):].fill(0)
    else:
        out.fill(0)
    for i, j, rows, columns, x_rows, x_cols in _offset_windows(out.shape[:3], (kh, kw), stride, pads, (ho, wo)):
        window, part = out[:, x_rows, x_cols], cols[:, i, j, rows, columns]
        if first and i < sh and j < sw:
            xp.copyto(window, part)
        else:
            window += part


# --- row patches: a stride-1 convolution as kh products (batch-inner only) ----------------------

def row_patches(xt, pads: tuple, kw: int, out):
    """The kw column shifts of the padded image, for each padded row: xt (C, H, W, N) padded by
    ``pads`` with zeros, into out (C, kw, Hp, Wo, N)::

        out[c, j, r, w, n] = x_padded[c, r, w + j, n]

    A stride-1 convolution is then kh products, one per kernel row i, each over a view of out
    (rows i … i+Ho−1) of kw·C rows (``kernel_row``): the patch matrix of im2col without its kh-fold
    copy. ``Conv2DKernel`` computes dx of a stride-1 'same' convolution so, over dY's row patches.
    Only the image's positions are written: the padding positions of out must hold zeros already
    (a zero-filled buffer only this geometry writes)."""
    (top, _), (left, _) = pads
    _, h, w, _ = xt.shape
    wo = out.shape[3]
    for j in range(kw):
        lo, hi, x0 = valid_outputs(j, left, 1, w, wo)
        xp.copyto(out[:, j, top:top + h, lo:hi], xt[:, :, x0:x0 + hi - lo])
    return out


def kernel_row(rows, i: int, out_h: int):
    """The patch matrix of kernel row i: rows (C, kw, Hp, Wo, N) at padded rows i … i+out_h−1, as a
    (C·kw, out_h·Wo·N) view (no copy: its rows are one stride apart, Hp·Wo·N)."""
    c, kw, _, wo, n = rows.shape
    return rows[:, :, i:i + out_h].reshape(c * kw, out_h * wo * n)
