"""Metrics: ``metric(pred, target) -> float`` averaged over the batch, and the confusion matrix.

Classification metrics take logits or probabilities (N, C) — or (N, 1) / (N,) for a
binary classifier, where pred > 0 means class 1 (logits) — and integer or one-hot
targets. Every registered metric is a mean over samples, so a weighted average over
batches gives the value over a whole dataset, and says which way it improves
(``register_metric(name, higher_is_better=…)``) and, when it measures only one kind of model,
which (``task="classification"`` or ``"regression"``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import functional as F
from ..errors import ConfigError, RegistryError
from ..functional import softmax
from ..registry import METRICS, register_metric


@dataclass(frozen=True)
class Metric:
    """A registered metric with its options bound: ``metric(pred, target) -> float``.
    ``task``: the kind of model it measures (``classification``, ``regression``; None: any);
    ``spec``: the name or ``{type, …}`` it was built from (what a saved config names)."""
    name: str
    fn: Callable
    higher_is_better: bool
    task: str | None = None
    spec: str | dict | None = field(default=None, compare=False)

    def __call__(self, pred, target) -> float:
        return self.fn(pred, target)


def predicted_labels(pred) -> np.ndarray:
    """Class ids from logits/probabilities (N, C), or from binary logits (N, 1)/(N,)."""
    pred = np.asarray(pred)
    if pred.ndim == 1 or pred.shape[-1] == 1:
        return (pred.reshape(pred.shape[0], -1)[:, 0] > 0).astype(np.int64)
    return pred.reshape(-1, pred.shape[-1]).argmax(axis=1)


def true_labels(target, num_classes: int | None = None) -> np.ndarray:
    """Integer class ids from integer or one-hot targets."""
    target = np.asarray(target)
    if num_classes and num_classes > 1 and target.ndim >= 2 and target.shape[-1] == num_classes:
        return target.reshape(-1, num_classes).argmax(axis=1)
    return target.reshape(-1).astype(np.int64)


@register_metric("accuracy", "acc", higher_is_better=True, task="classification")
def accuracy(pred, target) -> float:
    """Fraction of samples whose predicted class is the target class."""
    pred = np.asarray(pred)
    c = pred.shape[-1] if pred.ndim > 1 else 1
    return float(np.mean(predicted_labels(pred) == true_labels(target, c)))


@register_metric("top5_accuracy", "top_k_accuracy", higher_is_better=True, task="classification")
def top_k_accuracy(pred, target, k: int = 5) -> float:
    """Fraction of samples whose target is among the ``k`` highest-scoring classes."""
    pred = np.asarray(pred).reshape(-1, np.shape(pred)[-1])
    labels = true_labels(target, pred.shape[1])
    k = min(k, pred.shape[1])
    top = np.argpartition(-pred, k - 1, axis=1)[:, :k]
    return float(np.mean((top == labels[:, None]).any(axis=1)))


def _errors(pred, target, skip_steps: int) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float64)
    diff = pred - np.asarray(target, dtype=np.float64).reshape(pred.shape)
    return diff[:, skip_steps:] if skip_steps else diff   # sequences (N, T, F): drop the first steps


@register_metric("mse", higher_is_better=False, task="regression")
def mse(pred, target, skip_steps: int = 0) -> float:
    """Mean squared error over all elements (of sequences: after the first ``skip_steps`` steps)."""
    return float(F.mse(_errors(pred, target, skip_steps)))


@register_metric("mae", higher_is_better=False, task="regression")
def mae(pred, target, skip_steps: int = 0) -> float:
    """Mean absolute error over all elements (of sequences: after the first ``skip_steps`` steps)."""
    return float(F.mae(_errors(pred, target, skip_steps)))


#: The smallest mean squared error PSNR counts (a perfect image scores 100 dB, not infinity).
PSNR_MIN_MSE = 1e-10


@register_metric("psnr", higher_is_better=True, task="regression")
def psnr(pred, target) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1], averaged over the images:
    ``mean_i 10·log10(1 / MSE_i)``, MSE_i over the pixels of image i; pred and target
    ``(N, ...)``. One image (or images of equal error) gives ``10·log10(1 / MSE)``; the mean of
    per-image values (the usual denoising score) keeps batches' weighted averages exact."""
    per_image = np.mean(_errors(pred, target, 0).reshape(len(pred), -1) ** 2, axis=1)
    return float(np.mean(10 * np.log10(1 / np.maximum(per_image, PSNR_MIN_MSE))))


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """(N, C) class probabilities from a model's outputs: logits or probabilities (N, C),
    or one binary logit (N, 1) -> (N, 2), as ``predicted_labels`` reads them."""
    z = outputs.reshape(len(outputs), -1).astype(np.float64)
    if z.shape[1] == 1:
        p1 = 1 / (1 + np.exp(-z[:, 0]))
        return np.stack([1 - p1, p1], axis=1)
    if (z >= 0).all() and np.allclose(z.sum(axis=1), 1, atol=1e-4):   # a Softmax layer ends the model
        return z
    return softmax(z)


def confusion_matrix(pred, target, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) counts: row = true class, column = predicted class."""
    p = predicted_labels(pred)
    t = true_labels(target, num_classes)
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def per_class_accuracy(cm) -> np.ndarray:
    """Accuracy (recall) of each class from a confusion matrix whose rows are the true classes:
    ``cm[i, i] / Σ_j cm[i, j]``, 0 for a class without samples. Shape (num_classes,)."""
    cm = np.asarray(cm)
    return np.diag(cm) / np.maximum(cm.sum(axis=1), 1)


def make_metric(spec) -> Metric:
    """The ``Metric`` of ``"accuracy"`` or ``{"type": "mse", "skip_steps": 5}``."""
    name, options = (spec["type"], {k: v for k, v in spec.items() if k != "type"}) \
        if isinstance(spec, dict) else (spec, {})
    fn = METRICS.get(name)
    METRICS.check_options(name, options)
    if not hasattr(fn, "higher_is_better"):
        raise RegistryError(f"metric '{fn.registered_name}' does not say which way it improves; register "
                            f"it with @register_metric('{fn.registered_name}', higher_is_better=True or False)")
    return Metric(fn.registered_name, functools.partial(fn, **options) if options else fn, fn.higher_is_better,
                  getattr(fn, "task", None), spec)


get_metric = make_metric   # deprecated: the old name, kept for users


def metric_list(specs) -> list[Metric]:
    """The ``Metric`` of each name / spec / ``Metric`` in ``specs`` (one alone is a list of one),
    in order: the first is the main one. Two of the same name would log the same key: an error."""
    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    if not specs:
        raise ConfigError("no metric given: name at least one, e.g. ['accuracy']")
    metrics = [spec if isinstance(spec, Metric) else make_metric(spec) for spec in specs]
    names = [m.name for m in metrics]
    twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if twice is not None:
        raise ConfigError(f"metric '{twice}' is listed twice (each metric is logged as train_<name> and val_<name>)")
    return metrics


def default_metric(task: str | None) -> str:
    """The metric a model reports when none is named: ``mae`` for regression, else ``accuracy``."""
    return "mae" if task == "regression" else "accuracy"


def unsuitable(metric: Metric, task: str | None, loss_name: str) -> str | None:
    """Why ``metric`` cannot measure a model of ``task`` trained with loss ``loss_name``
    (accuracy of a regression model, mse of a classifier), naming the metrics that can; None
    when it can (or either's task is not said)."""
    if metric.task is None or task is None or metric.task == task:
        return None
    fitting = [name for name in METRICS.names() if getattr(METRICS.get(name), "task", None) in (task, None)]
    return (f"metric '{metric.name}' measures {metric.task} models, but loss '{loss_name}' trains a {task} "
            f"model; metrics for {task}: {', '.join(fitting)}")
