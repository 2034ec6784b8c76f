"""The fast twin of ``nnpy.functional.conv``: convolution as one GEMM over an im2col patch matrix
kept in the batch-inner layout.

With K = C·kh·kw and the patch matrix ``cols`` (K, Ho·Wo·N)::

    forward   Y  = W2 @ cols        (F, Ho·Wo·N)
    backward  dW = dY @ cols.T      (F, K)   (as (cols @ dY.T).T when K > F: faster here)
              dcols = W2.T @ dY     (K, Ho·Wo·N), then col2im -> dx

A stride-1 'same' convolution (``_by_row_patches``) runs without the patch matrix: its kh·kw-fold
copy of x is replaced by the kw-fold ``row_patches`` of x, and each product by kh products, one per
kernel row i, over a view of them (``kernel_row``: C·kw rows)::

    forward   Y  = Σ_i W[:, :, i] @ rows_i           (F, C·kw) @ (C·kw, Ho·Wo·N), added up in Y
    backward  dW[:, :, i] = dY @ rows_iᵀ             (as (rows_i @ dYᵀ)ᵀ)
              dx = the convolution of dY, padded by k − 1 − p, with W flipped and transposed:
                   kh products over row patches of dY, no col2im (``_input_grad_by_correlation``)

The kh products are added up by BLAS in the output itself (``blas.matmul(..., accumulate=True)``),
with no scratch array or add pass.

The columns are ordered (Ho, Wo, N): images are kept batch-inner, (C, H, W, N) in memory, and y
and dx are (N, C, H, W) views of such arrays. The layers between two convolutions keep that
memory order, so the next im2col reads its input without a transposing copy, in runs of W·N
numbers (``nnpy.kernels.im2col``). Against the batch-middle (C, N, H, W) order used for wide maps
before, with NCHW between the layers, forward + backward on one thread went 71.6 -> 63.5 ms for
lenet's conv 32->64 at batch 64, and 18.4 -> 14.0 ms for a 32->32 conv of the resnet-fashion model.
Scratch arrays are kept between steps; outputs and dx are fresh arrays.

Same numbers as ``functional.conv2d``/``conv2d_backward`` to float32 rounding (the GEMMs sum in
another order); tests/functional checks it on awkward shapes.
"""
from __future__ import annotations

from ..backend import xp
from .blas import matmul
from .im2col import (BATCH_INNER, Workspace, col2im, col2im_padded, copy_from_nchw, crop_from, im2col,
                     im2col_padded, kernel_row, pad_into, permute, row_patches, to_nchw)
from .normalization import channel_sums
from .threads import elementwise


class Conv2DKernel:
    """Forward and backward of one convolution layer's geometry, with its scratch arrays.

    ``kernel`` (kh, kw), ``stride`` (sh, sw), ``pads`` ((top, bottom), (left, right)),
    ``padded_hw`` (Hp, Wp), ``out_hw`` (Ho, Wo). ``axes``: the memory order of the patch matrix's
    columns (``BATCH_INNER``; the tests try ``BATCH_MIDDLE`` too).
    """

    def __init__(self, kernel, stride, pads, padded_hw, out_hw, axes=BATCH_INNER):
        self.kernel, self.stride, self.pads = kernel, stride, pads
        self.padded_hw, self.out_hw, self.axes = padded_hw, out_hw, axes
        self._ws = Workspace()

    def forward(self, x, W, b):
        """y (N, F, Ho, Wo), a view of an array in layout ``axes``; keeps the patch matrix (or the
        row patches) for backward."""
        self.x_shape = x.shape
        if self._by_row_patches():
            return to_nchw(self._forward_by_row_patches(x, W, b), self.axes)
        self.cols = self.patches(x, W.dtype, self._ws).reshape(W[0].size, -1)   # (K, Ho·Wo·N)
        return to_nchw(self.product(W, b, self.cols, x.shape[0]), self.axes)

    def _by_row_patches(self) -> bool:
        """The convolution runs on row patches (the module docstring): stride 1, a kernel larger
        than 1×1, batch-inner, and an output as large as the input ('same' padding, so at most k − 1
        on a side). A smaller output would make dx's products larger than Wᵀ @ dY: they run over
        the H·W input positions instead of the Ho·Wo output ones (2.25x for lenet's 5×5 'valid'
        convolution of a 12×12 map); and for lenet's 3×3 'valid' 32->64 convolution at 26×26, dW
        as three products was 1.30x the one over the patch matrix, more than the forward saved."""
        (kh, kw), ((top, bottom), (left, right)) = self.kernel, self.pads
        (hp, wp), (ho, wo) = self.padded_hw, self.out_hw
        return (self.stride == (1, 1) and self.axes == BATCH_INNER and kh * kw > 1
                and (hp - top - bottom, wp - left - right) == (ho, wo))

    def _forward_by_row_patches(self, x, W, b):
        """Y (F, Ho, Wo, N) = Σ_i W[:, :, i] (F, C·kw) @ rows_i (C·kw, Ho·Wo·N) (+ b on each row),
        rows_i the row patches of x padded (``row_patches``, kept for dW) at padded rows i … i+Ho−1:

            Y[f, h, w] = Σ_i Σ_(c,j) W[f, c, i, j] · x_padded[c, h + i, w + j]

        The bias is written into Y first and the products added onto it. The same numbers as
        ``product`` over ``patches``, summed in another order (float32 rounding). Measured on two
        threads, batch 64, in the resnet-fashion model's training step toggled against im2col and
        one product: 0.96 of the step for its four 32-channel 14×14 convolutions alone (the forward
        0.64 of its time, dW 1.07), and 0.98-0.99 for its six smaller ones."""
        n, c = x.shape[:2]
        f, (kh, kw) = W.shape[0], self.kernel
        (hp, _), (ho, wo) = self.padded_hw, self.out_hw
        self.rows = self._ws.get("x_rows", (c, kw, hp, wo, n), W.dtype)        # zero-filled: only the image is written
        row_patches(x.transpose(BATCH_INNER), self.pads, kw, self.rows)
        W_rows = self._ws.get("W_rows", (kh, f, c, kw), W.dtype)               # kernel row i: (F, C·kw)
        xp.copyto(W_rows, W.transpose(2, 0, 1, 3))
        yt = xp.empty((f, ho, wo, n), W.dtype)
        y = yt.reshape(f, -1)
        if b is not None:
            xp.copyto(y, b[:, None])
        for i in range(kh):
            matmul(W_rows[i].reshape(f, c * kw), kernel_row(self.rows, i, ho), y, accumulate=i > 0 or b is not None)
        return yt

    def patches(self, x, dtype, buffers):
        """The patch matrix of x (N, C, H, W): (C, kh, kw, Ho, Wo, N) in layout ``axes``, written into
        ``buffers`` (``.get(name, shape, dtype)``: this kernel's kept workspace, or the scratch an
        evaluation plan shares between its convolutions)."""
        n, c = x.shape[:2]
        cols = buffers.get("cols", (c, *self.kernel, *permute((n, 1, *self.out_hw), self.axes)[1:]), dtype)
        # the kernel's own workspace is made zero-filled and written only by this geometry, so
        # its padding positions are zero still; a shared scratch's are not
        padding_is_zero = buffers is self._ws
        if self._pads_while_copying(x):
            im2col_padded(x.transpose(self.axes), self.pads, self.kernel, self.stride, cols,
                          padding_is_zero=padding_is_zero)
        else:
            im2col(self._padded_input(x, dtype, buffers, padding_is_zero), self.kernel, self.stride, cols,
                   self.axes)
        return cols

    def product(self, W, b, cols, n: int):
        """Y = W2 @ cols (+ b on each row) for a batch of n: a fresh (F, Ho, Wo, N) array (layout ``axes``)."""
        f = W.shape[0]
        yt = xp.empty(permute((n, f, *self.out_hw), self.axes), W.dtype)
        rows = yt.reshape(f, -1)                                         # (F, Ho·Wo·N)
        xp.matmul(W.reshape(f, -1), cols.reshape(W[0].size, -1), out=rows)
        if b is not None:
            elementwise(xp.add, rows, xp.broadcast_to(b[:, None], rows.shape), out=rows)
        return yt

    def _pads_while_copying(self, x) -> bool:
        """im2col reads x itself and writes the padding's zeros (``im2col_padded``): x has
        padding to add and is laid out batch-inner already (the layers between two convolutions
        keep it so); then no padded copy is made."""
        return (self.pads != ((0, 0), (0, 0)) and self.axes == BATCH_INNER
                and x.transpose(BATCH_INNER).flags.c_contiguous)

    def _padded_input(self, x, dtype, buffers, padding_is_zero: bool):
        """x in layout ``axes`` with its padding, as im2col reads it: a view of x when there is
        no padding and x's memory is laid out that way already, else a copy into a buffer whose
        rim is zeroed unless ``padding_is_zero`` (the kernel's own buffer: zero since it was made)."""
        axes = self.axes
        if self.pads == ((0, 0), (0, 0)) and x.transpose(axes).flags.c_contiguous:
            return x.transpose(axes)
        xt = buffers.get("xt", permute((x.shape[0], x.shape[1], *self.padded_hw), axes), dtype)
        (top, bottom), (left, right) = self.pads
        hp, wp = self.padded_hw
        nchw = to_nchw(xt, axes)
        if not padding_is_zero:
            for rim in (nchw[:, :, :top], nchw[:, :, hp - bottom:], nchw[:, :, :, :left], nchw[:, :, :, wp - right:]):
                rim.fill(0)
        return pad_into(x, self.pads, xt, axes)

    def _weight_grad(self, dyt, dW):
        """dW (F, K) = dY (F, M) @ colsᵀ (M, K). When K > F it is computed as dWᵀ = cols @ dYᵀ and
        copied: the same products summed in the same order (bit for bit), but OpenBLAS runs
        them 15-25% faster that way here (resnet-fashion's 32->32 convolution at batch 64: 2.12
        -> 1.72 ms on two threads, lenet's 32->64: 12.4 -> 9.4 ms; with K < F, the first
        convolution's K = 9, slower: 0.20 -> 0.36 ms)."""
        k, f = self.cols.shape[0], dyt.shape[0]
        if k <= f:
            xp.matmul(dyt, self.cols.T, out=dW)
            return
        dWt = self._ws.get("dWt", (k, f), dW.dtype)
        xp.matmul(self.cols, dyt.T, out=dWt)
        xp.copyto(dW, dWt.T)

    def _weight_grad_by_row_patches(self, dyt, dW):
        """dW (F, C, kh, kw): for each kernel row i, dW[:, :, i] (F, C·kw) = dY (F, M) @ rows_iᵀ,
        computed as its transpose rows_i @ dYᵀ (C·kw, F) into a scratch (kh, C, kw, F) and copied
        (that way 1.23-1.40x faster alone at 32, 64 and 128 channels, as for ``_weight_grad``)."""
        f, c, kh, kw = dW.shape
        ho = self.out_hw[0]
        dWt = self._ws.get("dWt_rows", (kh, c, kw, f), dW.dtype)
        for i in range(kh):
            xp.matmul(kernel_row(self.rows, i, ho), dyt.T, out=dWt[i].reshape(c * kw, f))
        xp.copyto(dW, dWt.transpose(3, 1, 0, 2))

    def _input_grad_by_correlation(self, dyt, W, n: int, c: int):
        """dx (C, H, W, N) of a stride-1 'same' convolution, as a convolution of dY::

            dx[c, h, w] = Σ_f Σ_(i,j) W[f, c, i, j] · dY[f, h + top − i, w + left − j]
                        = Σ_i Σ_(f,j) Wᵀ[c, f, kh−1−i, kw−1−j] · dYp[f, h + i, w + j]

        with dYp = dY padded by (kh−1−top, kh−1−bottom) rows and (kw−1−left, kw−1−right) columns:
        for each kernel row i one product of the flipped, transposed kernel's row (C, F·kw) with a
        view of dYp's row patches (``row_patches``: its kw column shifts, F·kw rows; into a
        zero-filled buffer only this writes), the kh products added up in dx by BLAS (against a
        scratch product and an add pass per row: 0.954 of the resnet-fashion model's training
        step). The same numbers as Wᵀ @ dY then ``col2im``, summed in another order (float32
        rounding). Measured on two threads, batch 64: against Wᵀ @ dY and col2im, as the full
        im2col of dYp and one product 4.62 -> 3.99 ms for 32 channels 14×14, 2.76 -> 2.64 for
        64 × 7×7, 2.63 -> 2.47 for 128 × 4×4 (the copy of im2col is cheaper than col2im's kh·kw
        sums); row patches instead of that im2col (a third of the copy, kh products): 0.69-0.89 of
        its time at 32 channels, 0.72-0.82 at 64, 0.92-0.99 at 128. (The forward and dW over row
        patches of x, ``_forward_by_row_patches``, paid only once the kh sums were BLAS's.)"""
        f = W.shape[0]
        (kh, kw), ((top, bottom), (left, right)) = self.kernel, self.pads
        h, w = self.x_shape[2:]
        dy_pads = ((kh - 1 - top, kh - 1 - bottom), (kw - 1 - left, kw - 1 - right))
        rows = self._ws.get("dy_rows", (f, kw, h + kh - 1, w, n), W.dtype)   # dYp: H + kh − 1 rows
        row_patches(dyt.reshape(f, *self.out_hw, n), dy_pads, kw, rows)
        flipped = self._ws.get("W_flipped", (kh, c, f, kw), W.dtype)    # kernel row i of Wᵀ flipped: (C, F·kw)
        xp.copyto(flipped, W[:, :, ::-1, ::-1].transpose(2, 1, 0, 3))
        dx = xp.empty((c, h, w, n), W.dtype)
        for i in range(kh):
            matmul(flipped[i].reshape(c, f * kw), kernel_row(rows, i, h), dx.reshape(c, -1), accumulate=i > 0)
        return dx

    def backward(self, grad_y, W, dW, db, needs_input_grad: bool):
        """Writes dW (F, C, kh, kw) and db (F,) (None: no bias) in place; returns dx (N, C, H, W)
        in layout ``axes``, or None without ``needs_input_grad``."""
        n, c = self.x_shape[:2]
        f, axes = W.shape[0], self.axes
        dyt = grad_y.transpose(axes)
        if not dyt.flags.c_contiguous or dyt.dtype != W.dtype:   # else: in this layer's layout already
            dyt = self._ws.get("dyt", dyt.shape, W.dtype)
            copy_from_nchw(to_nchw(dyt, axes), grad_y)
        dyt = dyt.reshape(f, -1)                                         # (F, Ho·Wo·N)
        by_row_patches = self._by_row_patches()
        if by_row_patches:
            self._weight_grad_by_row_patches(dyt, dW)
        else:
            self._weight_grad(dyt, dW.reshape(f, -1))
        if db is not None:  # Σ over positions and samples: one GEMV with ones (channel_sums)
            db[...] = channel_sums(dyt[None])
        if not needs_input_grad:
            return None
        if by_row_patches:
            return to_nchw(self._input_grad_by_correlation(dyt, W, n, c), axes)
        dcols = self._ws.get("dcols", self.cols.shape, W.dtype)
        xp.matmul(W.reshape(f, -1).T, dyt, out=dcols)
        dcols = dcols.reshape(c, *self.kernel, *permute(grad_y.shape, axes)[1:])
        dx = xp.empty(permute(self.x_shape, axes), W.dtype)             # dx keeps the layout too
        if self.pads == ((0, 0), (0, 0)):
            col2im(dcols, self.stride, dx, axes)
        elif axes == BATCH_INNER:               # the sums into the padding left out: no crop
            col2im_padded(dcols, self.pads, self.stride, dx)
        else:
            dxt = self._ws.get("dxt", permute((n, c, *self.padded_hw), axes), W.dtype)
            col2im(dcols, self.stride, dxt, axes)
            crop_from(dxt, self.pads, to_nchw(dx, axes), axes)
        return to_nchw(dx, axes)
