"""The experiment config: its schema, and the checks that need no model and no data.

Sections: name, seed, model, data, loss, optimizer, scheduler, train, checkpoint, log.
``load_experiment(path, overrides)`` reads the file (``_base_`` merged, ``--set`` applied),
fills in defaults, checks every registry name and option, resolves what depends on other
keys (name, seed, metric, checkpoint dir and monitor) and returns ``(config, locator)``; every
mistake is a ``ConfigError`` naming file, line and key. Building the model (shape checks)
is the plan's job (``nnpy.engine.plan``).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from .. import data as _datasets  # noqa: F401  (registers the datasets)
from ..data.transforms import check_normalization
from ..errors import ConfigError, NnpyError
from ..io.configfile import apply_overrides, load_config
from ..io.schema import Field, Section, apply_schema
from ..io.yamlfile import Locator
from ..nn.losses import loss_task
from ..nn.metrics import Metric, default_metric, metric_list, unsuitable
from ..registry import DATASETS, LAYERS, LOSSES, METRICS, OPTIMIZERS, SCHEDULERS, SYMBOLS, Registry
from ..symbols import TEST_TIME_VIEWS
from .monitor import default_monitor, monitor_names, monitor_problem


def _positive(v):
    return v > 0 or "must be positive"


def _fraction_or_count(v):
    if isinstance(v, float) and not 0 <= v < 1:
        return "a fraction must be in [0, 1)"
    return v >= 0 or "must be ≥ 0"


SCHEMA = Section({
    "name": Field(str, default=None, doc="run name: checkpoints/<name>/, runs/<name>/"),
    "seed": Field(int, default=None, doc="drawn at random (and saved) when absent"),
    "model": Section({}, open=True, required=True,
                     doc="symbol: <name> plus its options, layers: [<layer specs>], or nodes: {<name>: <spec "
                         "with inputs>} and output: <node>; init_from: a checkpoint whose weights (same layer "
                         "name and shape) the model starts from; test_time_augment: {hflip: true, shift: 1} evaluates "
                         "it on views of each input (mirrored, shifted) and averages"),
    "data": Section({
        "dataset": Field(str, default=None, doc="required to train or evaluate"),
        "root": Field(str, default=None),
        "options": Field(dict, default={}, doc="dataset-specific options, e.g. seq_len for sine"),
        "limit": Field(int, default=None, check=_positive, doc="use only the first N samples"),
        "val_split": Field((int, float), default=0.1, check=_fraction_or_count),
        "batch_size": Field(int, default=64, check=_positive),
        "eval_batch_size": Field(int, default=256, check=_positive),
        "shuffle": Field(bool, default=True),
        "drop_last": Field(bool, default=False),
        "normalize": Field((str, dict), default=None, doc="auto, or {mean: …, std: …}"),
        "augment": Field(dict, default=None, doc="{shift, rotate, scale, thickness, hflip, erase, fill, continental}"),
    }),
    "loss": Field((str, dict), default="cross_entropy"),
    "optimizer": Field((str, dict), default={"type": "sgd", "lr": 0.01}),
    "scheduler": Field((str, dict), default=None),
    "train": Section({
        "epochs": Field(int, default=10, check=_positive),
        "metric": Field((str, dict), default=None, doc="a metric name, or {type: mse, skip_steps: 5}; default "
                                                       "accuracy (mae for a regression loss), or the first of metrics"),
        "metrics": Field(list, item=(str, dict), default=None, check=lambda v: bool(v) or "must name a metric",
                         doc="several metrics, all logged; the first is the main one (train.metric)"),
        "max_time": Field(float, default=None, check=_positive, doc="seconds; stops with a resumable checkpoint"),
        "steps": Field(int, default=None, check=_positive,
                       doc="a run of this many steps instead of epochs: each draws batch_size random samples "
                           "(with replacement, as nanoGPT's get_batch); replaces train.epochs"),
        "eval_every": Field(int, default=None, check=_positive,
                            doc="with train.steps: validate (log, checkpoint) every N steps; default train.steps"),
        "eval_batches": Field(int, default=None, check=_positive,
                              doc="with train.steps: validate on N batches of random samples (fixed by the seed); "
                                  "default the whole validation split"),
        "max_grad_norm": Field(float, default=None, check=_positive),
        "kfold": Field(int, default=None, check=lambda k: k >= 2 or "must be at least 2",
                       doc="K-fold cross-validation on the training set; reports the mean"),
        "early_stopping": Section({
            "monitor": Field(str, default="val_loss"),
            "patience": Field(int, default=5, check=_positive),
            "min_delta": Field(float, default=0.0),
        }, nullable=True),
    }),
    "checkpoint": Section({
        "dir": Field(str, default=None, doc="default checkpoints/<name>"),
        "monitor": Field(str, default=None, doc="default val_<metric> (train_<metric> without validation)"),
        "save_last": Field(bool, default=True),
        "save_best": Field(bool, default=True),
    }),
    "log": Section({
        "dir": Field(str, default="runs"),
    }),
})


def load_experiment(path, overrides=()) -> tuple[dict, Locator]:
    """Read, merge (``_base_``), override (``--set``), check and resolve a config file; its
    relative input paths are made to start from the config's folder (``resolve_input_paths``)."""
    cfg, locator, _ = read_experiment(path, overrides)
    return cfg, locator


def read_experiment(path, overrides=()) -> tuple[dict, Locator, list[Metric]]:
    """``load_experiment``'s config and locator, and the metrics the config reports (built once,
    while checking it: the plan compiles its model with them)."""
    data, locator = load_config(path)
    data = apply_overrides(data, list(overrides), locator)
    cfg, metrics = checked_experiment(data, locator, str(path))
    return resolve_input_paths(cfg, locator), locator, metrics


def input_paths(cfg: dict) -> list[tuple]:
    """The key paths of the files and folders a config reads: ``data.root``, and without it
    the dataset's ``path_options`` (a CSV's ``path``, ``test_path``; with a root they start there)."""
    data = cfg["data"]
    if data["root"] is not None:
        return [("data", "root")]
    source = DATASETS.get(data["dataset"]) if data["dataset"] is not None else None
    return [("data", "options", key) for key in getattr(source, "path_options", ())]


def resolve_input_paths(cfg: dict, locator: Locator) -> dict:
    """Rewrite each relative input path (``input_paths``) to start from the folder of the config
    file that gave it -- ``configs/x.yaml`` saying ``root: ../data/shapes`` reads ``data/shapes``
    -- so a config means the same files from any current folder. A ``--set`` value starts from
    the current folder, as typed; output folders (``checkpoint.dir``, ``log.dir``) always do."""
    for keypath in input_paths(cfg) + ([("model", "init_from")] if cfg["model"].get("init_from") else []):
        *parents, key = keypath
        section = cfg
        for part in parents:
            section = section[part]
        value, file = section.get(key), locator.file_of(keypath)
        if isinstance(value, str) and value and not os.path.isabs(value) and file is not None:
            section[key] = os.path.normpath(os.path.join(os.path.dirname(file), value))
    return cfg


def check_experiment(data: dict, locator: Locator | None = None, path: str | None = None) -> dict:
    """The schema (defaults filled in), registry names and options, then ``resolve``."""
    return checked_experiment(data, locator, path)[0]


def checked_experiment(data: dict, locator: Locator | None = None,
                       path: str | None = None) -> tuple[dict, list[Metric]]:
    """``check_experiment``'s config, and the metrics it reports (built once, here)."""
    locator = locator or Locator(path or "<config>")
    cfg = apply_schema(data, SCHEMA, locator)
    check_names(cfg, locator)
    check_transforms(cfg["data"], locator)
    check_steps(cfg["train"], locator)
    resolve(cfg, path)
    metrics = check_metrics(cfg, locator)
    resolve_monitor(cfg, metrics[0])
    check_monitors(cfg, metrics, locator)
    return cfg, metrics


def check_names(cfg: dict, locator: Locator) -> None:
    """Every registry name and option of the config exists (values are checked when built)."""
    if cfg["data"]["dataset"] is not None:
        _check_dataset(cfg["data"], locator)
    _check_spec(LOSSES, cfg["loss"], ("loss",), locator)
    _check_spec(OPTIMIZERS, cfg["optimizer"], ("optimizer",), locator)
    if cfg["scheduler"] is not None:
        _check_spec(SCHEDULERS, cfg["scheduler"], ("scheduler",), locator)
    for keypath, spec in metric_keys(cfg):
        _check_spec(METRICS, spec, keypath, locator)
    _check_model_section(cfg["model"], locator)


def metric_keys(cfg: dict) -> list[tuple[tuple, object]]:
    """``(keypath, spec)`` of each metric the config names: ``train.metric`` (unless null) and
    ``train.metrics[i]``."""
    train = cfg["train"]
    single = [(("train", "metric"), train["metric"])] if train["metric"] is not None else []
    return single + [(("train", "metrics", i), spec) for i, spec in enumerate(train["metrics"] or [])]


def metric_specs(cfg: dict) -> list:
    """The metrics a resolved config reports, the main one first: ``train.metrics``, or
    ``[train.metric]``."""
    return cfg["train"]["metrics"] or [cfg["train"]["metric"]]


def check_metrics(cfg: dict, locator: Locator) -> list[Metric]:
    """The metrics of ``metric_specs``, once ``train.metric`` is the first of ``train.metrics``
    (when both are given), no metric is listed twice, and each measures the kind of model the
    loss trains."""
    train, loss = cfg["train"], cfg["loss"]
    if train["metrics"] and train["metric"] != train["metrics"][0]:
        raise locator.error(("train", "metric"), f"{train['metric']!r} is not the first of train.metrics "
                                                 f"({train['metrics'][0]!r}): give one of the two keys")
    try:
        metrics = metric_list(metric_specs(cfg))
    except NnpyError as exc:
        raise locator.error(("train", "metrics"), str(exc)) from None
    loss_name = loss if isinstance(loss, str) else loss["type"]
    keypaths = [("train", "metrics", i) for i in range(len(metrics))] if train["metrics"] else [("train", "metric")]
    for keypath, metric in zip(keypaths, metrics):
        problem = unsuitable(metric, loss_task(loss), loss_name)
        if problem:
            raise locator.error(keypath, problem)
    return metrics


def _check_model_section(model: dict, locator: Locator) -> None:
    """``model`` is ``{symbol: name, …options}``, ``{layers: [specs]}`` or ``{nodes: {name: spec
    with inputs}, output: name}`` (the layers and the graph are checked when the plan builds them),
    each with an optional ``init_from: CKPT`` and, but for a graph, ``test_time_augment: {hflip, shift}``."""
    if "init_from" in model and not (isinstance(model["init_from"], str) and model["init_from"]):
        raise locator.error(("model", "init_from"), f"must be the path of a checkpoint, not {model['init_from']!r}")
    if model.get("test_time_augment") is not None:
        _check_test_time_augment(model, locator)
    model = {k: v for k, v in model.items() if k not in ("init_from", "test_time_augment")}
    if "layers" in model:
        if not isinstance(model["layers"], list):
            raise locator.error(("model", "layers"), f"must be a list of layer specs, not {model['layers']!r:.60}")
    elif "nodes" in model:
        if not isinstance(model["nodes"], dict) or not model["nodes"]:
            raise locator.error(("model", "nodes"), f"must map node names to layer specs with their inputs, e.g. "
                                                    f"{{dense: {{type: Dense, units: 10, inputs: input}}}}, "
                                                    f"not {model['nodes']!r:.60}")
        if not isinstance(model.get("output"), str):
            raise locator.error(("model",), "a graph model needs 'output': the name of the node that gives "
                                            "the model's output")
    elif "symbol" in model:
        symbol = {"type": model["symbol"], **{k: v for k, v in model.items() if k != "symbol"}}
        _check_spec(SYMBOLS, symbol, ("model",), locator, type_key="symbol")
    else:
        raise locator.error(("model",), "give either 'symbol' (nnpy list symbols), 'layers' (a list of layer "
                                        "specs) or 'nodes' and 'output' (a graph)")


def _check_test_time_augment(model: dict, locator: Locator) -> None:
    """``model.test_time_augment``: ``{hflip: true|false, shift: pixels}``, at least one view
    besides the input, around a symbol or a layer list (a graph puts a TestTimeAugment node in)."""
    where, views = ("model", "test_time_augment"), model["test_time_augment"]
    if "nodes" in model:
        raise locator.error(where, "works with 'symbol' or 'layers', not with a graph ('nodes'): put a "
                                   "TestTimeAugment layer in the graph instead")
    if not isinstance(views, dict):
        raise locator.error(where, f"must be {{hflip: true|false, shift: pixels}}, not {views!r:.60}")
    for key in views:
        if key not in TEST_TIME_VIEWS:
            raise locator.error(where + (key,), f"is not a view: give {' or '.join(TEST_TIME_VIEWS)}")
    _check_spec(LAYERS, {"type": "TestTimeAugment", **views}, where, locator)     # the options' types
    if views.get("shift", 0) < 0:
        raise locator.error(where + ("shift",), f"must be a whole number of pixels >= 0, not {views['shift']!r}")
    if not views.get("hflip") and not views.get("shift"):
        raise locator.error(where, "has no view besides the input: give hflip: true or shift > 0")


def check_transforms(data_cfg: dict, locator: Locator) -> None:
    """``data.normalize`` (auto, null or {mean, std}) holds what it can (``data.augment``'s
    transforms are checked as the plan builds them, once: ``nnpy.engine.plan.augmentation``)."""
    norm = data_cfg["normalize"]
    if isinstance(norm, str) and norm != "auto":
        raise locator.error(("data", "normalize"), f"{norm!r} is not a normalization: give auto (computed on "
                                                   f"the training split), null or {{mean: …, std: …}}")
    if isinstance(norm, dict) and set(norm) < {"mean", "std"}:
        raise locator.error(("data", "normalize"), f"needs both mean and std, got {sorted(norm)}")
    try:
        check_normalization(norm if isinstance(norm, dict) else None)
    except ConfigError as exc:
        section = str(exc).split(":")[0].split(".")
        raise locator.error(("data", *section), str(exc).split(": ", 1)[-1]) from None


def _check_dataset(data_cfg: dict, locator: Locator) -> None:
    name = data_cfg["dataset"]
    try:
        DATASETS.get(name)
    except NnpyError as exc:
        raise locator.error(("data", "dataset"), str(exc)) from exc
    try:
        DATASETS.check_options(name, data_cfg["options"], where=f"dataset '{name}'")
    except NnpyError as exc:
        option = getattr(exc, "option", None)
        raise locator.error(("data", "options") + ((option,) if option else ()), str(exc)) from None


def _check_spec(registry: Registry, spec, keypath: tuple, locator: Locator, type_key: str = "type") -> None:
    """A registry name or ``{type, …}``: the name and every option must exist and fit
    (``type_key``: what the config calls the name's key, e.g. ``model.symbol``)."""
    name = spec if isinstance(spec, str) else spec.get("type")
    if name is None:
        raise locator.error(keypath, f"missing 'type'; valid {registry.plural}: {', '.join(registry.names())}")
    try:
        registry.get(name)
    except NnpyError as exc:
        raise locator.error(keypath + ((type_key,) if isinstance(spec, dict) else ()), str(exc)) from exc
    options = {k: v for k, v in spec.items() if k != "type"} if isinstance(spec, dict) else {}
    for key in registry.context:
        if key in options:
            raise locator.error(keypath + (key,), f"'{key}' is set by nnpy, not in the config")
    try:
        registry.check_options(name, options, where=f"{registry.kind} '{name}'")
    except NnpyError as exc:
        option = getattr(exc, "option", None)
        raise locator.error(keypath + ((option,) if option else ()), str(exc)) from None


def check_steps(train: dict, locator: Locator) -> None:
    """``train.eval_every`` divides ``train.steps``; then ``train.epochs`` becomes their ratio: to the
    loop, an epoch of a run in steps is ``eval_every`` steps (one validation, one log line)."""
    steps, every = train["steps"], train["eval_every"]
    if steps is None:
        for key in ("eval_every", "eval_batches"):
            if train[key] is not None:
                raise locator.error(("train", key), "applies to a run in steps: give train.steps too")
        return
    every = steps if every is None else every
    if steps % every:
        raise locator.error(("train", "eval_every"), f"{every} must divide train.steps ({steps})")
    train["eval_every"], train["epochs"] = every, steps // every


def resolve(cfg: dict, path: str | None) -> dict:
    """Fill in what depends on other keys: name, seed, checkpoint dir and main metric (then
    ``resolve_monitor`` the checkpoint monitor). The one place a config is completed; nothing
    edits it afterwards."""
    if cfg["name"] is None:
        cfg["name"] = Path(path).stem if path else "run"
    if cfg["seed"] is None:
        cfg["seed"] = secrets.randbelow(2 ** 31)
    if cfg["checkpoint"]["dir"] is None:
        cfg["checkpoint"]["dir"] = str(Path("checkpoints") / cfg["name"])
    if cfg["train"]["metric"] is None:
        cfg["train"]["metric"] = (cfg["train"]["metrics"] or [default_metric(loss_task(cfg["loss"]))])[0]
    return cfg


def resolve_monitor(cfg: dict, main_metric: Metric) -> None:
    """``checkpoint.monitor``, when not given: the main metric on the validation split (the
    training split without one)."""
    if cfg["checkpoint"]["monitor"] is None:
        cfg["checkpoint"]["monitor"] = default_monitor(main_metric, has_validation(cfg))


def has_validation(cfg: dict) -> bool:
    return bool(cfg["data"]["val_split"] or cfg["train"].get("kfold"))


def check_monitors(cfg: dict, metrics: list[Metric], locator: Locator) -> None:
    """Every monitored name (checkpoint, early stopping, plateau) is a value the loop reports."""
    valid = monitor_names(metrics, has_validation(cfg))
    scheduler = cfg["scheduler"] if isinstance(cfg["scheduler"], dict) else {}
    early = cfg["train"]["early_stopping"] or {}
    for keypath, value in ((("checkpoint", "monitor"), cfg["checkpoint"]["monitor"]),
                           (("train", "early_stopping", "monitor"), early.get("monitor")),
                           (("scheduler", "monitor"), scheduler.get("monitor"))):
        problem = None if value is None else monitor_problem(value, valid)
        if problem:
            raise locator.error(keypath, problem)
