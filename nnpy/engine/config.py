"""The experiment config: its schema, and every check that runs before any data is read.

Sections: name, seed, model, data, loss, optimizer, scheduler, train, checkpoint, log.
``load_experiment(path, overrides)`` returns the resolved config (defaults filled in,
seed drawn if absent) or raises ``ConfigError`` naming file, line and key.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from .. import data as _datasets  # noqa: F401  (registers the datasets)
from ..errors import ConfigError, NnpyError
from ..io.schema import Field, Section, validate
from ..io.yamlfile import Locator
from ..nn.metrics import HIGHER_IS_BETTER
from ..registry import DATASETS, LOSSES, METRICS, OPTIMIZERS, SCHEDULERS, Registry, accepted_options


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
                     doc="symbol: <name> plus its options, or layers: [<layer specs>]"),
    "data": Section({
        "dataset": Field(str, required=True),
        "root": Field(str, default=None),
        "options": Field(dict, default={}, doc="dataset-specific options, e.g. seq_len for sine"),
        "limit": Field(int, default=None, check=_positive, doc="use only the first N samples"),
        "val_split": Field((int, float), default=0.1, check=_fraction_or_count),
        "batch_size": Field(int, default=64, check=_positive),
        "eval_batch_size": Field(int, default=256, check=_positive),
        "shuffle": Field(bool, default=True),
        "drop_last": Field(bool, default=False),
        "normalize": Field((str, dict), default=None, doc="auto, or {mean: …, std: …}"),
        "augment": Field(dict, default=None, doc="{shift, rotate, scale, thickness, hflip, fill, continental}"),
    }),
    "loss": Field((str, dict), default="cross_entropy"),
    "optimizer": Field((str, dict), default={"type": "sgd", "lr": 0.01}),
    "scheduler": Field((str, dict), default=None),
    "train": Section({
        "epochs": Field(int, default=10, check=_positive),
        "metric": Field((str, dict), default="accuracy", doc="a metric name, or {type: mse, skip_steps: 5}"),
        "max_time": Field(float, default=None, check=_positive, doc="seconds; stops with a resumable checkpoint"),
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

#: (input shape, outputs, task) of each built-in dataset, from its options — so a model
#: can be built with shape inference before any data is read.
def describe_dataset(name: str, options: dict):
    """(input shape, outputs, task) of a built-in dataset, or None when it cannot tell
    (a bad option value: loading the dataset reports it)."""
    name = DATASETS.get(name).registered_name

    def count(key, default):
        value = options.get(key, default)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    if name in ("mnist", "fashion-mnist"):
        return (1, 28, 28), 10, "classification"
    if name == "sine":
        return ((count("seq_len", 50), 1), 1, "regression") if count("seq_len", 50) else None
    if name == "function":
        return (2,), 1, "regression"
    if name == "parity":
        return ((count("bits", 8),), 2, "classification") if count("bits", 8) else None
    if name == "reuters":
        size = count("maxlen", 200) if options.get("mode") == "sequence" else count("num_words", 10000)
        return ((size,), 46, "classification") if size else None
    if name == "boston_housing":
        return (13,), 1, "regression"
    describe = getattr(DATASETS.get(name), "describe", None)
    return describe(**options) if describe else None


def model_of(cfg: dict, rng=None):
    """The config's model, built from the dataset's description alone (no data is read)."""
    from ..models import build_model

    described = describe_dataset(cfg["data"]["dataset"], cfg["data"]["options"])
    if described is None:
        raise ConfigError(f"data.dataset: cannot tell the input shape of '{cfg['data']['dataset']}' "
                          f"without loading it")
    input_shape, outputs, _ = described
    return build_model(cfg["model"], input_shape, outputs, rng=rng)


def _check_spec(registry: Registry, spec, keypath: tuple, locator: Locator, context=()) -> None:
    """A registry name or ``{type, …}``: the name and every option must exist."""
    name = spec if isinstance(spec, str) else spec.get("type")
    if name is None:
        raise locator.error(keypath, f"missing 'type'; valid {registry.kind}s: {', '.join(registry.names())}")
    try:
        registry.get(name)
    except NnpyError as exc:
        raise locator.error(keypath + (("type",) if isinstance(spec, dict) else ()), str(exc)) from None
    if isinstance(spec, dict):
        options = {k: v for k, v in spec.items() if k != "type"}
        for key in context:
            if key in options:
                raise locator.error(keypath + (key,), f"'{key}' is set by nnpy, not in the config")
        try:
            registry.check_options(name, options, where=f"{registry.kind} '{name}'")
        except NnpyError as exc:
            valid = [v for v in accepted_options(registry.get(name))[0] if v not in registry.context]
            bad = next((k for k in options if k not in valid), None)
            raise locator.error(keypath + ((bad,) if bad else ()), str(exc)) from None


def metric_name(cfg: dict) -> str:
    spec = cfg["train"]["metric"]
    return METRICS.get(spec["type"] if isinstance(spec, dict) else spec).registered_name


def has_validation(cfg: dict) -> bool:
    return bool(cfg["data"]["val_split"] or cfg["train"].get("kfold"))


def default_monitor(cfg: dict) -> str:
    """``val_<metric>`` (``train_<metric>`` without validation)."""
    return f"{'val' if has_validation(cfg) else 'train'}_{metric_name(cfg)}"


def monitor_names(cfg: dict) -> list[str]:
    metric = metric_name(cfg)
    names = ["train_loss", f"train_{metric}"]
    if has_validation(cfg):
        names += ["val_loss", f"val_{metric}"]
    return names


def check_semantics(cfg: dict, locator: Locator, build: bool = True) -> None:
    """Registry names and options, monitored metric names and the model's shapes."""
    from ..models import build_model  # models sit beside io; only the engine joins them

    try:
        DATASETS.get(cfg["data"]["dataset"])
    except NnpyError as exc:
        raise locator.error(("data", "dataset"), str(exc)) from None
    try:
        DATASETS.check_options(cfg["data"]["dataset"], cfg["data"]["options"],
                               where=f"dataset '{cfg['data']['dataset']}'")
    except NnpyError as exc:
        raise locator.error(("data", "options"), str(exc)) from None
    _check_spec(LOSSES, cfg["loss"], ("loss",), locator)
    _check_spec(OPTIMIZERS, cfg["optimizer"], ("optimizer",), locator, context=("params",))
    if cfg["scheduler"] is not None:
        _check_spec(SCHEDULERS, cfg["scheduler"], ("scheduler",), locator, context=("optimizer",))
    _check_spec(METRICS, cfg["train"]["metric"], ("train", "metric"), locator)
    valid = monitor_names(cfg)
    for keypath in (("checkpoint", "monitor"), ("train", "early_stopping", "monitor")):
        section = cfg
        for k in keypath[:-1]:
            section = section.get(k) or {}
        value = section.get(keypath[-1]) if section else None
        if keypath[0] == "checkpoint" and value is None:
            value = cfg["checkpoint"]["monitor"] = default_monitor(cfg)
        if value is not None and value not in valid:
            from ..registry import did_you_mean
            raise locator.error(keypath, f"'{value}' is not a value the loop reports{did_you_mean(value, valid)}; "
                                         f"valid: {', '.join(valid)}")
    described = describe_dataset(cfg["data"]["dataset"], cfg["data"]["options"])
    if described is not None and build:
        input_shape, outputs, _ = described
        try:
            build_model(cfg["model"], input_shape, outputs)
        except NnpyError as exc:
            index = getattr(exc, "layer_index", None)
            where = ("model", "layers", index) if index is not None and cfg["model"].get("layers") else ("model",)
            raise locator.error(where, str(exc)) from None


def resolve(cfg: dict, path: str | None) -> dict:
    """Fill in what depends on other keys: name, seed, monitor, checkpoint dir."""
    if cfg["name"] is None:
        cfg["name"] = Path(path).stem if path else "run"
    if cfg["seed"] is None:
        cfg["seed"] = secrets.randbelow(2 ** 31)
    # checkpoint.monitor defaults to default_monitor(cfg), set in check_semantics once the
    # metric name is known to be valid
    if cfg["checkpoint"]["dir"] is None:
        cfg["checkpoint"]["dir"] = str(Path("checkpoints") / cfg["name"])
    return cfg


def load_experiment(path, overrides=(), build: bool = True) -> dict:
    """Read, merge (``_base_``), override (``--set``), validate and resolve a config file."""
    from ..io.config import apply_overrides, load_config

    data, locator = load_config(path)
    data = apply_overrides(data, list(overrides), locator)
    return validate_experiment(data, locator, str(path), build=build)


def validate_experiment(data: dict, locator: Locator | None = None, path: str | None = None,
                        build: bool = True) -> dict:
    locator = locator or Locator(path or "<config>")
    cfg = validate(data, SCHEMA, locator)
    resolve(cfg, path)
    check_semantics(cfg, locator, build=build)
    return cfg


__all__ = ["SCHEMA", "load_experiment", "validate_experiment", "check_semantics", "HIGHER_IS_BETTER",
           "ConfigError"]
