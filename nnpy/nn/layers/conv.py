"""2-D convolution as one GEMM over an im2col patch matrix (see ``nnpy.nn.im2col``)."""
from __future__ import annotations

from ...backend import xp
from ...registry import register_layer
from ..im2col import (Workspace, check_padding, col2im, im2col, nchw_to_padded_chwn, output_size,
                      padded_chwn_to_nchw, pair, resolve_padding)
from ..layer import Layer

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
        self.out_hw = (output_size(h, kh, sh, self.pads[0]), output_size(w, kw, sw, self.pads[1]))
        return (self.filters, *self.out_hw)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        n, c, h, w = x.shape
        f, (ho, wo) = self.filters, self.out_hw
        W = self.params["W"]
        hp, wp = h + sum(self.pads[0]), w + sum(self.pads[1])
        xt = self._ws.get("xt", (c, hp, wp, n), W.dtype)                              # (C, Hp, Wp, N)
        nchw_to_padded_chwn(x, self.pads, xt)
        cols = im2col(xt, self.kernel_size, self.stride,
                      self._ws.get("cols", (c, *self.kernel_size, ho, wo, n), W.dtype))  # (C, kh, kw, Ho, Wo, N)
        self.x_shape, self.cols = x.shape, cols.reshape(W[0].size, -1)               # (K, Ho·Wo·N)
        yt = self._ws.get("yt", (f, ho * wo * n), W.dtype)                            # (F, Ho·Wo·N)
        xp.matmul(W.reshape(f, -1), self.cols, out=yt)
        y = xp.empty((n, f, ho, wo), dtype=W.dtype)
        yt = yt.reshape(f, ho, wo, n).transpose(3, 0, 1, 2)                           # view (N, F, Ho, Wo)
        if self.use_bias:
            xp.add(yt, self.params["b"][:, None, None], out=y)
        else:
            xp.copyto(y, yt)
        return y

    def backward(self, grad_y):
        n, c, h, w = self.x_shape
        f, (ho, wo) = self.filters, self.out_hw
        W = self.params["W"]
        dyt = self._ws.get("dyt", (f, ho, wo, n), W.dtype)                            # (F, Ho, Wo, N)
        xp.copyto(dyt, grad_y.transpose(1, 2, 3, 0))
        dyt = dyt.reshape(f, -1)
        xp.matmul(dyt, self.cols.T, out=self.grads["W"].reshape(f, -1))
        if self.use_bias:
            dyt.sum(axis=1, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        dcols = self._ws.get("dcols", (c, *self.kernel_size, ho, wo, n), W.dtype)    # (C, kh, kw, Ho, Wo, N)
        xp.matmul(W.reshape(f, -1).T, dyt, out=dcols.reshape(self.cols.shape))
        dxt = self._ws.get("dxt", (c, h + sum(self.pads[0]), w + sum(self.pads[1]), n), W.dtype)
        col2im(dcols, self.stride, dxt)
        return padded_chwn_to_nchw(dxt, self.pads, xp.empty(self.x_shape, dtype=W.dtype))

    def flops(self):
        f, c, kh, kw = self.params["W"].shape
        return 2 * f * c * kh * kw * self.out_hw[0] * self.out_hw[1]
