"""One plan from config to run: everything a command needs, built once, without reading data.

    plan = load_plan("configs/lenet.yaml", ["train.epochs=3"])
    plan.config        # the checked, resolved config (nothing edits it afterwards)
    plan.data          # DataDescription: input shape, outputs, task, class names
    plan.model         # nnpy.Sequential, built with shape inference, compiled: .loss,
                       # .optimizer, .scheduler, .metrics (.metric: the first)
    plan.source        # the dataset (registered DataSource), its options checked: .load(limit)
    plan.augmentation  # data.augment's transforms (a Compose; empty without data.augment)

``make_plan`` splits the config: the dataset gets ``data``, the model its ``ModelRecipe`` (the
``model`` section, the seed, the loss, optimizer, scheduler and metrics); ``nnpy.engine.run.Run``
splits the rest.
``nnpy train``, ``val``, ``summary``, ``gradcheck``, ``export`` and ``nnpy.load`` all start
here (a checkpoint's plan comes from ``nnpy.engine.checkpoint_content.plan_from_checkpoint``); the
model, the dataset object and the augmentation are built exactly once per plan.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..data.datasets import DataDescription, DataSource
from ..data.transforms import Compose, make_transforms
from ..errors import ConfigError, NnpyError
from ..io.yamlfile import Locator
from ..symbols import make_model
from ..nn.losses import make_loss
from ..optim import make_optimizer, make_scheduler
from ..registry import DATASETS
from .experiment_config import metric_specs, read_experiment
from .model import Model, Sequential
from .seeds import DROPOUT, INIT, stream
from .transfer import init_from


@dataclass
class Plan:
    """A checked config turned into the objects a run needs (see the module docstring)."""
    config: dict
    data: DataDescription
    model: Sequential
    source: DataSource | None = None      # None in a checkpoint's plan (its description is stored)
    augmentation: Compose | None = None

    @property
    def name(self) -> str:
        return self.config["name"]

    def with_config(self, cfg: dict) -> "Plan":
        """This plan for ``cfg``, a config that differs in where it writes (a fold's
        ``checkpoint.dir``): a fresh model from the seed, the same data objects."""
        return replace(self, config=cfg, model=compiled_model(ModelRecipe.of(cfg), self.data, Locator("<config>"),
                                                              metrics=self.model.metrics))


def load_plan(path, overrides=()) -> Plan:
    """The plan of a config file with ``--set`` overrides (every mistake names file:line:key)."""
    cfg, locator, metrics = read_experiment(path, overrides)
    return make_plan(cfg, locator=locator, metrics=metrics)


def make_plan(cfg: dict, data: DataDescription | None = None, locator: Locator | None = None,
              load_init: bool = True, metrics: list | None = None) -> Plan:
    """Build the dataset object, the augmentation and the model (each once; the model from the
    seed) with its loss, optimizer, scheduler and metrics.

    ``data``: the description to build for (a checkpoint stores it); by default the config's
    dataset describes itself from its options. ``load_init``: load ``model.init_from``'s
    weights (a checkpoint's own plan does not: its weights replace them anyway). ``metrics``:
    the config's metrics, when checking it built them already.
    """
    locator = locator or Locator("<config>")
    augment = augmentation(cfg["data"]["augment"], locator)
    source = data_source(cfg["data"], locator) if data is None else None
    data = data or source.describe()
    return Plan(cfg, data, compiled_model(ModelRecipe.of(cfg), data, locator, load_init, metrics), source, augment)


@dataclass(frozen=True)
class ModelRecipe:
    """What a compiled model is made of: its sections of a config, split out by ``of``."""
    model: dict               # the ``model`` section: a symbol or a list of layers
    seed: int                 # the weights' seed
    dataset: str | None       # ``data.dataset``, named in the model's errors
    optimizer: dict           # the ``optimizer`` section, ``train.max_grad_norm`` as its default
    loss: dict | str
    scheduler: dict | None
    metrics: list             # ``train.metrics``, or ``[train.metric]``: the main one first

    @classmethod
    def of(cls, cfg: dict) -> "ModelRecipe":
        """The recipe in a checked config (this and ``make_plan`` are where the config is split)."""
        optimizer = dict(cfg["optimizer"]) if isinstance(cfg["optimizer"], dict) else {"type": cfg["optimizer"]}
        if cfg["train"]["max_grad_norm"] is not None:
            optimizer.setdefault("max_grad_norm", cfg["train"]["max_grad_norm"])
        return cls(cfg["model"], cfg["seed"], cfg["data"]["dataset"], optimizer, cfg["loss"], cfg["scheduler"],
                   metric_specs(cfg))


def compiled_model(recipe: ModelRecipe, data: DataDescription, locator: Locator, load_init: bool = True,
                   metrics: list | None = None) -> Sequential:
    """The model of ``recipe`` for ``data``, weights from the seed (or ``model.init_from``), compiled
    with its loss, optimizer, scheduler and metrics (``metrics``: built already, else the recipe's)."""
    model = _build(recipe.model, recipe.seed, recipe.dataset, data, locator)
    if load_init and recipe.model.get("init_from"):
        _init_from(model, recipe.model["init_from"], locator)
    parts = {}
    for key, build, spec in (("optimizer", make_optimizer, recipe.optimizer), ("loss", make_loss, recipe.loss),
                             ("scheduler", make_scheduler, recipe.scheduler)):
        try:
            parts[key] = build(spec) if spec is not None else None
        except NnpyError as exc:   # a value of the right type that the class refuses
            option = getattr(exc, "option", None)
            raise locator.error((key, option) if option else (key,), str(exc)) from None
    model.compile(**parts, metrics=metrics or recipe.metrics)
    return model


def augmentation(augment: dict | None, locator: Locator) -> Compose:
    """``data.augment``'s transforms, built once (the training loader adds the normalization)."""
    try:
        return make_transforms(augment)
    except ConfigError as exc:
        section = str(exc).split(":")[0].split(".")
        raise locator.error(("data", *section), str(exc).split(": ", 1)[-1]) from None


def _init_from(model: Sequential, path: str, locator: Locator) -> None:
    """Load the matching weights of ``path`` and print what was loaded and skipped, a line each."""
    try:
        report = init_from(model, path)
    except NnpyError as exc:
        raise locator.error(("model", "init_from"), str(exc)) from None
    for line in report.lines():
        print(line)


def data_source(d: dict, locator: Locator | None = None) -> DataSource:
    """The dataset of a config's ``data`` section, its options checked (nothing is read yet)."""
    locator = locator or Locator("<config>")
    if d["dataset"] is None:
        raise locator.error(("data",), "missing required key 'dataset' (nnpy list datasets)")
    spec = {"type": d["dataset"], **d["options"], **({"root": d["root"]} if d["root"] is not None else {})}
    try:
        return DATASETS.make(spec)
    except NnpyError as exc:
        where = ("data", "root") if getattr(exc, "option", None) == "root" else ("data", "options")
        raise locator.error(where, f"dataset '{d['dataset']}': {exc}") from None


def _build(section: dict, seed: int, dataset: str | None, data: DataDescription, locator: Locator) -> Sequential:
    """The model of the config's ``model`` section for ``data`` (of ``dataset``), weights from
    ``seed``; errors point at the layer's config key."""
    try:
        model = make_model(section, data.input_shape, data.outputs, rng=stream(seed, INIT),
                           model_class=Sequential, graph_class=Model, seed=seed)
    except NnpyError as exc:
        raise locator.error(_model_key(section, exc), _model_message(section, exc, locator)) from exc
    _check_outputs(model, data, section, dataset, locator)
    model.data_description = data          # what it reads and writes (a text model: its vocabulary)
    model.set_rng(stream(seed, DROPOUT))
    return model


def _model_key(section: dict, exc: Exception) -> tuple:
    index, option = getattr(exc, "layer_index", None), getattr(exc, "option", None)
    if index is not None and section.get("layers") is not None:
        return ("model", "layers", index)
    node = getattr(exc, "node", None)
    if section.get("nodes") is not None and (node is not None or getattr(exc, "node_key", None)):
        where = ("model", "nodes", node) if node is not None else ("model",)
        return where + tuple(k for k in (getattr(exc, "node_key", None) or option,) if k)
    return ("model", option) if option else ("model",)


def _model_message(section: dict, exc: Exception, locator: Locator) -> str:
    """The error's text; for a layer nobody registered, how to register it; for 'layers' or
    'nodes' beside inherited symbol options, where those came from."""
    message = str(exc)
    if getattr(exc, "unknown", None) is not None:
        message += f"; if '{exc.unknown}' is your own {exc.kind}, load the file that registers it with --plugin FILE.py"
    kinds = {"layers": {"layers"}, "nodes": {"nodes", "output"}}
    own = next((keys for kind, keys in kinds.items() if section.get(kind) is not None), None)
    extra = [k for k in section if k not in own] if own else []
    inherited = {locator.where(("model", k)).split(":")[0] for k in extra} - {locator.file}
    if extra and inherited:
        message += (f" (from {', '.join(sorted(inherited))}: a model section merges with its base's; "
                    f"put '_delete_: true' in it to replace the base's model instead)")
    return message


def _check_outputs(model: Sequential, data: DataDescription, section: dict, dataset: str | None,
                   locator: Locator) -> None:
    """The model's last axis must give what ``dataset`` asks for (a binary classifier may
    give one logit for two classes); ``section``: the config's ``model``."""
    got = model.output_shape[-1] if model.output_shape else None
    layers, nodes = section.get("layers"), section.get("nodes")
    where = (("model", "layers", len(layers) - 1) if layers else
             ("model", "nodes", section.get("output")) if nodes else ("model",))
    if data.target_shape is not None:
        if tuple(model.output_shape) != data.target_shape:
            raise locator.error(where, f"the model gives outputs of shape {tuple(model.output_shape)} per sample, "
                                       f"but dataset '{dataset}' has targets of shape "
                                       f"{data.target_shape}: make the last layer give that shape")
        return
    if got == data.outputs or (data.task == "classification" and data.outputs == 2 and got == 1):
        return
    what = f"{data.outputs} classes" if data.task == "classification" else f"{data.outputs} output(s) per sample"
    raise locator.error(where, f"the model gives {got} values per sample (output shape "
                               f"{tuple(model.output_shape)}), but dataset '{dataset}' has "
                               f"{what}: make the last layer {{type: Dense, units: {data.outputs}}}")
