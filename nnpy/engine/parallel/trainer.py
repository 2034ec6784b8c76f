"""``DataParallelTrainer``: the training loop on one process of several — Horovod's recipe for
synchronous data-parallel SGD.

Each step, process ``r`` of ``N``:

1. runs forward and backward on its part (``n_r`` samples) of the global batch (``m``);
2. packs its gradients, scaled by ``n_r / m``, and its loss and metrics' sums into one
   contiguous buffer, which one in-place ``Allreduce`` sums over the processes;
3. steps the same optimizer with the same averaged gradient: the parameters stay equal on
   every process.

Why ``n_r / m``: a loss is a mean over its batch, so process ``r``'s gradient is
``g_r = (1/n_r) Σ_{i∈r} ∇ℓ_i``, and the one-process gradient of the global batch is
``g = (1/m) Σ_i ∇ℓ_i = Σ_r (n_r/m) g_r`` — exactly, also for an uneven last batch. A
penalty a layer adds (``Layer.penalty``) comes out right when it depends on the parameters
alone (``Σ_r n_r/m = 1``) or is a mean over the batch.

Stops are agreed: a signal, a time limit or a non-finite value on any process stops all of
them after the same step (``AgreedStop``, one integer ``Allreduce`` per step).
"""
from __future__ import annotations

import math

import numpy as np

from ...optim.optimizers import trainable_gradients
from ..callbacks import Callback
from ..trainer import NonFiniteError, Trainer
from .batch_part import BatchPart, PartGenerator
from .comm import Communicator, mark_agreed


class GradientAverager:
    """A model's gradients in one contiguous buffer, averaged over the processes by one in-place
    ``Allreduce``; a few extra numbers (the step's loss and metrics' sums) travel with them."""

    def __init__(self, model, comm: Communicator):
        self.model, self.comm = model, comm
        self.buffer: np.ndarray | None = None

    def average(self, weight: float, extras: tuple) -> np.ndarray:
        """Replace every gradient ``g`` by ``Σ_r weight_r · g_r`` over the processes and return
        ``Σ_r extras_r`` (float64)."""
        grads = list(trainable_gradients(self.model).values())     # frozen layers' are not computed
        size = sum(g.size for g in grads) + len(extras)
        if self.buffer is None or self.buffer.size != size:
            self.buffer = np.empty(size, np.result_type(np.float32, *grads))
        buf, offset = self.buffer, 0
        for g in grads:                                  # pack, scaled by n_r / m on the way
            np.multiply(g.reshape(-1), weight, out=buf[offset:offset + g.size])
            offset += g.size
        buf[offset:] = extras
        self.comm.allreduce_sum(buf)
        offset = 0
        for g in grads:                                  # unpack into the layers' own arrays
            g[...] = buf[offset:offset + g.size].reshape(g.shape)
            offset += g.size
        return buf[offset:].astype(np.float64)


class DataParallelTrainer(Trainer):
    """``Trainer`` on process ``comm.rank`` of ``comm.size``; ``fit`` takes a ``ShardedLoader``.

    Dropout masks are drawn for the whole global batch and sliced (``PartGenerator``), like
    the augmentation, so without BatchNorm the run gives the weights of one process.
    BatchNorm normalizes with each process's own batch statistics (as PyTorch DDP does);
    evaluation uses process 0's running statistics.
    """

    def __init__(self, *args, comm: Communicator, **kwargs):
        super().__init__(*args, **kwargs)
        self.comm = comm
        self.averager = GradientAverager(self.model, comm)
        self.gradient_watch.quiet = comm.rank != 0        # the same gradients everywhere: one warning
        self.agreement = AgreedStop(comm)

    def fit(self, train_loader, val_data=None, epochs: int = 1, state=None):
        """``Trainer.fit`` with this process's dropout draws and, after every step and epoch,
        the stop every process agrees on (``AgreedStop``, the last callback)."""
        self.loader = train_loader
        generator, callbacks = self.model.rng, self.callbacks
        self.dropout = PartGenerator(generator, train_loader.part(0))
        self.model.set_rng(self.dropout)
        self.callbacks = [*callbacks, self.agreement]
        try:
            return super().fit(train_loader, val_data, epochs, state)
        finally:
            self.model.set_rng(generator)
            self.callbacks = callbacks

    def train_step(self, xb, yb) -> tuple[float, dict[str, float], int]:
        """This process's part of one global step; returns the global batch's loss,
        ``{metric: value}`` and samples."""
        part = self.dropout.part = self.loader.part(self.state.batch)
        pred, loss = self._forward(xb, yb)
        finite = math.isfinite(loss)
        values = dict.fromkeys((m.name for m in self.metrics), 0.0)
        if finite:
            self._backward()
            values = self.measure(pred, yb)
        with self.timer.phase("allreduce"):
            loss_sum, *metric_sums = self.averager.average(
                part.n / part.total, (loss * part.n, *(value * part.n for value in values.values())))
        if not math.isfinite(loss_sum):
            self._stop_non_finite(None if finite else self._non_finite_message("loss", loss, xb))
        try:
            self._update()
        except NonFiniteError as exc:    # the averaged gradient is the same on every process
            raise mark_agreed(exc, self.comm.rank) from None
        return (loss_sum / part.total, {name: total / part.total for name, total in zip(values, metric_sums)},
                part.total)

    def _stop_non_finite(self, message: str | None) -> None:
        """Every process raises the message of the lowest-ranked one whose loss was not finite."""
        first = self.comm.first_text(message)
        st = self.state
        text = first[1] if first else (f"epoch {st.epoch + 1}, step {st.batch + 1}: the loss summed over the "
                                       f"processes overflows; try a lower optimizer.lr or optimizer.max_grad_norm")
        raise mark_agreed(NonFiniteError(text), self.comm.rank)

    def request_stop(self, reason: str, exit_code: int = 0) -> None:
        """A signal's stop, acted on at the next agreement, on every process (``AgreedStop``)."""
        self.agreement.requested = (reason, exit_code)

    def evaluate(self, x, y, batch_size: int | None = None, return_predictions: bool = False) -> dict:
        """Each process evaluates its contiguous part of ``(x, y)``; the sums are reduced.
        With ``return_predictions`` every process evaluates all of it."""
        self.share_buffers()
        if return_predictions:
            return super().evaluate(x, y, batch_size, return_predictions=True)
        part = BatchPart.of(len(x), self.comm.rank, self.comm.size)
        mine = super().evaluate(x[part.rows], y[part.rows], batch_size)
        keys = ["loss", *(m.name for m in self.metrics)]
        sums = self.comm.allreduce_sum(np.array([mine[key] * part.n for key in keys]))
        n = max(len(x), 1)
        return {**{key: float(total / n) for key, total in zip(keys, sums)}, "n": len(x)}

    def share_buffers(self) -> None:
        """Process 0's buffers (BatchNorm's running statistics) on every process."""
        for _, array in sorted(self.model.named_buffers().items()):
            self.comm.bcast(array, root=0)

    def broadcast_state(self) -> None:
        """Process 0's parameters, buffers and optimizer moments on every process (at the start
        and after ``--resume``), whatever each process built or read."""
        arrays = dict(self.model.state_dict())
        for name, slots in self.optimizer.state.items():
            arrays.update({f"optimizer:{name}:{key}": value for key, value in slots.items()})
        for _, array in sorted(arrays.items()):
            self.comm.bcast(array, root=0)


class AgreedStop(Callback):
    """The last callback of a data-parallel ``fit``: after every step and epoch, stop every
    process when one of them stops (a signal, ``train.max_time``), with the reason and exit
    code of the lowest-ranked one (one integer ``Allreduce`` when none does)."""

    def __init__(self, comm: Communicator):
        self.comm = comm
        self.requested: tuple[str, int] | None = None     # a signal not yet agreed on

    def on_batch_end(self, trainer):
        self.agree(trainer.state)

    def on_epoch_end(self, trainer, logs):
        self.agree(trainer.state)

    def agree(self, st) -> None:
        mine = self.requested or ((st.stop_reason, st.exit_code) if st.stop else None)
        first = self.comm.first_text(None if mine is None else f"{mine[1]} {mine[0]}")
        if first is not None:
            code, reason = first[1].split(" ", 1)
            st.stop, st.stop_reason, st.exit_code = True, reason, int(code)
            self.requested = None
