"""The values the training loop reports each epoch, and which way each one improves.

Every epoch logs ``train_loss`` and ``train_<metric>``, plus ``val_loss`` and ``val_<metric>``
when there is validation data. A loss improves downward; a metric in the direction it was
registered with (``register_metric(name, higher_is_better=…)``). Checkpointing, early stopping
and reduce-on-plateau all ask this module.
"""
from __future__ import annotations

from ..nn.metrics import Metric


def monitor_names(metric: Metric, validation: bool) -> list[str]:
    """The values one epoch reports: ``train_loss``, ``train_<metric>`` (and ``val_…``)."""
    names = ["train_loss", f"train_{metric.name}"]
    return names + ["val_loss", f"val_{metric.name}"] if validation else names


def default_monitor(metric: Metric, validation: bool) -> str:
    """``val_<metric>``, or ``train_<metric>`` without validation data."""
    return f"{'val' if validation else 'train'}_{metric.name}"


def higher_is_better(monitor: str, metric: Metric) -> bool:
    """``val_loss`` → False; ``val_accuracy`` → True (the metric's own direction)."""
    return monitor.split("_", 1)[-1] != "loss" and metric.higher_is_better


def improved(value: float, best: float | None, higher: bool, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` (None: nothing to beat) by more than ``min_delta``."""
    if best is None:
        return True
    return value > best + min_delta if higher else value < best - min_delta
