"""Upsampling images by whole factors (``nnpy.functional.upsampling``)."""
from __future__ import annotations

from ... import functional as F
from ...functional.windows import pair
from ...registry import register_layer
from ..layer import Layer

__all__ = ["UpSampling2D"]


@register_layer("UpSampling2D", "Upsample2D")
class UpSampling2D(Layer):
    """Images made ``size`` = (sh, sw) times larger, nearest or bilinear: y = A_h @ x @ A_wᵀ.

    Input (N, C, H, W); output (N, C, sh·H, sw·W). ``interpolation``: ``'nearest'`` (each pixel
    repeated) or ``'bilinear'`` (PyTorch's ``align_corners=False``: output pixel centres mapped
    onto the input, edges clamped). A_h (sh·H, H) and A_w (sw·W, W) are built once (``build``).
    """

    def __init__(self, size=2, interpolation: str = "nearest", name: str | None = None):
        super().__init__(name)
        self.size = pair(size, "size")
        if min(self.size) < 1:
            raise ValueError(f"size must be positive, not {size!r}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', not {interpolation!r}")
        self.interpolation = interpolation

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise self.shape_error("images (C, H, W)", input_shape)
        c, h, w = input_shape
        (sh, sw), mode = self.size, self.interpolation
        self.A_h = F.interpolation_matrix(h, sh, mode, self.dtype)
        self.A_w = F.interpolation_matrix(w, sw, mode, self.dtype)
        return (c, sh * h, sw * w)

    def forward(self, x, training=False):
        if tuple(x.shape[1:]) != self.input_shape:
            raise self.shape_error(f"the shape it was built for, {self.input_shape}", x.shape[1:])
        return F.upsample2d(x, self.A_h.astype(x.dtype, copy=False), self.A_w.astype(x.dtype, copy=False))

    def backward(self, grad_y):
        return F.upsample2d_backward(grad_y, self.A_h.astype(grad_y.dtype, copy=False),
                                     self.A_w.astype(grad_y.dtype, copy=False))

    def flops(self):
        c, h, w = self.input_shape
        (sh, sw) = self.size
        return 2 * c * (sh * h * h * w + sh * h * w * sw * w)
