"""``Model``: a Sequential network with Keras-style ``compile / fit / evaluate / predict /
save`` — the same object the config builds, trained by the same loop, callbacks, losses,
optimizers and checkpoint code as ``nnpy train``.

    model = nnpy.Sequential([nnpy.layers.Dense(64), nnpy.layers.ReLU(), nnpy.layers.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.1)
    model.evaluate(x_test, y_test)      # {"loss": …, "accuracy": …, "n": …}

The low-level loop stays open: ``y = model.forward(x, training=True)``,
``loss.forward(y, t)``, ``model.backward(loss.backward())``, ``optimizer.step()``.
"""
from __future__ import annotations

import secrets
import sys

import numpy as np

from ..data.loader import DataLoader, split_train_val
from ..data.transforms import Normalize, build_transforms
from ..errors import CheckpointError
from ..io.checkpoint import load_checkpoint, save_checkpoint
from ..nn.layers import Sequential
from ..nn.losses import build_loss
from ..optim import build_optimizer, build_scheduler
from .callbacks import ConsoleLogger
from .summary import summary as summary_table
from .trainer import Trainer


def derived_seed(seed: int, purpose: int) -> int:
    """Independent streams from one seed: 0 init, 1 dropout, 2 shuffling/augmentation, 3 val split."""
    return int(np.random.SeedSequence([int(seed), purpose]).generate_state(1)[0])


class History:
    """Per-epoch values, Keras style: ``history.history["val_loss"][-1]``."""

    def __init__(self, logs: list[dict], metric: str):
        rename = {"train_loss": "loss", f"train_{metric}": metric}
        self.epoch = [int(l["epoch"]) for l in logs]
        self.history: dict[str, list] = {}
        for logs_of_epoch in logs:
            for key, value in logs_of_epoch.items():
                if key != "epoch":
                    self.history.setdefault(rename.get(key, key), []).append(value)
        self.logs = logs

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Model(Sequential):
    """A Sequential network that can compile, fit, evaluate, predict and save itself.

    ``seed`` fixes initialization, dropout, shuffling and the validation split exactly
    as ``seed:`` in a config does (drawn at random when None).
    """

    def __init__(self, layers=(), name: str | None = None, seed: int | None = None):
        super().__init__(layers, name=name or "model")
        self.seed = int(seed) if seed is not None else secrets.randbelow(2 ** 31)
        self.loss = self.optimizer = self.scheduler = None
        self.metric_name = "accuracy"
        self.trainer: Trainer | None = None

    # ---- building -----------------------------------------------------------------------
    def build_for(self, input_shape) -> "Model":
        """Initialize for samples of ``input_shape`` (done by ``fit`` on first use)."""
        if not self.built:
            self.initialize(tuple(input_shape), rng=np.random.default_rng(derived_seed(self.seed, 0)))
            self.set_rng(np.random.default_rng(derived_seed(self.seed, 1)))
        if self.optimizer is not None and self.optimizer.model is None:
            self.optimizer.attach(self)
            if self.scheduler is not None and self.scheduler.optimizer is None:
                self.scheduler.attach(self.optimizer)
        return self

    def compile(self, optimizer="rmsprop", loss="cross_entropy", metrics=("accuracy",), scheduler=None,
                metric: str | None = None) -> "Model":
        """Choose optimizer (name, spec dict or object), loss, the reported metric and a scheduler."""
        self.optimizer = build_optimizer(optimizer)
        self.loss = build_loss(loss)
        if metric is None:
            metric = metrics[0] if isinstance(metrics, (list, tuple)) and metrics else (metrics or "accuracy")
        from ..registry import METRICS
        self.metric_name = METRICS.get(metric).registered_name
        self.scheduler = build_scheduler(scheduler) if scheduler is not None else None
        self.compiled = {"optimizer": optimizer if isinstance(optimizer, (str, dict)) else
                         {"type": self.optimizer.type_name, "lr": self.optimizer.initial_lr},
                         "loss": loss if isinstance(loss, (str, dict)) else self.loss.type_name,
                         "metric": self.metric_name,
                         "scheduler": scheduler if isinstance(scheduler, (str, dict, type(None))) else None}
        if self.built:
            self.build_for(self.input_shape)
        return self

    def _trainer(self, callbacks=()) -> Trainer:
        if self.loss is None:
            raise RuntimeError("call model.compile(optimizer=…, loss=…) before fit/evaluate")
        if self.trainer is None:
            self.trainer = Trainer(self, self.loss, self.optimizer, self.scheduler, metric=self.metric_name)
        self.trainer.callbacks = list(callbacks)
        return self.trainer

    # ---- Keras-style loop -----------------------------------------------------------------
    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
            validation_split: float = 0.0, verbose: int = 1, shuffle: bool = True, callbacks=(),
            augment: dict | None = None, normalize: dict | None = None) -> History:
        """Train on (x, y); a second ``fit`` continues where the first stopped.

        ``validation_split``: a fraction or a count held out (seeded, as ``data.val_split``).
        ``augment`` / ``normalize``: as a config's ``data.augment`` / ``data.normalize``
        (``{"mean": …, "std": …}``): training batches are augmented then normalized,
        validation data normalized. Give ``evaluate``/``predict`` normalized inputs.
        """
        x, y = np.asarray(x), np.asarray(y)
        if validation_split and validation_data is None:
            x, y, xv, yv = split_train_val(x, y, validation_split, seed=derived_seed(self.seed, 3))
            validation_data = (xv, yv)
        if validation_data is not None and normalize:
            xv, yv = validation_data
            validation_data = (Normalize(**normalize)(np.asarray(xv, dtype=np.float32), None), yv)
        self.build_for(x.shape[1:])
        transform = build_transforms(augment, normalize) if (augment or normalize) else None
        loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=derived_seed(self.seed, 2),
                            transform=transform)
        cbs = [ConsoleLogger(stream=sys.stdout, progress=False)] if verbose else []
        trainer = self._trainer([*cbs, *callbacks])
        trainer.batches_per_epoch = len(loader)
        start = len(trainer.state.history)
        trainer.fit(loader, validation_data, epochs=start + int(epochs) if trainer.state.epoch else int(epochs),
                    state=trainer.state)
        return History(trainer.state.history[start:], self.metric_name)

    def evaluate(self, x, y, batch_size: int = 256) -> dict:
        """``{"loss": …, <metric>: …, "n": …}`` in evaluation mode."""
        return self._trainer().evaluate(np.asarray(x), np.asarray(y), batch_size=batch_size)

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """Model outputs (logits for classifiers) in evaluation mode."""
        x = np.asarray(x)
        self.build_for(x.shape[1:])
        outs = [self.forward(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs)

    def summary(self, print_fn=print) -> str:
        text = summary_table(self)
        if print_fn is not None:
            print_fn(text)
        return text

    # ---- files -------------------------------------------------------------------------
    def config(self) -> dict:
        compiled = getattr(self, "compiled", {})
        return {"name": self.name, "seed": self.seed,
                "model": {"layers": [layer.get_config() for layer in self.layers]},
                "model_io": {"input_shape": list(self.input_shape), "outputs": int(self.output_shape[-1])},
                "loss": compiled.get("loss", "cross_entropy"),
                "optimizer": compiled.get("optimizer", {"type": "sgd", "lr": 0.01}),
                "scheduler": compiled.get("scheduler"),
                "train": {"metric": self.metric_name}}

    def save(self, path) -> None:
        """Write a JSON checkpoint (weights, optimizer state, config) atomically."""
        payload = {"config": self.config(), "model": self.state_dict(),
                   "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
                   "data": {}}
        save_checkpoint(path, payload)

    def export_onnx(self, path, normalization: dict | None = None, class_names=None):
        """Write the model as an ONNX file (needs ``pip install -e ".[onnx]"``); see ``nnpy.export``.

        The model does not remember how its data was normalized: pass the ``normalize``
        given to ``fit`` (``{"mean": …, "std": …}``) and the graph takes raw inputs; without
        it, the graph takes what ``predict`` takes. A model compiled with a regression loss
        (mse, mae, huber) outputs ``predictions``; others ``logits`` and ``probs``.
        """
        from ..export import export_onnx

        regression = getattr(self.loss, "type_name", None) in ("mse", "mae", "huber")
        return export_onnx(self, path, normalization=normalization, class_names=class_names, name=self.name,
                           task="regression" if regression else "classification")


def model_from_payload(payload: dict, path) -> Model:
    """Rebuild the model of a checkpoint (from ``nnpy train`` or ``Model.save``) and load its weights."""
    from ..models import build_model

    cfg = payload.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model_io"), dict):
        raise CheckpointError(f"{path}: no model description (config.model_io) inside")
    try:
        io = cfg["model_io"]
        model = build_model(cfg["model"], tuple(io["input_shape"]), int(io["outputs"]), model_class=Model,
                            seed=cfg.get("seed"))
    except Exception as exc:  # the stored config no longer builds
        raise CheckpointError(f"{path}: the model in the checkpoint cannot be rebuilt: {exc}") from None
    state = payload.get("model")
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
    return model


def load(path) -> Model:
    """A model saved by ``Model.save`` or ``nnpy train``, compiled as it was trained."""
    payload = load_checkpoint(path)
    model = model_from_payload(payload, path)
    cfg = payload["config"]
    try:
        model.compile(optimizer=cfg.get("optimizer", "sgd"), loss=cfg.get("loss", "cross_entropy"),
                      metric=(cfg.get("train") or {}).get("metric", "accuracy"))
        if isinstance(payload.get("optimizer"), dict):
            model.optimizer.load_state_dict(payload["optimizer"])
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot restore the training setup: {exc}") from None
    return model
