"""A Chain's evaluation forward (``training=False``) in fast mode: its layers read as fused steps
(``nnpy.kernels.inference``).

    Conv2D (→ BatchNorm) (→ ReLU)     one FusedConv2D: BatchNorm folded into the weights, the ReLU in place
    Residual                          its main path and shortcut as plans of their own; the sum and
                                      a ReLU activation in place on the main path's fresh output
    any other layer                   its own ``forward(x, training=False)``

The plain evaluation is every layer's ``forward`` in turn (``NNPY_REFERENCE=1`` runs it, and so
does a Chain whose plan fuses nothing). The steps keep nothing for a backward: ``Chain.backward``
after such a forward runs the layers' own forward first.

With the thread pool on (``nnpy.set_num_threads``, which the ``nnpy`` command calls), a large batch
is split in two, each half run through the whole plan on its own thread with BLAS on one thread:
then im2col, the padding copies and the passes run on both cores as well as the products.
Measured on the 2-vCPU AMD EPYC (Zen 4), batch 256, each variant in processes of its own:
fashion-mnist.json 138.6-152.3 ms a batch layer by layer, 107.6-118.3 ms split (OpenBLAS's own two
threads run these products as fast as two single-threaded halves, but every copy between them
ran on one core); mnist.json 33.5-36.1 -> 24.9-30.2 ms.
"""
from __future__ import annotations

import threading

from ...backend import xp
from ...kernels.inference import FusedConv2D, Scratch, add_in_place, relu_in_place
from ...kernels.threads import MIN_BYTES, split_over_threads
from .activations import ReLU
from .conv import Conv2D
from .normalization import BatchNorm


class _LayerStep:
    """A layer evaluated by its own forward; its output may be its input or a view of it."""
    fresh = False

    def __init__(self, layer):
        self.layer = layer

    def __call__(self, x, scratch):
        return self.layer.forward(x, training=False)


class _ConvStep:
    """Conv2D, the BatchNorm after it (or None) and a ReLU after both (or not), as one FusedConv2D."""
    fresh = True          # its output is a new array: the steps after it may write over it

    def __init__(self, conv, norm, relu: bool):
        self.conv, self.norm, self.relu = conv, norm, relu
        self.fused = FusedConv2D(conv.kernel)       # the layer's Conv2DKernel: geometry, patches, product

    def __call__(self, x, scratch):
        conv, bn = self.conv, self.norm
        if tuple(x.shape[1:]) != conv.input_shape:
            raise conv.shape_error(f"the shape it was built for, {conv.input_shape}", x.shape[1:])
        norm = None if bn is None else (bn.buffers["running_mean"], bn.buffers["running_var"], bn.params["gamma"],
                                        bn.params["beta"], bn.epsilon)
        return self.fused(x, conv.params["W"], conv.params.get("b"), norm, self.relu, scratch)


class _ResidualStep:
    """activation(main(x) + shortcut(x)) with the sum (and a ReLU) written over main's output."""
    fresh = True

    def __init__(self, block):
        self.block = block
        self.main = EvaluationPlan(block.main.layers)
        self.shortcut = None if block.shortcut is None else EvaluationPlan(block.shortcut.layers)

    def __call__(self, x, scratch):
        y = self.main.run(x, scratch)
        s = x if self.shortcut is None else self.shortcut.run(x, scratch)
        if self.main.fresh:
            add_in_place(y, s)
        else:
            y = y + s
        act = self.block.activation
        if type(act) is ReLU:
            return relu_in_place(y)
        return y if act is None else act.forward(y, training=False)


def _steps(layers: list) -> list:
    """The layers (in the order a Chain runs them) grouped into steps."""
    from .containers import Residual    # containers imports this module

    steps, i = [], 0
    while i < len(layers):
        layer = layers[i]
        if type(layer) is Conv2D:
            follows = layers[i + 1:i + 3]
            norm = follows[0] if follows and type(follows[0]) is BatchNorm else None
            rest = follows[1:] if norm is not None else follows
            relu = bool(rest) and type(rest[0]) is ReLU
            steps.append(_ConvStep(layer, norm, relu))
            i += 1 + (norm is not None) + relu
        else:
            steps.append(_ResidualStep(layer) if type(layer) is Residual else _LayerStep(layer))
            i += 1
    return steps


#: a batch is split over threads when it holds at least this many FLOPs (about 0.5 ms of work on one
#: core here, against ~0.1 ms to hand a part to another thread)
SPLIT_FLOPS = 25_000_000


class EvaluationPlan:
    """The evaluation forward of ``layers`` (a Chain's, in the order it runs them) as fused steps."""

    def __init__(self, layers):
        self.layers = tuple(layers)
        self.steps = _steps(list(layers))
        self.scratch = Scratch()
        self._scratches = {}          # thread id -> Scratch, for the parts of a split batch
        self.flops = sum(layer.flops() for layer in self.layers)    # per sample

    def __deepcopy__(self, memo):
        return None                   # a copied Chain makes its own plan (and scratch) when it needs one

    def __call__(self, x):
        """y = the layers' evaluation forward of x (N, …). A large batch is split over threads
        (``nnpy.kernels.threads``), each part on its own scratch with BLAS on one thread: the
        copies, passes and matrix products of the two halves all run at once, and OpenBLAS's
        threads do not have to meet inside every product."""
        parts = {}

        def part(lo, hi):
            scratch = self.scratch if lo == 0 else self._scratches.setdefault(threading.get_ident(), Scratch())
            parts[lo] = self.run(x[lo:hi], scratch)
        n = len(x)
        split_over_threads(n, part, MIN_BYTES if n >= 2 and n * self.flops >= SPLIT_FLOPS else 0, blas_per_part=True)
        return parts[0] if len(parts) == 1 else xp.concatenate([parts[lo] for lo in sorted(parts)])

    @property
    def fuses(self) -> bool:
        """True when some step does more than one layer's own forward."""
        return any(not isinstance(step, _LayerStep) for step in self.steps)

    @property
    def fresh(self) -> bool:
        """The output is an array the plan made (not the input or a view of it)."""
        return bool(self.steps) and self.steps[-1].fresh

    def run(self, x, scratch: Scratch | None = None):
        """y = the layers' evaluation forward of x."""
        scratch = scratch or self.scratch
        for step in self.steps:
            x = step(x, scratch)
        return x
