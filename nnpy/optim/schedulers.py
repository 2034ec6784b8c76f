"""Learning-rate schedules: pure functions of the step count (except reduce-on-plateau).

A scheduler sets ``optimizer.lr`` to ``lr_at(t)`` where t counts completed epochs
(``interval: epoch``) or optimizer steps (``interval: step``). Every scheduler can
start with a linear warm-up over ``warmup`` units: lr = base · (t + 1) / (warmup + 1)…
reaching base at t = warmup. Resuming needs only ``t`` (and the plateau state).
"""
from __future__ import annotations

import math

from ..registry import SCHEDULERS, register_scheduler


class Scheduler:
    """Base class. ``step()`` advances t by one and updates the optimizer's lr."""

    def __init__(self, optimizer=None, interval: str = "epoch", warmup: int = 0):
        if interval not in ("epoch", "step"):
            raise ValueError(f"interval must be 'epoch' or 'step', not {interval!r}")
        if int(warmup) < 0:
            raise ValueError(f"warmup must be ≥ 0, not {warmup!r}")
        self.interval, self.warmup = interval, int(warmup)
        self.t = 0
        self.optimizer = None
        self.base_lr = None
        if optimizer is not None:
            self.attach(optimizer)

    @property
    def type_name(self) -> str:
        return getattr(type(self), "registered_name", type(self).__name__)

    def attach(self, optimizer) -> "Scheduler":
        self.optimizer = optimizer
        self.base_lr = optimizer.initial_lr
        optimizer.lr = self.lr_at(self.t)
        return self

    def set_total(self, total: int) -> None:
        """Told by the trainer: how many units (epochs or steps) the run has."""

    def lr_at(self, t: int) -> float:
        """The learning rate after ``t`` completed units."""
        if t < self.warmup:
            return self.base_lr * (t + 1) / (self.warmup + 1)
        return self.decayed(t - self.warmup)

    def decayed(self, t: int) -> float:
        return self.base_lr

    def step(self, metric: float | None = None) -> float:
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)
        return self.optimizer.lr

    def state_dict(self) -> dict:
        return {"type": self.type_name, "t": self.t}

    def load_state_dict(self, d: dict) -> None:
        self.t = int(d["t"])
        if self.optimizer is not None:
            self.optimizer.lr = self.lr_at(self.t)


@register_scheduler("constant")
class Constant(Scheduler):
    """lr = base (after the optional warm-up)."""


@register_scheduler("step")
class StepLR(Scheduler):
    """lr = base · gamma^⌊t / step_size⌋."""

    def __init__(self, optimizer=None, step_size: int = 10, gamma: float = 0.1,
                 interval: str = "epoch", warmup: int = 0):
        if int(step_size) < 1:
            raise ValueError(f"step_size must be ≥ 1, not {step_size!r}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, interval, warmup)

    def decayed(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


@register_scheduler("multistep")
class MultiStepLR(Scheduler):
    """lr = base · gamma^(number of milestones ≤ t)."""

    def __init__(self, optimizer=None, milestones=(30, 60), gamma: float = 0.1,
                 interval: str = "epoch", warmup: int = 0):
        self.milestones, self.gamma = sorted(int(m) for m in milestones), float(gamma)
        super().__init__(optimizer, interval, warmup)

    def decayed(self, t):
        return self.base_lr * self.gamma ** sum(t >= m for m in self.milestones)


@register_scheduler("exponential")
class ExponentialLR(Scheduler):
    """lr = base · gamma^t."""

    def __init__(self, optimizer=None, gamma: float = 0.95, interval: str = "epoch", warmup: int = 0):
        self.gamma = float(gamma)
        super().__init__(optimizer, interval, warmup)

    def decayed(self, t):
        return self.base_lr * self.gamma ** t


@register_scheduler("cosine")
class CosineLR(Scheduler):
    """Linear warm-up, then lr = min_lr + ½(base − min_lr)(1 + cos(π · t' / (total − warmup))).

    ``total`` (epochs or steps, by ``interval``) defaults to the length of the run.
    """

    def __init__(self, optimizer=None, total: int | None = None, min_lr: float = 0.0,
                 interval: str = "epoch", warmup: int = 0):
        self.total, self.min_lr = (None if total is None else int(total)), float(min_lr)
        super().__init__(optimizer, interval, warmup)

    def set_total(self, total):
        if self.total is None:
            self.total = int(total)
            if self.optimizer is not None:
                self.optimizer.lr = self.lr_at(self.t)

    def decayed(self, t):
        span = max(1, (self.total or 1) - self.warmup)
        frac = min(1.0, t / span)
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * frac))


@register_scheduler("plateau", "reduce_on_plateau")
class ReduceOnPlateau(Scheduler):
    """Multiply lr by ``factor`` when ``monitor`` (a value the loop reports each epoch:
    ``val_loss``, ``val_accuracy``, ``train_loss``, …; by default the validation loss, or the
    training loss without validation data) has not improved by ``min_delta`` for ``patience``
    epochs; then wait ``cooldown`` epochs. Stateful: carries best and counters.

    Which way is an improvement comes from the monitored value (``higher_is_better``, which
    the training loop sets from the metric; a loss improves downward).
    """

    def __init__(self, optimizer=None, monitor: str | None = None, factor: float = 0.1, patience: int = 5,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0, warmup: int = 0):
        if not 0 < float(factor) < 1:
            raise ValueError(f"factor must be in (0, 1), not {factor!r}")
        self.monitor, self.higher_is_better = monitor, False
        self.factor, self.patience = float(factor), int(patience)
        self.min_delta, self.cooldown, self.min_lr = float(min_delta), int(cooldown), float(min_lr)
        self.best, self.bad_epochs, self.cooldown_left, self.scale = None, 0, 0, 1.0
        super().__init__(optimizer, "epoch", warmup)

    def decayed(self, t):
        return max(self.min_lr, self.base_lr * self.scale)

    def step(self, metric: float | None = None) -> float:
        if metric is not None and self.t >= self.warmup:
            improved = self.best is None or (metric > self.best + self.min_delta if self.higher_is_better
                                             else metric < self.best - self.min_delta)
            if improved:
                self.best, self.bad_epochs = float(metric), 0
            elif self.cooldown_left > 0:
                self.cooldown_left -= 1
            else:
                self.bad_epochs += 1
                if self.bad_epochs > self.patience:
                    self.scale *= self.factor
                    self.bad_epochs, self.cooldown_left = 0, self.cooldown
        return super().step()

    def state_dict(self):
        return {**super().state_dict(), "best": self.best, "bad_epochs": self.bad_epochs,
                "cooldown_left": self.cooldown_left, "scale": self.scale}

    def load_state_dict(self, d):
        self.best = None if d["best"] is None else float(d["best"])
        self.bad_epochs, self.cooldown_left = int(d["bad_epochs"]), int(d["cooldown_left"])
        self.scale = float(d["scale"])
        super().load_state_dict(d)


def make_scheduler(spec, optimizer=None) -> Scheduler:
    """A scheduler from ``"cosine"`` or ``{"type": "step", "step_size": 5, "gamma": 0.5}``."""
    if isinstance(spec, Scheduler):
        return spec.attach(optimizer) if optimizer is not None else spec
    return SCHEDULERS.make(spec, optimizer=optimizer)


build_scheduler = make_scheduler   # deprecated: the old name, kept for users
