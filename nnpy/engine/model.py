"""``nnpy.Sequential``: the trainable model -- a ``Chain`` of layers with Keras-style
``build / compile / fit / evaluate / predict / summary / save``. A config builds the same class,
trained by the same loop, callbacks, losses, optimizers and checkpoint code as ``nnpy train``.

    model = nnpy.Sequential([nnpy.layers.Dense(64), nnpy.layers.ReLU(), nnpy.layers.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy", "top5_accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.1)
    model.evaluate(x_test, y_test)      # {"loss": …, "accuracy": …, "top5_accuracy": …, "n": …}

A model owns its input normalization (``fit(..., normalize={"mean": …, "std": …})``, or the
``data.normalize`` of the run that trained it): ``fit``, ``evaluate``, ``predict``, a saved and
loaded copy and its ONNX export all take raw inputs and normalize them the same way.

The low-level loop stays open: ``y = model.forward(x, training=True)``,
``loss.forward(y, t)``, ``model.backward(loss.backward())``, ``optimizer.step()``.
"""
from __future__ import annotations

import secrets
import sys
import warnings

import numpy as np

from ..data.loader import DataLoader, split_train_val
from ..data.transforms import Normalize, check_normalization, make_transforms
from ..data.datasets import DataDescription
from ..errors import CheckpointError, ConfigError
from ..io.checkpoint import save_checkpoint
from ..nn.layers import Chain, Graph
from ..nn.placeholders import graph_nodes
from ..nn.layers.containers import name_layers

from ..nn.losses import activation_clash, make_loss
from ..nn.metrics import class_probabilities, default_metric, metric_list, unsuitable
from ..optim import make_optimizer, make_scheduler
from .callbacks import ConsoleLogger
from .seeds import DROPOUT, INIT, SHUFFLE, VAL_SPLIT, derived_seed, stream
from .summary import summary as summary_table
from .trainer import Trainer


class History:
    """Per-epoch values, Keras style: ``history.history["val_loss"][-1]``."""

    def __init__(self, logs: list[dict], metrics: list[str]):
        rename = {"train_loss": "loss", **{f"train_{name}": name for name in metrics}}
        self.epoch = [int(entry["epoch"]) for entry in logs]
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


def train_metrics(specs: list) -> dict:
    """A config's ``train`` metrics: ``{metric: m}`` for one, ``{metric: first, metrics: [all]}``
    for several (as ``experiment_config.resolve`` writes them)."""
    return {"metric": specs[0], **({"metrics": list(specs)} if len(specs) > 1 else {})}


class TrainableModel:
    """What makes a container a model: build, compile, fit, evaluate, predict and save.

    Mixed into a container layer: ``Sequential`` (a Chain) and ``Model`` (a Graph). The
    container's ``model_section()`` is its config's ``model`` section. ``seed`` fixes
    initialization, dropout, shuffling and the validation split exactly as ``seed:`` in a
    config does (drawn at random when None).
    """

    def _init_training(self, seed: int | None) -> None:
        self.seed = int(seed) if seed is not None else secrets.randbelow(2 ** 31)
        self.needs_input_grad = False          # nobody asks for dL/d(input) of a whole model
        self.loss = self.optimizer = self.scheduler = self.metric = None
        self.metrics: list = []
        self.compiled: dict = {}
        self.trainer: Trainer | None = None
        self._normalization: dict | None = None

    # ---- input normalization ------------------------------------------------------------
    @property
    def normalization(self) -> dict | None:
        """``{"mean": …, "std": …}`` (numbers, or one per feature) that ``fit``, ``evaluate`` and
        ``predict`` apply to raw inputs before the first layer; None: inputs go in as given.
        Set by ``fit(normalize=…)`` or from a checkpoint (its ``data.stats``); saved by ``save``."""
        return self._normalization

    @normalization.setter
    def normalization(self, stats) -> None:
        if not stats:
            self._normalization = None
            return
        if not isinstance(stats, dict) or sorted(stats) != ["mean", "std"]:
            raise ConfigError(f"normalize: expected {{'mean': …, 'std': …}}, got {stats!r}")
        plain = {key: np.asarray(value).tolist() for key, value in stats.items()}   # arrays → lists
        check_normalization(plain)                    # numbers, std > 0: a ConfigError naming normalize
        self._normalization = plain

    def normalize_inputs(self, x) -> np.ndarray:
        """Raw samples ``(N, *input_shape)`` as the first layer takes them: ``(x − mean) / std``
        in float32 with ``normalization`` (the training batches' own transform), else ``x``."""
        return x if self._normalization is None else Normalize(**self._normalization)(x)

    def _model_inputs(self, x) -> np.ndarray:
        """Raw samples checked against the shape the model was built for (built on first use),
        then normalized: what ``forward`` takes."""
        x = np.asarray(x)
        self.build(x.shape[1:])
        return self.normalize_inputs(x)

    # ---- building -----------------------------------------------------------------------
    def build(self, input_shape):
        """Keras-style ``model.build((1, 28, 28))``: create the weights (from the seed) for
        samples of ``input_shape`` and return the output shape; ``fit`` and ``predict`` build
        on first use."""
        if not self.built:
            self.initialize(tuple(input_shape), rng=stream(self.seed, INIT))
            self.set_rng(stream(self.seed, DROPOUT))
        self._check_input_shape(input_shape)
        self._attach()
        return self.output_shape

    def _check_input_shape(self, input_shape) -> None:
        """Samples of another shape than the model was built for: a ShapeError naming the first
        layer (instead of numpy's message from deep inside a layer)."""
        shape = tuple(int(d) for d in input_shape)
        if shape != self.input_shape:
            first = self.layers[0] if self.layers else self
            raise first.shape_error(f"samples of shape {self.input_shape} (what the model was built for)", shape)

    def initialize(self, input_shape, rng=None, dtype=None) -> tuple:
        """The layer contract's ``initialize``; the layers inside are built by the container's
        ``build`` (``Chain.build`` or ``Graph.build``), since a model's own is the Keras call."""
        return self._initialize_with(super().build, input_shape, rng, dtype)

    def _attach(self) -> None:
        if self.optimizer is not None and self.optimizer.model is None:
            self.optimizer.attach(self)
        if self.scheduler is not None and self.scheduler.optimizer is None:
            self.scheduler.attach(self.optimizer)

    def compile(self, optimizer="rmsprop", loss="cross_entropy", metrics=None, scheduler=None,
                metric=None) -> "TrainableModel":
        """Choose optimizer, loss, scheduler (each a name, a spec dict or an object) and the
        metrics reported beside the loss: ``metrics`` (a list of names, specs or ``Metric``s;
        the first is the main one, monitored by default) or one ``metric``. Neither: accuracy
        (mae for a regression loss). A metric for the other task (accuracy of a regression
        model) is a ``ConfigError`` naming it."""
        if metric is not None and metrics is not None:
            raise ConfigError("compile: give metrics=[…] or metric=…, not both")
        self.optimizer = make_optimizer(optimizer)
        self.loss = make_loss(loss)
        task = getattr(self.loss, "task", None)
        if metrics is None:
            metrics = metric if metric is not None else default_metric(task)
        specs = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        self.metrics = metric_list(specs)
        for m in self.metrics:
            problem = unsuitable(m, task, self.loss.type_name)
            if problem:
                raise ConfigError(f"compile: {problem}")
        self.metric = self.metrics[0]
        self.scheduler = make_scheduler(scheduler) if scheduler is not None else None
        named = [spec if isinstance(spec, (str, dict)) else m.spec or m.name for spec, m in zip(specs, self.metrics)]
        self.compiled = {"optimizer": optimizer if isinstance(optimizer, (str, dict)) else
                         {"type": self.optimizer.type_name, "lr": self.optimizer.initial_lr},
                         "loss": loss if isinstance(loss, (str, dict)) else self.loss.type_name,
                         "metrics": named,
                         "scheduler": scheduler if isinstance(scheduler, (str, dict, type(None))) else None}
        self.trainer = None
        if self.built:
            self._attach()
        return self

    def _trainer(self, callbacks=()) -> Trainer:
        if self.loss is None:
            raise RuntimeError("call model.compile(optimizer=…, loss=…) before fit/evaluate")
        if self.trainer is None:
            self.trainer = Trainer.for_model(self)
        self.trainer.callbacks = list(callbacks)
        return self.trainer

    # ---- Keras-style loop -----------------------------------------------------------------
    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
            validation_split: float = 0.0, verbose: int = 1, shuffle: bool = True, callbacks=(),
            augment: dict | None = None, normalize: dict | None = None) -> History:
        """Train on (x, y); a second ``fit`` continues where the first stopped.

        ``validation_split``: a fraction or a count held out (seeded, as ``data.val_split``).
        ``augment``: as a config's ``data.augment``; training batches are augmented, then
        normalized with the model's ``normalization``. ``normalize``: ``{"mean": …, "std": …}``
        becomes the model's ``normalization`` (None keeps the one it has): x, the validation
        data and, later, ``evaluate`` / ``predict`` inputs are all raw.
        """
        x, y = np.asarray(x), np.asarray(y)
        if normalize is not None:
            self.normalization = normalize
        if validation_split and validation_data is None:
            x, y, xv, yv = split_train_val(x, y, validation_split, seed=derived_seed(self.seed, VAL_SPLIT))
            validation_data = (xv, yv)
        self.build(x.shape[1:])
        if validation_data is not None:
            xv, yv = validation_data
            validation_data = (self._model_inputs(xv), np.asarray(yv))
        self._warn_activation_clash()
        transform = make_transforms(augment, self.normalization) if (augment or self.normalization) else None
        loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=derived_seed(self.seed, SHUFFLE),
                            transform=transform)
        trainer = self._trainer([*([ConsoleLogger(stream=sys.stdout, progress=False)] if verbose else []),
                                 *callbacks])
        start = len(trainer.state.history)
        trainer.fit(loader, validation_data, epochs=start + int(epochs))
        return History(trainer.state.history[start:], [m.name for m in self.metrics])

    def _warn_activation_clash(self) -> None:
        """Once, before training: the model ends with the activation its loss applies itself."""
        message = activation_clash(self, self.loss)
        if message:
            warnings.warn(message, UserWarning, stacklevel=3)

    def evaluate(self, x, y, batch_size: int = 256) -> dict:
        """``{"loss": …, <metric>: … for each compiled metric, "n": …}`` of raw samples x in
        evaluation mode."""
        trainer = self._trainer()
        return trainer.evaluate(self._model_inputs(x), np.asarray(y), batch_size=batch_size)

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for raw samples x in evaluation mode: for a classifier these are
        logits (PyTorch's habit; ``predict_proba`` gives probabilities), for regression the
        predicted values."""
        x = self._model_inputs(x)
        outs = [self.forward(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs)

    def predict_proba(self, x, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, C) of a classifier: the softmax of ``predict``'s logits (a model
        that ends in Softmax already gives them; one binary logit (N, 1) gives (N, 2) by the sigmoid)."""
        return class_probabilities(self.predict(x, batch_size))

    def summary(self, print_fn=print) -> str:
        """The layer table (shapes, parameters, FLOPs); the model must be built first."""
        if not self.built:
            raise RuntimeError("the model has no shapes yet: call model.build(input_shape), e.g. "
                               "model.build((1, 28, 28)), or fit it first")
        text = summary_table(self)
        if print_fn is not None:
            print_fn(text)
        return text

    @property
    def task(self) -> str:
        """``classification`` unless the compiled loss is a regression loss (mse, mae, huber)."""
        return "regression" if getattr(self.loss, "task", None) == "regression" else "classification"

    # ---- files -------------------------------------------------------------------------
    def config(self) -> dict:
        """An experiment config describing this model and how it was compiled (no dataset)."""
        return {"name": self.name, "seed": self.seed,
                "model": self.model_section(),
                "loss": self.compiled.get("loss", "cross_entropy"),
                "optimizer": self.compiled.get("optimizer", {"type": "sgd", "lr": 0.01}),
                "scheduler": self.compiled.get("scheduler"),
                "train": train_metrics(self.compiled.get("metrics", ["accuracy"]))}

    def save(self, path) -> None:
        """Write a JSON checkpoint (config, data description, weights, optimizer state)
        atomically; ``nnpy.load(path)`` reads it back."""
        if not self.built:
            raise CheckpointError("the model has no weights yet: build or fit it before saving")
        description = getattr(self, "data_description", None) or \
            DataDescription(self.input_shape, self.output_shape[-1], self.task)
        save_checkpoint(path, {
            "config": self.config(), "data": {"description": description.to_dict(), "stats": self.normalization},
            "model": self.state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None})

    def generate(self, prompt: str = "", tokens: int = 500, temperature: float = 0.8, top_k: int | None = 40,
                 seed: int | None = None) -> str:
        """The text a character-level model (trained on the ``text`` dataset) writes after
        ``prompt``: ``tokens`` characters, each drawn from softmax(logits / temperature) among the
        ``top_k`` likeliest (all of them when ``top_k`` is None or exceeds the vocabulary), with a key/value cache (one position per character);
        ``nnpy.engine.generate.generate_text`` yields them one by one."""
        from .generate import generate_text
        return "".join(generate_text(self, prompt, tokens, temperature, top_k, seed))

    def export_onnx(self, path, normalization: dict | None = None, class_names=None):
        """Write the model as an ONNX file (needs ``pip install -e ".[onnx]"``); see ``nnpy.export``.

        The graph takes what ``predict`` takes: raw inputs, normalized inside it with the
        model's ``normalization``. ``normalization``: for a model that has none (one saved by
        an older nnpy), the ``normalize`` its inputs need. A model compiled with a regression
        loss (mse, mae, huber) outputs ``predictions``; others ``logits`` and ``probs``.
        """
        from ..export import export_onnx

        return export_onnx(self, path, normalization=normalization, class_names=class_names, name=self.name,
                           task=self.task)



class Sequential(TrainableModel, Chain):
    """The Keras-style trainable model: a ``Chain`` of layers (the container, which only applies
    them in order) that can also build, compile, fit, evaluate, predict and save itself.

    ``seed`` fixes initialization, dropout, shuffling and the validation split exactly
    as ``seed:`` in a config does (drawn at random when None).
    """

    def __init__(self, layers=(), name: str | None = None, seed: int | None = None):
        Chain.__init__(self, layers, name=name or "model")
        self._init_training(seed)

    def model_section(self) -> dict:
        """The config's ``model`` section: ``{layers: [specs]}``."""
        return {"layers": [layer.get_config() for layer in self.layers]}


class Model(TrainableModel, Graph):
    """A graph model (branches and joins) that trains like ``Sequential``. Two ways to describe it:

    Keras' functional API -- call layers on ``nnpy.Input`` and on each other's results::

        x = nnpy.Input((1, 28, 28))
        a = Conv2D(8, 3, padding=1)(x)
        b = Conv2D(8, 5, padding=2)(x)
        y = Dense(10)(Flatten()(Concatenate()([a, b])))
        model = nnpy.Model(x, y, seed=0)          # built for (1, 28, 28) at once

    or the nodes of a config's ``model`` section (built on first use, or ``model.build(shape)``)::

        nnpy.Model(nodes={"a": {"type": "Conv2D", "filters": 8, "kernel_size": 3, "inputs": "input"},
                          …}, output="logits")

    Nodes and their parameters are named after the layers (``conv2d_1.W``); see ``nnpy.layers.Graph``.
    """

    def __init__(self, inputs=None, outputs=None, *, nodes=None, output: str | None = None,
                 name: str | None = None, seed: int | None = None):
        if inputs is not None or outputs is not None:
            if nodes is not None or output is not None:
                raise ConfigError("Model: give inputs and outputs (the functional API) or nodes and output, not both")
            nodes, output = graph_nodes(inputs, outputs, name_layers)
        Graph.__init__(self, nodes, output, name=name or "model")
        self._init_training(seed)
        if inputs is not None:
            self.build(inputs.shape)

    def model_section(self) -> dict:
        """The config's ``model`` section: ``{nodes: {name: spec with inputs}, output: name}``."""
        config = self.get_config()
        return {"nodes": config["nodes"], "output": config["output"]}
