"""2-D convolution as one GEMM over an im2col patch matrix (see ``nnpy.nn.im2col``)."""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..im2col import (BATCH_INNER, BATCH_MIDDLE, Workspace, check_padding, col2im, copy_from_nchw, crop_from,
                      im2col, output_size, pad_into, pair, permute, resolve_padding, to_nchw)
from ..layer import Layer

__all__ = ["Conv2D"]

# Output rows at least this long use the batch-middle layout (see nnpy.nn.im2col).
LONG_ROWS = 12


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

    The columns are ordered (Ho, Wo, N) or (N, Ho, Wo), whichever layout suits the
    output width (``LONG_ROWS``). dx is skipped when ``needs_input_grad`` is False.
    Scratch arrays are kept between steps; outputs and dx are fresh arrays.
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
        self.axes = BATCH_MIDDLE if self.out_hw[1] >= LONG_ROWS else BATCH_INNER
        return (self.filters, *self.out_hw)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        n, c = x.shape[:2]
        f, (ho, wo), axes = self.filters, self.out_hw, self.axes
        W = self.params["W"]
        if axes == BATCH_MIDDLE and self.pads == ((0, 0), (0, 0)):
            xt = x.transpose(axes)                                       # im2col copies from the view
        else:
            xt = self._ws.get("xt", permute((n, c, *self.padded_hw), axes), W.dtype)
            pad_into(x, self.pads, xt, axes)
        out = permute((n, f, ho, wo), axes)                              # (F, Ho, Wo, N) or (F, N, Ho, Wo)
        cols = self._ws.get("cols", (c, *self.kernel_size, *out[1:]), W.dtype)   # (C, kh, kw, ·)
        im2col(xt, self.kernel_size, self.stride, cols, axes)
        self.x_shape, self.cols = x.shape, cols.reshape(W[0].size, -1)   # (K, Ho·Wo·N)
        yt = self._ws.get("yt", out, W.dtype)
        xp.matmul(W.reshape(f, -1), self.cols, out=yt.reshape(f, -1))
        y = xp.empty((n, f, ho, wo), dtype=W.dtype)
        if self.use_bias:
            xp.add(to_nchw(yt, axes), self.params["b"][:, None, None], out=y)
        else:
            xp.copyto(y, to_nchw(yt, axes))
        return y

    def backward(self, grad_y):
        n, c = self.x_shape[:2]
        f, axes = self.filters, self.axes
        W = self.params["W"]
        dyt = self._ws.get("yt", permute(grad_y.shape, axes), W.dtype)  # forward's yt is free again
        copy_from_nchw(to_nchw(dyt, axes), grad_y)
        dyt = dyt.reshape(f, -1)                                         # (F, Ho·Wo·N)
        xp.matmul(dyt, self.cols.T, out=self.grads["W"].reshape(f, -1))
        if self.use_bias:  # a GEMV with ones is ~3x faster than dyt.sum(axis=1)
            xp.matmul(dyt, self._ws.get("ones", dyt.shape[1:], W.dtype, fill=1.0), out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        dcols = self._ws.get("dcols", self.cols.shape, W.dtype)
        xp.matmul(W.reshape(f, -1).T, dyt, out=dcols)
        dxt = self._ws.get("dxt", permute((n, c, *self.padded_hw), axes), W.dtype)
        col2im(dcols.reshape(c, *self.kernel_size, *permute(grad_y.shape, axes)[1:]), self.stride, dxt, axes)
        return crop_from(dxt, self.pads, xp.empty(self.x_shape, dtype=W.dtype), axes)

    def flops(self):
        f, c, kh, kw = self.params["W"].shape
        return 2 * f * c * kh * kw * self.out_hw[0] * self.out_hw[1]
