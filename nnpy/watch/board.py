"""What ``nnpy train --watch`` shows, and the callback that writes it.

``WatchCallback`` hangs off the training loop (``engine/callbacks.py: Callback``) and writes to
a ``Board``; the page's server (``server.py``) reads the board from its own thread. The run
never waits for the page:

- on most batches the callback only reads the clock: a point is published at most every
  ``interval`` seconds (its loss and metric are the means over the batches since the last
  point, from the loop's running sums), and at the end of every epoch;
- the board keeps the newest ``max_points`` step points and epochs (``deque(maxlen=…)``):
  however long the run and whoever is looking, its memory is bounded;
- a reader takes the board's lock only to copy it (``snapshot``), and there is no queue per
  client: a slow or vanished browser costs the run nothing;
- the weight histograms (``HISTOGRAM_BINS`` bins per parameter array) are recomputed at most
  every ``histogram_interval`` seconds, when a point is published, and at each epoch's end;
- after each epoch with validation data, up to ``MAX_MISTAKES`` misclassified samples among
  the first ``MISTAKE_SAMPLES`` validation samples (their images, true and predicted class).
  That is a small pass of its own: the loop's ``evaluate`` is collective under ``mpiexec``
  (each process its part), so the one process that serves cannot ask it for predictions alone.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

import numpy as np

from ..engine.callbacks import Callback

MAX_POINTS = 1000        # step points and epochs each board keeps (the newest)
INTERVAL = 0.25          # seconds between two step points, at least
HISTOGRAM_INTERVAL = 3.0 # seconds between two sets of weight histograms, at least
HISTOGRAM_BINS = 30      # bins per parameter array
MAX_MISTAKES = 8         # misclassified validation samples shown after each epoch
MISTAKE_SAMPLES = 256    # the validation samples searched for them (the first ones)
IMAGE_SIDE = 64          # larger images are shown subsampled to at most this many pixels a side


class Board:
    """The run as the page sees it: ``info`` (name, epochs, layers), the newest step points
    and epoch logs, the latest gradient norms, phase times and position; ``version`` counts
    the updates (the page and tests see that something new came)."""

    def __init__(self, max_points: int = MAX_POINTS):
        self.lock = threading.Lock()
        self.info: dict = {}
        self.steps: deque = deque(maxlen=max_points)     # {"step", "epoch", "loss", "metric", "lr"}
        self.epochs: deque = deque(maxlen=max_points)    # the logs of each finished epoch
        self.latest: dict = {}                           # position, grad norms, phase times
        self.histograms: list = []                       # weight_histograms(model), the latest
        self.mistakes: dict = {}                         # validation_mistakes(…) of the last epoch
        self.status = "starting"
        self.version = 0

    def start(self, info: dict) -> None:
        with self.lock:
            self.info, self.status = info, "training"
            self.version += 1

    def add_step(self, point: dict, latest: dict) -> None:
        with self.lock:
            self.steps.append(point)
            self.latest = latest
            self.version += 1

    def add_epoch(self, logs: dict, latest: dict) -> None:
        with self.lock:
            self.epochs.append(logs)
            self.latest = latest
            self.version += 1

    def set_histograms(self, histograms: list) -> None:
        with self.lock:
            self.histograms = histograms
            self.version += 1

    def set_mistakes(self, mistakes: dict) -> None:
        with self.lock:
            self.mistakes = mistakes
            self.version += 1

    def finish(self, status: str) -> None:
        with self.lock:
            self.status = status
            self.version += 1

    def snapshot(self) -> dict:
        """A copy of everything, taken under the lock (the JSON is written outside it)."""
        with self.lock:
            return {"version": self.version, "status": self.status, "info": self.info,
                    "steps": list(self.steps), "epochs": list(self.epochs), "latest": self.latest,
                    "histograms": self.histograms, "mistakes": self.mistakes}


def finite(value) -> float | None:
    """A number JSON can carry: NaN and infinities become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def weighted_layers(model) -> list:
    """The layers with parameters that hold no layers themselves, in the model's order."""
    return [layer for layer in model.walk() if layer.params and not layer.children()]


def layer_gradient_norms(model) -> list[list]:
    """``[[layer name, ‖gradient‖], …]`` of every layer with parameters (all its parameters'
    gradients together), in the model's order."""
    norms = []
    for layer in weighted_layers(model):
        total = sum(float(np.vdot(g.ravel(), g.ravel())) for g in layer.grads.values())
        norms.append([layer.name, finite(math.sqrt(total))])
    return norms


def weight_histograms(model, bins: int = HISTOGRAM_BINS) -> list[dict]:
    """``[{"layer", "params": [{"name", "counts", "edges"}, …]}, …]``: ``np.histogram(w, bins)``
    of each parameter array ``w`` of each weighted layer (``counts``: ``bins`` ints, ``edges``:
    ``bins + 1`` floats). Non-finite weights are left out of their histogram."""
    histograms = []
    for layer in weighted_layers(model):
        params = []
        for name, weights in layer.params.items():
            values = weights.ravel()
            if not np.isfinite(values).all():
                values = values[np.isfinite(values)]
            counts, edges = np.histogram(values, bins=bins)
            params.append({"name": name, "counts": counts.tolist(), "edges": edges.tolist()})
        histograms.append({"layer": layer.name, "params": params})
    return histograms


def image_of(sample: np.ndarray) -> dict | None:
    """One input sample as the page draws it: ``{"height", "width", "channels" (1 or 3),
    "pixels"}`` (row-major, channels last, ints 0-255 scaled from the sample's min-max), from a
    (H, W) or (C, H, W) sample (C other than 1 or 3: the channels' mean); None for any other
    shape. Sides over ``IMAGE_SIDE`` are subsampled."""
    if sample.ndim == 2:
        sample = sample[None]
    if sample.ndim != 3 or min(sample.shape[1:]) < 2:
        return None
    if sample.shape[0] not in (1, 3):
        sample = sample.mean(axis=0, keepdims=True)
    step = max(1, math.ceil(max(sample.shape[1:]) / IMAGE_SIDE))
    pixels = np.moveaxis(sample[:, ::step, ::step], 0, -1).astype(np.float64)
    low, high = np.nanmin(pixels), np.nanmax(pixels)
    scaled = np.nan_to_num((pixels - low) / (high - low if high > low else 1.0))
    return {"height": pixels.shape[0], "width": pixels.shape[1], "channels": pixels.shape[2],
            "pixels": np.round(255 * scaled).astype(np.uint8).ravel().tolist()}


def class_labels(y: np.ndarray) -> np.ndarray | None:
    """(N,) class indices from (N,) integer labels or (N, K) one-hot / soft targets; None
    otherwise (a regression's values, a sequence's tokens)."""
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return y
    return y.argmax(axis=1) if y.ndim == 2 and np.issubdtype(y.dtype, np.floating) else None


def validation_mistakes(model, x, y, limit: int = MAX_MISTAKES, samples: int = MISTAKE_SAMPLES,
                        batch_size: int = 256) -> dict:
    """``{"searched": n, "wrong": m, "samples": [{"index", "true", "predicted", "image"}, …]}``:
    the first ``limit`` of the first ``samples`` rows of ``(x, y)`` whose predicted class
    (argmax of the model's (N, K) output, evaluation mode) is not their true class; ``image``
    from ``image_of`` (None for inputs that are not images). ``{}`` when the model's output or
    ``y`` is not a classification."""
    x, labels = x[:samples], class_labels(np.asarray(y[:samples]))
    if labels is None or len(x) == 0:
        return {}
    outputs = [model.forward(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
    if any(out.ndim != 2 for out in outputs):
        return {}
    predicted = np.concatenate(outputs).argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    return {"searched": len(x), "wrong": int(len(wrong)),
            "samples": [{"index": int(i), "true": int(labels[i]), "predicted": int(predicted[i]),
                         "image": image_of(np.asarray(x[i]))} for i in wrong[:limit]]}


class WatchCallback(Callback):
    """Publishes the run to ``board``: a step point at most every ``interval`` seconds, the
    logs of every epoch, and with each the gradient norms per layer, the learning rate, the
    time per phase and where the run is; the weight histograms at most every
    ``histogram_interval`` seconds, and after each epoch with validation data a few of its
    mistakes. ``name``: the run's (default: the model's)."""

    def __init__(self, board: Board, interval: float = INTERVAL, name: str | None = None,
                 histogram_interval: float = HISTOGRAM_INTERVAL):
        self.board, self.interval, self.name = board, float(interval), name
        self.histogram_interval = float(histogram_interval)

    def on_train_begin(self, trainer):
        model = trainer.model
        self.last_time = time.perf_counter()
        self.last_histograms = -math.inf
        self.last_partial, self.last_loss, self.last_metric, self.last_n = None, 0.0, 0.0, 0
        self.board.start({"name": self.name or getattr(model, "name", "model"), "epochs": trainer.epochs,
                          "batches_per_epoch": trainer.batches_per_epoch, "metric": trainer.metric.name,
                          "layers": [name for name, _ in layer_gradient_norms(model)]})

    def on_batch_end(self, trainer):
        now = time.perf_counter()
        if now - self.last_time < self.interval:
            return
        self.last_time = now
        st = trainer.state
        partial, main = st.partial, trainer.metric.name
        if partial is not self.last_partial:            # a new epoch: its sums started from zero
            self.last_partial, self.last_loss, self.last_metric, self.last_n = partial, 0.0, 0.0, 0
        n = partial["n"] - self.last_n
        loss, metric = partial["loss"] - self.last_loss, partial["metrics"].get(main, 0.0) - self.last_metric
        self.last_loss, self.last_metric, self.last_n = partial["loss"], partial["metrics"].get(main, 0.0), partial["n"]
        point = {"step": st.global_step, "epoch": st.epoch + st.batch / max(trainer.batches_per_epoch, 1),
                 "loss": finite(loss / max(n, 1)), "metric": finite(metric / max(n, 1)),
                 "lr": finite(trainer.optimizer.lr)}
        self.board.add_step(point, self.latest(trainer))
        self.publish_histograms(trainer.model, now)

    def on_epoch_end(self, trainer, logs):
        self.board.add_epoch({k: finite(v) for k, v in logs.items()}, self.latest(trainer))
        self.publish_histograms(trainer.model, time.perf_counter(), due=True)
        if getattr(trainer, "val_data", None) is not None:
            self.board.set_mistakes({"epoch": logs.get("epoch"),
                                     **validation_mistakes(trainer.model, *trainer.val_data,
                                                           batch_size=trainer.eval_batch_size)})

    def publish_histograms(self, model, now: float, due: bool = False) -> None:
        """The weight histograms, if ``due`` or ``histogram_interval`` seconds have passed."""
        if due or now - self.last_histograms >= self.histogram_interval:
            self.last_histograms = now
            self.board.set_histograms(weight_histograms(model))

    def on_train_end(self, trainer):
        st = trainer.state
        self.board.finish(f"stopped: {st.stop_reason}" if st.stop_reason else "finished")

    @staticmethod
    def latest(trainer) -> dict:
        """Where the run is, the learning rate, the gradient norm of each layer (of the last
        batch) and the seconds spent in each phase so far."""
        st = trainer.state
        return {"epoch": st.epoch, "batch": st.batch, "step": st.global_step, "lr": finite(trainer.optimizer.lr),
                "grad_norms": layer_gradient_norms(trainer.model),
                "phases": {name: round(seconds, 4) for name, seconds in trainer.timer.totals.items()}}
