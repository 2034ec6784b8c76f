"""A training step's batch split in two, each half through forward, loss and backward on a thread
of its own with BLAS on one thread, the gradients added after: both cores busy with every pass
(the products, im2col, BatchNorm, the element-wise passes), not only inside the products.

The math is the whole batch's, to float32 rounding:

    L = Σ_k (n_k / N) · L_k          (L_k the mean loss over part k's n_k samples)
    dL/dpred_k = (n_k / N) · dL_k/dpred_k,   dL/dθ = Σ_k (the part's backward of that)

and every BatchNorm normalizes with the statistics of the whole batch: its parts hand their
per-channel sums in (``Part.total``) and go on with the sums of all parts, in the forward (mean,
variance) and in the backward (Σ dy, Σ dy·x̂); only the first part moves the running statistics.
Each part runs a replica of the model: its own layer objects (what a backward keeps, the kernels'
scratch), the same parameter and buffer arrays, gradients of its own.

It runs only where it is the same computation (``split_for``): every layer one whose samples do not
meet outside BatchNorm and that draws no random numbers (``SPLITTABLE``), a loss that is a mean over
samples, the thread pool on (``nnpy.set_num_threads``) and BLAS on several threads (so not inside
``mpiexec``'s one-thread processes), a batch of at least ``MIN_BATCH``; by default (``train.split_batch:
auto``) only for models with Conv2D and BatchNorm layers. Measured on the 2-vCPU AMD EPYC (Zen 4), the resnet-fashion model at batch 64, each
way in processes of its own: 131-144 ms a step whole, 104-109 split (the halves' BatchNorm not yet
synchronized in that first measurement); see benchmarks/README.md for the step as it is.
"""
from __future__ import annotations

import copy
import threading

import numpy as np

from .. import kernels
from ..kernels.threads import blas_threads, num_threads, split_over_threads, will_split

#: the layers a split step may run (by registered type name): no randomness, samples independent
#: (BatchNorm is made so by its parts' sums)
SPLITTABLE = frozenset({"Conv2D", "BatchNorm", "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "MaxPool2D",
                        "AvgPool2D", "GlobalAvgPool2D", "Flatten", "Dense", "Residual", "Chain", "Sequential"})
#: losses that are a mean over samples, each sample weighing the same
MEAN_LOSSES = frozenset({"cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"})
#: the smallest batch split (each half at least 16 samples)
MIN_BATCH = 32
#: the longest a part waits for the others' sums before the step fails (a safety net: an error in
#: a part breaks the wait at once)
WAIT_SECONDS = 600.0


def split_for(model, loss, batch: int, mode="auto") -> bool:
    """Whether a training step of ``batch`` samples of ``model`` under ``loss`` runs split in two.
    ``mode`` (``train.split_batch``): False never; True wherever it is the same computation;
    ``"auto"`` there and only for models with both Conv2D and BatchNorm layers, where it was
    measured faster: their steps are many passes over activations and small-channel products,
    which two single-threaded halves run better than one batch on OpenBLAS's two threads
    (alexnet, large Dense products and no BatchNorm, was 3-10% slower split at batch 64)."""
    if mode is False:
        return False
    blas = blas_threads()
    if not (batch >= MIN_BATCH and kernels.fast() and num_threads() >= 2 and blas is not None and blas[0]() >= 2
            and loss.type_name in MEAN_LOSSES):
        return False
    layers = list(model.walk())
    kinds = {layer.type_name for layer in layers}
    return (kinds <= SPLITTABLE
            and (mode is True or {"Conv2D", "BatchNorm"} <= kinds)
            # a layer whose forward or backward was wrapped (``nnpy train --profile``'s stopwatches)
            # would run the model's layer from a replica: not split
            and not any("forward" in vars(layer) or "backward" in vars(layer) for layer in layers))


class Part:
    """One part of a split batch, as its BatchNorm layers see it (``BatchNorm.part``): ``first``,
    ``count`` (all parts' values from this part's) and ``total`` (the sum of all parts' arrays)."""

    def __init__(self, index: int, exchange: "SumExchange", samples: int, batch: int):
        self.index, self.exchange, self.samples, self.batch = index, exchange, samples, batch
        self.first = index == 0

    def count(self, values: int) -> int:
        """All parts' values per channel, from this part's ``values`` (samples × positions)."""
        return values // self.samples * self.batch

    def total(self, partial):
        """Σ over the parts of their ``partial`` arrays (waits for every part)."""
        return self.exchange.total(self.index, partial)


class SumExchange:
    """Parts on threads of their own hand in arrays and get their sum, added in part order (so
    every part gets the same bits). Two sets of slots used in turn: a part can hand in its next
    array while another still reads the last sum. An error in one part breaks the barrier, so the
    others stop waiting (``threading.BrokenBarrierError``) instead of hanging."""

    def __init__(self, parts: int):
        self.barrier = threading.Barrier(parts)
        self.slots = [[None] * parts, [None] * parts]
        self.turns = [0] * parts

    def total(self, index: int, partial):
        slots = self.slots[self.turns[index] % 2]
        self.turns[index] += 1
        slots[index] = partial
        self.barrier.wait(timeout=WAIT_SECONDS)
        total = slots[0]
        for other in slots[1:]:
            total = total + other
        return total

    def reset(self, parts: int) -> None:
        self.barrier = threading.Barrier(parts)
        self.turns = [0] * parts


class BatchSplit:
    """The replicas of a model and its loss for a step split in ``parts`` (2), made once and
    kept while the model's layers stay the same objects."""

    def __init__(self, model, loss, parts: int = 2):
        self.model, self.parts = model, parts
        self.layers = list(model.walk())
        self.exchange = SumExchange(parts)
        self.replicas = [model] + [_replica(model) for _ in range(parts - 1)]
        self.losses = [loss] + [copy.deepcopy(loss) for _ in range(parts - 1)]

    def fits(self, model, loss) -> bool:
        """Still the replicas of ``model`` (the same layer objects) and ``loss``."""
        return model is self.model and loss is self.losses[0] and list(model.walk()) == self.layers

    def step(self, xb, yb):
        """Forward, loss and backward of the batch (xb, yb) in parts; the model's gradients are
        then those of the whole batch. Returns (predictions (N, …), loss)."""
        n = len(xb)
        bounds = [n * k // self.parts for k in range(self.parts + 1)]
        self._share_arrays()
        self.exchange.reset(self.parts)
        preds, losses, errors = [None] * self.parts, [0.0] * self.parts, [None] * self.parts
        norms = [[layer for layer in replica.walk() if layer.type_name == "BatchNorm"] for replica in self.replicas]
        for k in range(self.parts):
            part = Part(k, self.exchange, bounds[k + 1] - bounds[k], n)
            for layer in norms[k]:
                layer.part = part

        def run(lo, hi):
            for k in range(lo, hi):
                try:
                    replica, loss, share = self.replicas[k], self.losses[k], (bounds[k + 1] - bounds[k]) / n
                    xk, yk = xb[bounds[k]:bounds[k + 1]], yb[bounds[k]:bounds[k + 1]]
                    preds[k] = replica.forward(xk, training=True)
                    losses[k] = share * (loss.forward(preds[k], yk) + replica.total_penalty())
                    grad = loss.backward()
                    replica.backward(grad * grad.dtype.type(share))
                except BaseException as error:      # noqa: BLE001  (re-raised below, after every part stopped)
                    errors[k] = error
                    self.exchange.barrier.abort()

        if not will_split(self.parts, 1 << 62, blas_per_part=True):   # one thread would wait for itself
            raise RuntimeError("a split step needs the thread pool (nnpy.set_num_threads) and OpenBLAS")
        try:
            split_over_threads(self.parts, run, nbytes=1 << 62, blas_per_part=True)
        finally:
            for layers in norms:
                for layer in layers:
                    layer.part = None
        first = next((e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)), None)
        if first is not None or any(e is not None for e in errors):
            raise first or next(e for e in errors if e is not None)
        self._add_gradients()
        return np.concatenate(preds), float(sum(losses))

    def _share_arrays(self) -> None:
        """Every replica's layers use the model's parameter and buffer arrays (the optimizer
        updates them in place; shared again each step, in case a load put new arrays in)."""
        for replica in self.replicas[1:]:
            for mine, theirs in zip(self.layers, replica.walk()):
                theirs.params = mine.params
                if hasattr(mine, "buffers"):
                    theirs.buffers = mine.buffers
                theirs.trainable = mine.trainable

    def _add_gradients(self) -> None:
        """The model's gradients += every other part's (each part's is its share of the whole batch's)."""
        for replica in self.replicas[1:]:
            for mine, theirs in zip(self.layers, replica.walk()):
                for name, g in mine.grads.items():
                    g += theirs.grads[name]


def _replica(model):
    """A deep copy of ``model``'s layers sharing its parameter and buffer arrays (copied, they
    would be thrown away: the memo hands deepcopy the originals) and its optimizer, loss and the
    like (anything not a layer is shared)."""
    memo = {}
    for layer in model.walk():
        for a in list(layer.params.values()) + list(getattr(layer, "buffers", {}).values()):
            memo[id(a)] = a
    for key in ("optimizer", "loss", "trainer", "metric", "metrics", "scheduler", "compiled", "_normalization"):
        value = getattr(model, key, None)
        if value is not None:
            memo[id(value)] = value
    return copy.deepcopy(model, memo)
