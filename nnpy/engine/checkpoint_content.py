"""What a checkpoint holds, and the plan it rebuilds (the file format is ``nnpy.io.checkpoint``).

The payload of a checkpoint (a training run's is ``nnpy.engine.run: Run.checkpoint()``)::

    config      the run's config, as checked and resolved (the model is rebuilt from it)
    data        {"description": DataDescription.to_dict(), "stats": normalization or None}
    model       {"conv2d_1.W": array, …}   parameters and buffers
    optimizer   moments and step count     (not in inference-only copies)
    scheduler   position (and plateau state)
    rng         the dropout generator's state
    state       TrainState: epoch, batch, best value, history, callback state
    metrics     the last epoch's logs
    run_dir     the run's folder, which a resumed run continues

Checkpoints written before ``data.description`` existed kept the shapes in ``config.model_io``;
they load the same (``_description``). So do those of regression models saved with the metric
accuracy, the default before metrics were checked against the loss (``_without_stale_metric``).
"""
from __future__ import annotations

import copy

import numpy as np

from ..data.datasets import DataDescription
from ..errors import CheckpointError, NnpyError, RegistryError
from ..io.checkpoint import load_checkpoint, save_checkpoint
from ..io.yamlfile import Locator
from ..nn.losses import loss_task
from ..nn.metrics import make_metric, unsuitable
from .experiment_config import checked_experiment
from .plan import Plan, make_plan

_LEGACY_KEYS = ("model_io",)


def plan_from_checkpoint(path, payload: dict | None = None, optimizer_state: bool = False) -> tuple[Plan, dict]:
    """The checkpoint's plan with its weights and input normalization loaded (and, with
    ``optimizer_state``, the optimizer's moments): ``(plan, payload)``."""
    payload = load_checkpoint(path) if payload is None else payload
    config = payload.get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: no config inside")
    try:
        cfg, metrics = checked_experiment(_without_stale_metric({k: v for k, v in config.items()
                                                                if k not in _LEGACY_KEYS}), Locator("config"))
        plan = make_plan(cfg, _description(payload, path), Locator("config"), load_init=False, metrics=metrics)
    except NnpyError as exc:
        raise CheckpointError(f"{path}: {_rebuild_error(exc)}") from None
    load_weights(plan.model, payload.get("model"), path)
    try:
        plan.model.normalization = stats_of(payload)
    except NnpyError as exc:
        raise CheckpointError(f"{path}: data.stats: {exc}") from None
    if optimizer_state and isinstance(payload.get("optimizer"), dict):
        try:
            plan.model.optimizer.load_state_dict(payload["optimizer"])
        except Exception as exc:
            raise CheckpointError(f"{path}: cannot restore the optimizer state: {exc}") from None
    return plan, payload


def _without_stale_metric(config: dict) -> dict:
    """``config``, but if it names one metric that cannot measure its model (accuracy of a
    model trained with a regression loss: nnpy's default until metrics were checked against the
    loss), without it and without the checkpoint monitor resolved from it, so that both become
    today's defaults (mae, val_mae)."""
    train, checkpoint = config.get("train"), config.get("checkpoint") or {}
    try:
        metric = make_metric(train["metric"])
        stale = not train.get("metrics") and unsuitable(metric, loss_task(config.get("loss", "cross_entropy")), "")
    except (NnpyError, KeyError, TypeError, AttributeError):
        return config            # check_experiment names what is wrong
    if not stale:
        return config
    monitor = checkpoint.get("monitor")
    resolved = monitor in (f"val_{metric.name}", f"train_{metric.name}")
    return {**config, "train": {**train, "metric": None},
            "checkpoint": {**checkpoint, "monitor": None if resolved else monitor}}


def _description(payload: dict, path) -> DataDescription:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    try:
        if isinstance(data.get("description"), dict):
            return DataDescription.from_dict(data["description"])
        legacy = payload["config"]["model_io"]            # checkpoints of nnpy 0.1.0
        return DataDescription(tuple(legacy["input_shape"]), int(legacy["outputs"]),
                               data.get("task") or "classification", data.get("class_names"))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: no description of the model's data inside ({exc})") from None


def _rebuild_error(exc: NnpyError) -> str:
    """Why the stored config does not rebuild; for a name nobody registered, how to register it."""
    cause = exc if isinstance(exc, RegistryError) else exc.__cause__
    if isinstance(cause, RegistryError) and cause.unknown is not None:
        return (f"the model uses {cause.kind} '{cause.unknown}', which is not registered; if it is your "
                f"own, load the Python file that registers it with --plugin FILE.py")
    return f"the model in the checkpoint cannot be rebuilt: {exc}"


def load_weights(model, state, path) -> None:
    """Copy a checkpoint's arrays into ``model`` after checking every name, shape and dtype."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: no model parameters")
    own = model.state_dict()
    for key, arr in own.items():
        got = state.get(key)
        if not isinstance(got, np.ndarray):
            raise CheckpointError(f"{path}: parameter '{key}' is missing")
        if got.shape != arr.shape or got.dtype != arr.dtype:
            raise CheckpointError(f"{path}: parameter '{key}' has shape {got.shape} {got.dtype}, "
                                  f"the model needs {arr.shape} {arr.dtype}")
    extra = sorted(set(state) - set(own))
    if extra:
        raise CheckpointError(f"{path}: unexpected parameters {extra[:5]}")
    model.load_state_dict(state)


def load(path):
    """``nnpy.load``: a model saved by ``nnpy.Sequential.save`` or ``nnpy train``, compiled as
    it was trained, with its weights, optimizer state and input normalization (its
    ``predict`` and ``evaluate`` take raw inputs, as ``nnpy val`` reads them)."""
    plan, _ = plan_from_checkpoint(path, optimizer_state=True)
    return plan.model


def stats_of(payload: dict) -> dict | None:
    """The normalization a checkpoint's model was trained with (None: none)."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    return data.get("stats") or None


def write_inference_copy(src, dst) -> dict:
    """Write an inference-only copy of ``src``: config, weights, data description and statistics
    and final metrics, without optimizer moments or generator state (about half the size; not
    resumable). The config's ``data.root`` (a path on the machine that trained it) becomes null,
    so the copy looks for its dataset in the usual places."""
    payload = load_checkpoint(src)
    plan_from_checkpoint(src, payload)          # it must rebuild before it is worth copying
    slim = {key: copy.deepcopy(payload[key]) for key in ("config", "model", "data", "metrics") if key in payload}
    if isinstance(slim["config"].get("data"), dict):
        slim["config"]["data"]["root"] = None
    state = payload.get("state") or {}
    slim["state"] = {k: state.get(k) for k in ("epoch", "best_value", "best_epoch")}
    slim["exported_from"] = str(src)
    save_checkpoint(dst, slim)
    return slim
