"""The training loop: one model, one loader, one loss, one optimizer, one scheduler.

Logging, checkpoints, early stopping and time limits hang off the loop as callbacks
(``nnpy.engine.callbacks``, where their base class ``Callback`` is too); the loop itself only
trains, evaluates and keeps a ``TrainState`` that is enough to resume exactly, even in the middle
of an epoch. It checks its own gradients: a NaN or infinite one stops the run
(``NonFiniteError``), a parameter that never gets one in the first epoch is warned about
(``GradientWatch``).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..autograd.layer import AutogradLayer
from ..errors import ConfigError, NnpyError
from ..nn.metrics import Metric, metric_list
from ..optim.optimizers import trainable_gradients
from .callbacks import Callback  # noqa: F401  (the hooks' base class, with the callbacks; its old path)
from .monitor import higher_is_better, monitor_names, monitor_problem
from .timer import Timer


class NonFiniteError(NnpyError):
    """The loss or a gradient became NaN or infinite."""


class GradientWatch:
    """Warns once per parameter that got no gradient in any step of the first epoch of a fit.

    Such a parameter is almost always a bug: a hand-written layer whose ``backward`` does not
    fill ``self.grads[key]``, or an AutogradLayer whose ``forward`` computes its output from a
    copy of the parameter's array instead of the parameter itself. The loop calls ``start`` as a
    fit begins, ``after_backward`` after each backward (until every parameter has had a
    gradient) and ``report`` at the end of an epoch: one warning line per such parameter on
    stderr, once -- like TensorFlow's "Gradients do not exist for variables".

    ``model``: a layer (``walk()`` gives its layers, each with ``params`` and ``grads``); any
    other model is not watched. ``quiet``: watch but print nothing (a data-parallel process
    other than process 0: the gradients are the same everywhere).
    """

    def __init__(self, model, quiet: bool = False):
        self.model, self.quiet = model, quiet
        self.waiting: list | None = None     # (layer, key) without a gradient so far; None: not watching
        self.reported: set = set()            # (id(layer), key) already warned about

    def start(self) -> None:
        """A fit begins: watch every parameter not reported yet."""
        layers = self.model.walk() if hasattr(self.model, "walk") else ()
        self.waiting = [(layer, key) for layer in layers if layer.trainable for key in layer.params
                        if (id(layer), key) not in self.reported]           # frozen layers get none

    def after_backward(self) -> None:
        """Forget the parameters whose gradient of this step is not all zeros."""
        if self.waiting:
            self.waiting = [(layer, key) for layer, key in self.waiting if not layer.grads[key].any()]

    def report(self) -> None:
        """At the end of an epoch: the first time, one warning line per parameter still waiting."""
        if self.waiting is None:
            return
        for layer, key in self.waiting:
            self.reported.add((id(layer), key))
            if not self.quiet:
                print(f"nnpy: warning: {no_gradient_message(layer, key)}", file=sys.stderr, flush=True)
        self.waiting = None


def no_gradient_message(layer, key: str) -> str:
    """The warning for parameter ``key`` of ``layer``: what happened and how to fix it."""
    name = f"layer '{layer.name or layer.type_name}' ({layer.type_name})"
    if isinstance(layer, AutogradLayer):
        fix = (f"compute forward's output from self.param('{key}') or self.params['{key}'] (an array taken "
               f"from it with .data or numpy does not train), or remove the parameter")
    else:
        fix = f"its backward must fill self.grads['{key}'] with dL/d{key}"
    return (f"{name}: parameter '{key}' got no gradient in any step of the first epoch, so training "
            f"leaves it as it was; {fix}")


def new_partial() -> dict:
    """The sums of an epoch before its first batch: loss and each metric (by name) times the
    samples, the samples, the seconds."""
    return {"loss": 0.0, "metrics": {}, "n": 0, "seconds": 0.0}


@dataclass
class TrainState:
    """Where the run is. ``batch`` is the next batch of epoch ``epoch`` (0 = a fresh epoch)."""
    epoch: int = 0                 # completed epochs
    batch: int = 0                 # batches done in the current epoch
    global_step: int = 0
    best_value: float | None = None
    best_epoch: int | None = None
    best_loss: float | None = None  # the loss that breaks a tie of best_value (monitor.new_best)
    history: list = field(default_factory=list)   # one dict of logs per completed epoch
    partial: dict = field(default_factory=new_partial)   # the current epoch's sums so far
    stop: bool = False
    stop_reason: str = ""
    exit_code: int = 0             # set by a signal: 130 (SIGINT) or 143 (SIGTERM)
    callbacks: dict = field(default_factory=dict)  # callback state (early stopping counters, …)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("stop"), d.pop("stop_reason"), d.pop("exit_code")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainState":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class Trainer:
    """The one training loop (``fit``) and evaluation; ``nnpy train``, k-fold runs and
    ``nnpy.Sequential.fit`` all train through it.

    ``metrics``: a list of ``Metric``s or registered metrics' names / specs (``accuracy``,
    ``{type: mse, skip_steps: 5}``), or one alone, reported beside the loss; the first is the
    main one (``trainer.metric``).
    ``model.forward(x, training)`` / ``model.backward(grad)``, ``loss.forward/backward`` and
    ``optimizer.step()`` are all it needs.
    """

    def __init__(self, model, loss, optimizer, scheduler=None, metrics=("accuracy",),
                 callbacks=(), timer: Timer | None = None, eval_batch_size: int = 256):
        self.model, self.loss, self.optimizer, self.scheduler = model, loss, optimizer, scheduler
        self.metrics: list[Metric] = metric_list(metrics)
        self.callbacks = list(callbacks)
        self.timer = timer or Timer()
        self.eval_batch_size = int(eval_batch_size)
        self.state = TrainState()
        self.epochs = 0
        self.batches_per_epoch = 0
        self.gradient_watch = GradientWatch(model)   # warns of parameters that get no gradient

    @classmethod
    def for_model(cls, model, **options) -> "Trainer":
        """The trainer of a compiled model: its loss, optimizer, scheduler and metrics
        (``options``: the other arguments, e.g. ``timer``, ``eval_batch_size``)."""
        return cls(model, model.loss, model.optimizer, model.scheduler, metrics=model.metrics, **options)

    @property
    def metric(self) -> Metric:
        """The main metric: the first of ``metrics`` (the default monitor watches it)."""
        return self.metrics[0]

    def measure(self, pred, target) -> dict[str, float]:
        """``{name: value}`` of every metric on one batch."""
        return {m.name: m(pred, target) for m in self.metrics}

    # ---- one step ---------------------------------------------------------------------
    def train_step(self, xb, yb) -> tuple[float, dict[str, float], int]:
        """Forward, loss, backward, metrics, update (the data-parallel step's order, which sends the
        metrics with the gradients); returns the batch's loss, ``{metric: value}`` and the number
        of samples they are means over (``len(xb)``). The loss includes the penalty terms layers
        added (``Layer.total_penalty``), as it is optimized."""
        pred, loss = self._forward(xb, yb)
        if not math.isfinite(loss):
            raise NonFiniteError(self._non_finite_message("loss", loss, xb))
        self._backward()
        values = self.measure(pred, yb)
        self._update()
        return loss, values, len(xb)

    def _forward(self, xb, yb) -> tuple[np.ndarray, float]:
        """The predictions for ``xb`` (training mode) and the loss against ``yb``, penalties included."""
        with self.timer.phase("forward"):
            pred = self.model.forward(xb, training=True)
            return pred, self.loss.forward(pred, yb) + self.model.total_penalty()

    def _backward(self) -> None:
        """Every parameter's gradient of the last ``_forward``'s loss."""
        with self.timer.phase("backward"):
            self.model.backward(self.loss.backward())

    def _update(self) -> None:
        """Check the gradients, step the optimizer (and a per-step scheduler)."""
        with self.timer.phase("optimizer"):
            self._check_gradients()
            self.gradient_watch.after_backward()
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler.interval == "step":
                self.scheduler.step()

    def _check_gradients(self) -> None:
        for name, g in trainable_gradients(self.model).items():     # frozen layers' are not computed
            if not np.isfinite(np.vdot(g.ravel(), g.ravel())):
                raise NonFiniteError(f"epoch {self.state.epoch + 1}, step {self.state.batch + 1}: the gradient "
                                     f"of '{name}' is not finite (NaN or inf); try a lower optimizer.lr or "
                                     f"optimizer.max_grad_norm")

    def _non_finite_message(self, what, value, xb) -> str:
        where = f"epoch {self.state.epoch + 1}, step {self.state.batch + 1}"
        x = xb
        for layer in getattr(self.model, "layers", []):
            x = layer.forward(x, training=False)
            if not np.all(np.isfinite(x)):
                return (f"{where}: the output of layer '{layer.name}' ({layer.type_name}) is not finite, "
                        f"so the {what} is {value}; try a lower optimizer.lr or optimizer.max_grad_norm")
        return f"{where}: the {what} is {value}; try a lower optimizer.lr or optimizer.max_grad_norm"

    # ---- loops ------------------------------------------------------------------------
    def fit(self, train_loader, val_data=None, epochs: int = 1, state: TrainState | None = None) -> TrainState:
        """Train until ``epochs`` epochs are complete (continuing from ``state``, or from where
        the last ``fit`` stopped) or a callback stops.

        ``train_loader``: has ``len()`` and ``batches(epoch, start)``; ``val_data``: (x, y) or None.
        """
        self.state = state or self.state
        self.epochs, self.val_data = int(epochs), val_data
        self.check_monitors(validation=val_data is not None)
        self.batches_per_epoch = len(train_loader)
        if self.scheduler is not None:
            units = epochs * len(train_loader) if self.scheduler.interval == "step" else epochs
            self.scheduler.set_total(units)
        for cb in self.callbacks:
            cb.on_train_begin(self)
        self.gradient_watch.start()
        st = self.state
        # overflow is detected explicitly (NonFiniteError names the layer): no warnings on stderr
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                while st.epoch < self.epochs and not st.stop:
                    self._run_epoch(train_loader)
                    if st.stop and st.batch < len(train_loader):
                        break  # stopped inside the epoch: state says where to resume
                    self._end_epoch()
        finally:
            for cb in self.callbacks:
                cb.on_train_end(self)
        return st

    def _run_epoch(self, train_loader) -> None:
        """The batches of the current epoch from ``state.batch`` on (or until a callback stops)."""
        st = self.state
        for cb in self.callbacks:
            cb.on_epoch_begin(self)
        epoch_start = time.perf_counter()
        batches = train_loader.batches(st.epoch, start=st.batch)
        while not st.stop:
            with self.timer.phase("data"):
                item = next(batches, None)
            if item is None:
                break
            loss, values, n = self.train_step(*item)
            sums = st.partial["metrics"]
            st.partial["loss"] += loss * n
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + value * n
            st.partial["n"] += n
            st.batch += 1
            st.global_step += 1
            for cb in self.callbacks:
                cb.on_batch_end(self)
        st.partial["seconds"] += time.perf_counter() - epoch_start

    def _end_epoch(self) -> None:
        """The epoch's steps are done: warn of parameters they gave no gradient, log the epoch's
        means and the validation split's values, step a per-epoch scheduler, call the callbacks."""
        self.gradient_watch.report()
        st = self.state
        n = max(st.partial["n"], 1)
        logs = {"epoch": st.epoch + 1, "lr": self.optimizer.lr, "train_loss": st.partial["loss"] / n,
                **{f"train_{m.name}": st.partial["metrics"].get(m.name, 0.0) / n for m in self.metrics}}
        if self.val_data is not None:
            val = self.evaluate(*self.val_data)
            logs.update({f"val_{key}": val[key] for key in ("loss", *(m.name for m in self.metrics))})
        logs["seconds"] = st.partial["seconds"]
        logs["samples_per_s"] = st.partial["n"] / max(st.partial["seconds"], 1e-9)
        st.epoch += 1
        st.batch = 0
        st.partial = new_partial()
        if self.scheduler is not None and self.scheduler.interval == "epoch":
            self.scheduler.step(self._monitored(logs))
        st.history.append(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(self, logs)

    def request_stop(self, reason: str, exit_code: int = 0) -> None:
        """Stop after the current step (a signal's handler calls this)."""
        st = self.state
        st.stop, st.stop_reason, st.exit_code = True, reason, exit_code

    def check_monitors(self, validation: bool) -> None:
        """Every value a callback or the scheduler watches is one that ``fit`` logs; else a
        ``ConfigError`` in one line: ``EarlyStopping: monitor 'val_los' is not a value the loop
        reports (did you mean 'val_loss'?); valid: train_loss, …``."""
        valid = monitor_names(self.metrics, validation)
        watched = [(type(cb).__name__, name) for cb in self.callbacks
                   for name in getattr(cb, "monitors", tuple)()]
        if getattr(self.scheduler, "monitor", None) is not None:
            watched.append((f"scheduler '{self.scheduler.type_name}'", self.scheduler.monitor))
        for who, name in watched:
            problem = monitor_problem(name, valid)
            if problem:
                raise ConfigError(f"{who}: monitor {problem}")

    def _monitored(self, logs: dict) -> float | None:
        """The value a monitoring scheduler (reduce-on-plateau) watches: its ``monitor``, by
        default the validation loss (the training loss without validation data); its direction
        is the monitored metric's."""
        monitor = getattr(self.scheduler, "monitor", None)
        if monitor is None or monitor not in logs:
            monitor = "val_loss" if "val_loss" in logs else "train_loss"
        if hasattr(self.scheduler, "higher_is_better"):
            self.scheduler.higher_is_better = higher_is_better(monitor, self.metrics)
        return logs[monitor]

    def evaluate(self, x, y, batch_size: int | None = None, return_predictions: bool = False) -> dict:
        """``{"loss": …, <metric>: … for each metric, "n": …}`` over the whole of (x, y),
        evaluation mode."""
        bs = batch_size or self.eval_batch_size
        totals = dict.fromkeys(["loss", *(m.name for m in self.metrics)], 0.0)
        preds = []
        for i in range(0, len(x), bs):
            xb, yb = x[i:i + bs], y[i:i + bs]
            pred = self.model.forward(xb, training=False)
            values = {"loss": self.loss.forward(pred, yb), **self.measure(pred, yb)}
            for key, value in values.items():
                totals[key] += value * len(xb)
            if return_predictions:
                preds.append(pred)
        n = max(len(x), 1)
        out = {**{key: total / n for key, total in totals.items()}, "n": len(x)}
        if return_predictions:
            out["predictions"] = np.concatenate(preds) if preds else np.zeros((0,))
        return out
