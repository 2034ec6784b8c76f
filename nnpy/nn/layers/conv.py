"""2-D convolution (``nnpy.functional.conv``; its fast twin: ``nnpy.kernels.conv``)."""
from __future__ import annotations

from ... import functional as F
from ... import kernels
from ...functional.windows import check_padding, output_size, pair, resolve_padding
from ...kernels.conv import Conv2DKernel
from ...registry import register_layer
from ..layer import Layer

__all__ = ["Conv2D"]


@register_layer("Conv2D", "Conv2d")
class Conv2D(Layer):
    """y[n, f] = b[f] + Σ_c W[f, c] ⋆ x[n, c]  (cross-correlation, like every framework).

    Input (N, C, H, W); output (N, filters, Ho, Wo) with Ho = (H + pad_h - kh) // sh + 1.
    ``W``: (filters, C, kh, kw), ``b``: (filters,). ``padding``: an int or a pair
    (both sides), ``'valid'`` (none) or ``'same'`` (Ho = ceil(H / sh); an odd total
    puts the extra row/column at the bottom/right, as TensorFlow does).
    dx is skipped when ``needs_input_grad`` is False (the model's first layer).
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
        self.kernel = Conv2DKernel(self.kernel_size, self.stride, self.pads, (hp, wp), self.out_hw)
        return (self.filters, *self.out_hw)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        W, b = self.params["W"], self.params.get("b")
        self.fast = kernels.fast()
        if self.fast:
            return self.kernel.forward(x, W, b)
        self.x = x.astype(W.dtype, copy=False)                     # the layer computes in its dtype
        return F.conv2d(self.x, W, b, self.stride, self.pads)

    def backward(self, grad_y):
        W, db = self.params["W"], self.grads.get("b")
        if self.fast:
            return self.kernel.backward(grad_y, W, self.grads["W"], db, self.needs_input_grad)
        dx, self.grads["W"][...], db_ = F.conv2d_backward(self.x, W, grad_y.astype(W.dtype, copy=False),
                                                          self.stride, self.pads, self.needs_input_grad)
        if db is not None:
            db[...] = db_
        return dx

    def flops(self):
        f, c, kh, kw = self.params["W"].shape
        return 2 * f * c * kh * kw * self.out_hw[0] * self.out_hw[1]
