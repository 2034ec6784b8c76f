"""2-D convolution as one GEMM over an im2col patch matrix (see ``nnpy.nn.im2col``)."""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..im2col import (BATCH_INNER, Workspace, check_padding, col2im, copy_from_nchw, crop_from, im2col,
                      output_size, pad_into, pair, permute, resolve_padding, to_nchw)
from ..layer import Layer
from ..parallel import elementwise

__all__ = ["Conv2D"]

@register_layer("Conv2D", "Conv2d")
class Conv2D(Layer):
    """y[n, f] = b[f] + Σ_c W[f, c] ⋆ x[n, c]  (cross-correlation, like every framework).

    Input (N, C, H, W); output (N, filters, Ho, Wo) with Ho = (H + pad_h - kh) // sh + 1.
    ``W``: (filters, C, kh, kw), ``b``: (filters,). ``padding``: an int or a pair
    (both sides), ``'valid'`` (none) or ``'same'`` (Ho = ceil(H / sh); an odd total
    puts the extra row/column at the bottom/right, as TensorFlow does).

    The three GEMMs, with K = C·kh·kw and the patch matrix ``cols`` (K, Ho·Wo·N)::

        forward   Y  = W2 @ cols        (F, Ho·Wo·N)
        backward  dW = dY @ cols.T      (F, K)
                  dcols = W2.T @ dY     (K, Ho·Wo·N), then col2im -> dx

    The columns are ordered (Ho, Wo, N): images are kept batch-inner, (C, H, W, N) in
    memory, and y and dx are (N, C, H, W) views of such arrays. The layers between two
    convolutions keep that memory order, so the next im2col reads its input without a
    transposing copy, in runs of W·N numbers (``nnpy.nn.im2col``). Against the batch-middle
    (C, N, H, W) order used for wide maps before, with NCHW between the layers, forward +
    backward on one thread went 71.6 -> 63.5 ms for lenet's conv 32->64 at batch 64, and
    18.4 -> 14.0 ms for a 32->32 conv of the resnet-fashion model.
    dx is skipped when ``needs_input_grad`` is False. Scratch arrays are kept between steps;
    outputs and dx are fresh arrays.
    """

    def __init__(self, filters: int, kernel_size=3, stride=1, padding="valid", use_bias: bool = True,
                 init="he_normal", bias_init="zeros", name: str | None = None):
        super().__init__(name)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"filters must be a positive integer, not {filters!r}")
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"kernel_size and stride must be positive, not {kernel_size!r}, {stride!r}")
        check_padding(padding)
        self.padding, self.use_bias, self.init, self.bias_init = padding, bool(use_bias), init, bias_init
        self._ws = Workspace()

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        c, h, w = input_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        self.pads = resolve_padding(self.padding, self.kernel_size, self.stride, (h, w))
        hp, wp = h + sum(self.pads[0]), w + sum(self.pads[1])
        if hp < kh or wp < kw:
            raise self.shape_error(f"images at least as large as the {kh}×{kw} kernel (after padding "
                                   f"they are {hp}×{wp})", input_shape)
        self.add_param("W", (self.filters, c, kh, kw), self.init)
        if self.use_bias:
            self.add_param("b", (self.filters,), self.bias_init)
        self.padded_hw = (hp, wp)
        self.out_hw = (output_size(h, kh, sh, self.pads[0]), output_size(w, kw, sw, self.pads[1]))
        self.axes = BATCH_INNER      # the memory order of the patch matrix's columns (tests try others)
        return (self.filters, *self.out_hw)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        n, c = x.shape[:2]
        f, (ho, wo), axes = self.filters, self.out_hw, self.axes
        W = self.params["W"]
        xt = self._padded_input(x)
        out = permute((n, f, ho, wo), axes)                              # (F, Ho, Wo, N) or (F, N, Ho, Wo)
        cols = self._ws.get("cols", (c, *self.kernel_size, *out[1:]), W.dtype)   # (C, kh, kw, ·)
        im2col(xt, self.kernel_size, self.stride, cols, axes)
        self.x_shape, self.cols = x.shape, cols.reshape(W[0].size, -1)   # (K, Ho·Wo·N)
        yt = xp.empty(out, W.dtype)                                      # y is a view of it
        xp.matmul(W.reshape(f, -1), self.cols, out=yt.reshape(f, -1))
        if self.use_bias:
            rows = yt.reshape(f, -1)
            elementwise(xp.add, rows, xp.broadcast_to(self.params["b"][:, None], rows.shape), out=rows)
        return to_nchw(yt, axes)

    def _padded_input(self, x):
        """x in layout ``axes`` with its padding, as im2col reads it: a view of x when there is
        no padding and x's memory is laid out that way already, else a copy into a kept buffer."""
        axes = self.axes
        if self.pads == ((0, 0), (0, 0)) and x.transpose(axes).flags.c_contiguous:
            return x.transpose(axes)
        xt = self._ws.get("xt", permute((x.shape[0], x.shape[1], *self.padded_hw), axes), x.dtype)
        return pad_into(x, self.pads, xt, axes)

    def backward(self, grad_y):
        n, c = self.x_shape[:2]
        f, axes = self.filters, self.axes
        W = self.params["W"]
        dyt = grad_y.transpose(axes)
        if not dyt.flags.c_contiguous or dyt.dtype != W.dtype:   # else: in this layer's layout already
            dyt = self._ws.get("dyt", dyt.shape, W.dtype)
            copy_from_nchw(to_nchw(dyt, axes), grad_y)
        dyt = dyt.reshape(f, -1)                                         # (F, Ho·Wo·N)
        xp.matmul(dyt, self.cols.T, out=self.grads["W"].reshape(f, -1))
        if self.use_bias:  # a GEMV with ones is ~3x faster than dyt.sum(axis=1)
            xp.matmul(dyt, self._ws.get("ones", dyt.shape[1:], W.dtype, fill=1.0), out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        dcols = self._ws.get("dcols", self.cols.shape, W.dtype)
        xp.matmul(W.reshape(f, -1).T, dyt, out=dcols)
        dcols = dcols.reshape(c, *self.kernel_size, *permute(grad_y.shape, axes)[1:])
        dx = xp.empty(permute(self.x_shape, axes), W.dtype)             # dx keeps the layout too
        if self.pads == ((0, 0), (0, 0)):
            col2im(dcols, self.stride, dx, axes)
        else:
            dxt = self._ws.get("dxt", permute((n, c, *self.padded_hw), axes), W.dtype)
            col2im(dcols, self.stride, dxt, axes)
            crop_from(dxt, self.pads, to_nchw(dx, axes), axes)
        return to_nchw(dx, axes)

    def flops(self):
        f, c, kh, kw = self.params["W"].shape
        return 2 * f * c * kh * kw * self.out_hw[0] * self.out_hw[1]
