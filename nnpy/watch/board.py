"""What ``nnpy train --watch`` shows, and the callback that writes it.

``WatchCallback`` hangs off the training loop (``engine/trainer.py: Callback``) and writes to
a ``Board``; the page's server (``server.py``) reads the board from its own thread. The run
never waits for the page:

- on most batches the callback only reads the clock: a point is published at most every
  ``interval`` seconds (its loss and metric are the means over the batches since the last
  point, from the loop's running sums), and at the end of every epoch;
- the board keeps the newest ``max_points`` step points and epochs (``deque(maxlen=…)``):
  however long the run and whoever is looking, its memory is bounded;
- a reader takes the board's lock only to copy it (``snapshot``), and there is no queue per
  client: a slow or vanished browser costs the run nothing.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

import numpy as np

from ..engine.trainer import Callback

MAX_POINTS = 1000        # step points and epochs each board keeps (the newest)
INTERVAL = 0.25          # seconds between two step points, at least


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

    def finish(self, status: str) -> None:
        with self.lock:
            self.status = status
            self.version += 1

    def snapshot(self) -> dict:
        """A copy of everything, taken under the lock (the JSON is written outside it)."""
        with self.lock:
            return {"version": self.version, "status": self.status, "info": self.info,
                    "steps": list(self.steps), "epochs": list(self.epochs), "latest": self.latest}


def finite(value) -> float | None:
    """A number JSON can carry: NaN and infinities become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def layer_gradient_norms(model) -> list[list]:
    """``[[layer name, ‖gradient‖], …]`` of every layer with parameters (all its parameters'
    gradients together), in the model's order."""
    norms = []
    for layer in model.walk():
        if layer.params and not layer.children():
            total = sum(float(np.vdot(g.ravel(), g.ravel())) for g in layer.grads.values())
            norms.append([layer.name, finite(math.sqrt(total))])
    return norms


class WatchCallback(Callback):
    """Publishes the run to ``board``: a step point at most every ``interval`` seconds, the
    logs of every epoch, and with each the gradient norms per layer, the learning rate, the
    time per phase and where the run is. ``name``: the run's (default: the model's)."""

    def __init__(self, board: Board, interval: float = INTERVAL, name: str | None = None):
        self.board, self.interval, self.name = board, float(interval), name

    def on_train_begin(self, trainer):
        model = trainer.model
        self.last_time = time.perf_counter()
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

    def on_epoch_end(self, trainer, logs):
        self.board.add_epoch({k: finite(v) for k, v in logs.items()}, self.latest(trainer))

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
