"""The values the training loop reports each epoch, and which way each one improves.

Every epoch logs ``train_loss`` and ``train_<metric>`` for each metric, plus ``val_loss`` and
``val_<metric>`` when there is validation data. A loss improves downward; a metric in the
direction it was registered with (``register_metric(name, higher_is_better=…)``).
Checkpointing, early stopping and reduce-on-plateau all ask this module.
"""
from __future__ import annotations

from ..nn.metrics import Metric
from ..registry import did_you_mean


def monitor_names(metrics: list[Metric], validation: bool) -> list[str]:
    """The values one epoch reports: ``train_loss``, ``train_<metric>``… (and ``val_…``)."""
    names = ["train_loss", *(f"train_{m.name}" for m in metrics)]
    return names + ["val_loss", *(f"val_{m.name}" for m in metrics)] if validation else names


def monitor_problem(monitor: str, valid: list[str]) -> str | None:
    """Why ``monitor`` cannot be watched (``'val_los' is not a value the loop reports (did you
    mean 'val_loss'?); valid: …``), or None when it is one of ``valid``."""
    if monitor in valid:
        return None
    return (f"'{monitor}' is not a value the loop reports{did_you_mean(monitor, valid)}; "
            f"valid: {', '.join(valid)}")


def default_monitor(metric: Metric, validation: bool) -> str:
    """``val_<metric>``, or ``train_<metric>`` without validation data."""
    return f"{'val' if validation else 'train'}_{metric.name}"


def higher_is_better(monitor: str, metrics: list[Metric]) -> bool:
    """``val_loss`` → False; ``val_accuracy`` → True (the metric's own direction)."""
    name = monitor.split("_", 1)[-1]
    return any(m.name == name and m.higher_is_better for m in metrics)


def improved(value: float, best: float | None, higher: bool, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` (None: nothing to beat) by more than ``min_delta``."""
    if best is None:
        return True
    return value > best + min_delta if higher else value < best - min_delta


def tie_loss_name(monitor: str) -> str:
    """The loss that breaks a tie of ``monitor``: ``val_loss`` for a ``val_…`` value, else
    ``train_loss``."""
    return "val_loss" if monitor.startswith("val_") else "train_loss"


def new_best(value: float, loss: float | None, best: float | None, best_loss: float | None,
             higher: bool) -> bool:
    """Whether an epoch whose monitored value is ``value`` (and tie-breaking loss ``loss``)
    replaces the best so far: a better value wins; an equal one wins with a lower loss, and
    with an equal (or unknown) loss too -- the later epoch."""
    if improved(value, best, higher):
        return True
    if value != best:
        return False
    return loss is None or best_loss is None or loss <= best_loss
