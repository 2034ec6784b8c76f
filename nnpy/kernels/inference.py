"""The fast twin of an evaluation forward (``training=False``) of convolution blocks: what the
plain layers compute one after the other, in fewer passes over memory, keeping nothing for a
backward.

Plain, layer by layer (each layer also keeps what its backward would need)::

    Conv2D      y = W ⋆ x + b                       im2col, GEMM, a pass for the bias
    BatchNorm   y = y·a + (β − μ·a)                 two passes (a = γ/√(σ² + ε), running μ, σ²)
    ReLU        y = max(y, 0)                       a pass into a fresh array

Here (``FusedConv2D``), one GEMM and two passes over its output while it is still in the cache::

    W', b' = F.fold_batch_norm(W, b, μ, σ², γ, β, ε)      BatchNorm folded into the weights
    y = W' @ cols;  y += b';  y = max(y, 0)               in place

(b' summed by the GEMM itself, as a row of ones under the patch matrix and b' beside W', was
measured slower: one more row takes K = 288 past OpenBLAS's block, and the 32-channel
product at batch 256 went from 16.0 to 19.5 ms on one thread.)

and a residual block's sum and its ReLU run in place on the main path's fresh output
(``add_in_place``, ``relu_in_place``). The folded weights are computed afresh at each call (a
multiply over the weights: 0.23 ms for the resnet-fashion model's 0.7 M, against 150-230 ms for a
batch of 256), so they always follow the parameters: an optimizer step, ``load`` or an edit by
hand is seen by the next call. The padded input and the patch matrix are scratch shared by every
convolution of a model (``Scratch``): evaluation needs neither after the GEMM.

The same numbers as the plain layers to float32 rounding (the weights are scaled before the
products instead of the sums after them); ReLU and the sums are exact. tests/functional/test_inference.py checks it against the plain evaluation.
"""
from __future__ import annotations

import math

from ..backend import xp
from ..functional.normalization import fold_batch_norm
from .im2col import to_nchw
from .threads import elementwise


class Scratch:
    """Arrays needed only inside one call, shared by every step of a plan: a flat buffer per
    name, grown to the largest request, handed out as views. Their contents are undefined."""

    def __init__(self):
        self._flat = {}

    def get(self, name: str, shape: tuple, dtype):
        size = math.prod(shape)
        flat = self._flat.get((name, dtype))
        if flat is None or flat.size < size:
            flat = self._flat[name, dtype] = xp.empty(size, dtype)
        return flat[:size].reshape(shape)


def relu_in_place(y):
    """y = max(y, 0), written over y (an array the plan made), split over threads when large."""
    return elementwise(xp.maximum, y, y.dtype.type(0), out=y)


def add_in_place(y, s):
    """y += s (an array the plan made, and one of its shape), split over threads when large."""
    return elementwise(xp.add, y, s, out=y)


class FusedConv2D:
    """Evaluation of Conv2D (→ BatchNorm) (→ ReLU) with a convolution's ``Conv2DKernel`` (its
    geometry, its patch matrix and product), the patch matrix in a plan's ``Scratch``."""

    def __init__(self, kernel):
        self.kernel = kernel

    def __call__(self, x, W, b, norm, relu: bool, scratch: Scratch):
        """y (N, F, Ho, Wo), a view of a fresh batch-inner (F, Ho, Wo, N) array.

        x (N, C, H, W); W (F, C, kh, kw); b (F,) or None; ``norm``: None, or the batch norm
        after the convolution as (mean, var, gamma, beta, epsilon); ``relu``: a ReLU after both.
        """
        if norm is not None:
            W, b = fold_batch_norm(W, b, *norm)
        cols = self.kernel.patches(x, W.dtype, scratch)
        yt = self.kernel.product(W, b, cols, x.shape[0])   # the bias added while the output is in the cache
        if relu:
            relu_in_place(yt)
        return to_nchw(yt, self.kernel.axes)
