"""Convolutions: 2-D (its fast twin: ``nnpy.kernels.conv``), 1-D and transposed 2-D (``nnpy.functional.conv``)."""
from __future__ import annotations

from ... import functional as F
from ... import kernels
from ...functional.windows import (check_padding, check_padding1d, output_size, pair, resolve_padding,
                                  resolve_padding1d)
from ...kernels.conv import Conv2DKernel
from ...registry import register_layer
from ..layer import Layer

__all__ = ["Conv2D", "Conv1D", "Conv2DTranspose"]


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
        W = self.params["W"]
        if self.fast:
            return self.kernel.backward(grad_y, W, self.grads["W"], self.grads.get("b"), self.needs_input_grad)
        dx, dW, db = F.conv2d_backward(self.x, W, grad_y.astype(W.dtype, copy=False), self.stride, self.pads,
                                       self.needs_input_grad)
        return _keep(self.grads, dW, db, dx)

    def flops(self):
        f, c, kh, kw = self.params["W"].shape
        return 2 * f * c * kh * kw * self.out_hw[0] * self.out_hw[1]


def _keep(grads: dict, dW, db, dx):
    """Write dW (and db, when the layer has a bias) into the layer's gradient buffers; return dx."""
    grads["W"][...] = dW
    if "b" in grads:
        grads["b"][...] = db
    return dx


def _positive_int(value, what: str) -> int:
    """``value`` if it is an int ≥ 1, else a ValueError naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive integer, not {value!r}")
    return value


@register_layer("Conv1D", "Conv1d")
class Conv1D(Layer):
    """y[n, f] = b[f] + Σ_c W[f, c] ⋆ x[n, c] over sequences (N, C, L).

    Input (N, C, L) (channels first, as PyTorch's Conv1d); output (N, filters, Lo) with
    Lo = (L + left + right − k) // stride + 1. ``W``: (filters, C, k), ``b``: (filters,).
    ``padding``: an int (both ends), ``'valid'`` or ``'same'`` (Lo = ceil(L / stride); the odd
    extra at the right). The math is ``F.conv2d`` on images one row high (``F.conv1d``).
    """

    def __init__(self, filters: int, kernel_size: int = 3, stride: int = 1, padding="valid", use_bias: bool = True,
                 init="he_normal", bias_init="zeros", name: str | None = None):
        super().__init__(name)
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = _positive_int(kernel_size, "kernel_size")
        self.stride = _positive_int(stride, "stride")
        check_padding1d(padding)
        self.padding, self.use_bias, self.init, self.bias_init = padding, bool(use_bias), init, bias_init

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("sequences (C, L)", input_shape)
        c, length = input_shape
        self.pads = resolve_padding1d(self.padding, self.kernel_size, self.stride, length)
        if length + sum(self.pads) < self.kernel_size:
            raise self.shape_error(f"sequences at least as long as the kernel ({self.kernel_size}) after padding",
                                   input_shape)
        self.add_param("W", (self.filters, c, self.kernel_size), self.init)
        if self.use_bias:
            self.add_param("b", (self.filters,), self.bias_init)
        self.out_len = output_size(length, self.kernel_size, self.stride, self.pads)
        return (self.filters, self.out_len)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        W = self.params["W"]
        self.x = x.astype(W.dtype, copy=False)
        return F.conv1d(self.x, W, self.params.get("b"), self.stride, self.pads)

    def backward(self, grad_y):
        W = self.params["W"]
        dx, dW, db = F.conv1d_backward(self.x, W, grad_y.astype(W.dtype, copy=False), self.stride, self.pads,
                                       self.needs_input_grad)
        return _keep(self.grads, dW, db, dx)

    def flops(self):
        f, c, k = self.params["W"].shape
        return 2 * f * c * k * self.out_len


@register_layer("Conv2DTranspose", "ConvTranspose2D", "ConvTranspose2d")
class Conv2DTranspose(Layer):
    """The transposed convolution (PyTorch's ConvTranspose2d): each input pixel adds a weighted
    copy of the kernel onto the output, ``stride`` pixels apart (see ``F.conv_transpose2d``).

    Input (N, C, H, W); output (N, filters, Ho, Wo) with
    Ho = (H − 1)·sh − 2·ph + kh + output_padding_h (and Wo alike), exactly as PyTorch defines
    ``stride``, ``padding`` (rows and columns cropped from each side of the full output; an int
    or a pair) and ``output_padding`` (extra rows/columns at the bottom/right, each < its stride).
    ``W``: (C, filters, kh, kw) -- PyTorch's layout, input channels first; ``b``: (filters,).
    """

    def __init__(self, filters: int, kernel_size=3, stride=1, padding=0, output_padding=0, use_bias: bool = True,
                 init="he_normal", bias_init="zeros", name: str | None = None):
        super().__init__(name)
        self.filters = _positive_int(filters, "filters")
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.output_padding = pair(output_padding, "output_padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"kernel_size and stride must be positive and padding >= 0, not "
                             f"{kernel_size!r}, {stride!r}, {padding!r}")
        if not all(0 <= op < s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"output_padding must be >= 0 and smaller than the stride {self.stride}, "
                             f"not {output_padding!r}")
        self.use_bias, self.init, self.bias_init = bool(use_bias), init, bias_init

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        c = input_shape[0]
        self.pads = tuple((p, p) for p in self.padding)
        self.out_hw = tuple((n - 1) * s - 2 * p + k + op for n, s, p, k, op in
                            zip(input_shape[1:], self.stride, self.padding, self.kernel_size, self.output_padding))
        if min(self.out_hw) < 1:
            raise self.shape_error(f"images large enough to give an output after cropping padding "
                                   f"{self.padding} (the output would be {self.out_hw})", input_shape)
        self.add_param("W", (c, self.filters, *self.kernel_size), self.init)
        if self.use_bias:
            self.add_param("b", (self.filters,), self.bias_init)
        return (self.filters, *self.out_hw)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        W = self.params["W"]
        self.x = x.astype(W.dtype, copy=False)
        return F.conv_transpose2d(self.x, W, self.params.get("b"), self.stride, self.pads, self.out_hw)

    def backward(self, grad_y):
        W = self.params["W"]
        dx, dW, db = F.conv_transpose2d_backward(self.x, W, grad_y.astype(W.dtype, copy=False), self.stride,
                                                 self.pads, self.needs_input_grad)
        return _keep(self.grads, dW, db, dx)

    def flops(self):
        c, f, kh, kw = self.params["W"].shape
        return 2 * c * f * kh * kw * self.input_shape[1] * self.input_shape[2]
