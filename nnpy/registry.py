"""A registry is a dict plus a decorator.

Layers, losses, optimizers, schedulers, initializers, metrics, model symbols and
datasets are each kept in one ``Registry``. A config names any of them the same
way: ``{"type": "Conv2D", "filters": 32}`` — the ``type`` picks the class, the
other keys are its constructor's keyword arguments (read from its signature).
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import numbers
from typing import Any, Callable

from .errors import NnpyError, RegistryError


def _norm(name: str) -> str:
    """Lookup key: case and underscores do not matter (``conv2d`` finds ``Conv2D``)."""
    return name.lower().replace("_", "").replace("-", "")


def same_name(a, b) -> bool:
    """Whether two registry names name the same entry (``Adam`` and ``adam`` do)."""
    if isinstance(a, str) and isinstance(b, str):
        return _norm(a) == _norm(b)
    return a == b


def did_you_mean(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` for a near miss, else the empty string."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(str(word).lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f" (did you mean '{close[0]}'?)" if close else ""


def accepted_options(factory: Callable) -> tuple[list[str], bool]:
    """The keyword arguments ``factory`` accepts, and whether it takes ``**kwargs``."""
    sig = inspect.signature(factory)
    names, var_kw = [], False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self":
            names.append(p.name)
    return names, var_kw


class Registry:
    """Named factories of one kind (``"layer"``, ``"optimizer"``, …).

    ``modules``: the nnpy modules that register the built-in entries. They are imported on the
    first lookup or listing, so a registry is complete whatever the user imported first
    (``from nnpy.registry import DATASETS; DATASETS.make("mnist")`` works on its own).
    """

    def __init__(self, kind: str, context: tuple = (), plural: str | None = None, modules: tuple = (),
                 common: dict | None = None):
        self.kind = kind
        self.plural = plural or f"{kind}s"   # "valid losses: …"
        self.context = tuple(context)  # arguments nnpy supplies (never valid in a config)
        self.modules = tuple(modules)
        # options every entry takes, set as attributes after construction: {name: (annotation, default)}
        self.common = dict(common or {})
        self._modules_imported = False
        self._items: dict[str, Callable] = {}   # canonical name -> factory
        self._keys: dict[str, str] = {}          # normalized name/alias -> canonical name

    def _import_modules(self) -> None:
        """Import the modules that register the built-in entries (once; re-entry while one of
        them is being imported returns at once)."""
        if self._modules_imported:
            return
        self._modules_imported = True
        try:
            for module in self.modules:
                importlib.import_module(module)
        except BaseException:
            self._modules_imported = False   # the next lookup tries again (and fails as loudly)
            raise

    def register(self, name: str, *aliases: str) -> Callable:
        """Decorator: ``@LAYERS.register("Conv2D")``. A duplicate name is an error."""
        def decorate(factory: Callable) -> Callable:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            for key in (name, *aliases):
                if self._keys.get(_norm(key), name) != name:
                    raise ValueError(f"{self.kind} '{key}' is registered twice")
                self._keys[_norm(key)] = name
            self._items[name] = factory
            factory.registered_name = name
            return factory
        return decorate

    def names(self) -> list[str]:
        """The canonical names, sorted."""
        self._import_modules()
        return sorted(self._items, key=str.lower)

    def __contains__(self, name) -> bool:
        self._import_modules()
        return isinstance(name, str) and _norm(name) in self._keys

    def get(self, name: str) -> Callable:
        """The factory registered as ``name``; an unknown name lists the valid ones."""
        self._import_modules()
        if not isinstance(name, str) or _norm(name) not in self._keys:
            raise RegistryError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._items)}; "
                f"valid {self.plural}: {', '.join(self.names())}", kind=self.kind, unknown=str(name))
        return self._items[self._keys[_norm(name)]]

    def check_options(self, name: str, options: dict, where: str = "") -> None:
        """Raise ``RegistryError`` (naming the option) when ``options`` holds a key ``name`` does
        not take, misses one it requires, or gives a value of the wrong plain type (an option
        annotated ``int``, ``float``, ``bool`` or ``str``)."""
        where = where or f"{self.kind} '{name}'"
        parameters = {p.name: p for p in _parameters(self.get(name)) if p.name not in self.context}
        for key, (note, default) in self.common.items():
            parameters.setdefault(key, inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                         annotation=note))
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        valid = [n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD]
        for key, value in options.items():
            if key not in parameters and not takes_any:
                raise RegistryError(f"{where}: unknown option '{key}'{did_you_mean(key, valid)}; "
                                    f"valid options: {', '.join(valid) or '(none)'}", option=key)
            problem = _type_problem(parameters[key], value) if key in parameters else None
            if problem:
                raise RegistryError(f"{where}: option '{key}' must be {problem}, not {value!r}", option=key)
        for key, p in parameters.items():
            if p.default is p.empty and p.kind is not p.VAR_KEYWORD and key not in options:
                raise RegistryError(f"{where}: missing required option '{key}'", option=key)

    def make(self, spec: Any, **context) -> Any:
        """The object ``"name"`` or ``{"type": name, **options}`` names, made by its factory.

        ``context`` holds arguments supplied by nnpy rather than the user (e.g. the
        model an optimizer updates); they are passed only if the factory takes them.
        """
        if isinstance(spec, str):
            name, options = spec, {}
        elif isinstance(spec, dict):
            if "type" not in spec:
                raise RegistryError(f"{self.kind} spec {spec!r} has no 'type' key; "
                                    f"valid {self.plural}: {', '.join(self.names())}")
            options = dict(spec)
            name = options.pop("type")
        else:
            raise RegistryError(f"{_article(self.kind)} {self.kind} must be a name or a mapping with 'type', "
                                f"not {type(spec).__name__} {spec!r}")
        factory = self.get(name)
        self.check_options(name, options)
        valid, var_kw = accepted_options(factory)
        extra = {k: v for k, v in context.items() if var_kw or k in valid}
        common = {k: options.pop(k) for k in list(options) if k in self.common and k not in valid}
        try:
            made = factory(**extra, **options)
            for key, value in common.items():
                setattr(made, key, value)
            return made
        except NnpyError:
            raise  # already names its culprit
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"{self.kind} '{name}': {exc}") from None

    def build(self, spec: Any, **context) -> Any:
        """Deprecated: the old name of ``make``, kept for plugins and scripts that call it."""
        return self.make(spec, **context)


def _article(word: str) -> str:
    """``a`` or ``an`` before ``word`` (by its first letter: ``an optimizer``, ``a layer``)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _parameters(factory: Callable) -> list:
    """The parameters of ``factory`` a config could give (``self`` and ``*args`` left out)."""
    return [p for p in inspect.signature(factory).parameters.values()
            if p.name != "self" and p.kind is not p.VAR_POSITIONAL]


_PLAIN = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}


def _type_problem(param: inspect.Parameter, value) -> str | None:
    """What ``value`` should have been, when ``param`` is annotated with plain types
    (``int``, ``float | None``, …) that ``value`` is not; None when it fits or cannot be told."""
    note = param.annotation
    note = getattr(note, "__name__", note) if isinstance(note, type) else note
    if not isinstance(note, str):
        return None
    kinds = {k.strip() for k in note.split("|")}
    if not kinds <= {*_PLAIN, "None"}:
        return None
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    fits = (value is None and "None" in kinds) or \
        (isinstance(value, bool) and "bool" in kinds) or \
        (whole and bool(kinds & {"int", "float"})) or \
        (isinstance(value, numbers.Real) and not whole and not isinstance(value, bool) and "float" in kinds) or \
        (isinstance(value, str) and "str" in kinds)
    return None if fits else " or ".join(_PLAIN[k] if k in _PLAIN else "null" for k in sorted(kinds))


LAYERS = Registry("layer", modules=("nnpy.nn.layers",),
                  common={"trainable": ("bool", True)})   # False: frozen (nnpy.nn.layer.Layer.trainable)
LOSSES = Registry("loss", plural="losses", modules=("nnpy.nn.losses",))
OPTIMIZERS = Registry("optimizer", context=("model",), modules=("nnpy.optim.optimizers",))
SCHEDULERS = Registry("scheduler", context=("optimizer",), modules=("nnpy.optim.schedulers",))
INITIALIZERS = Registry("initializer", modules=("nnpy.nn.initializers",))
METRICS = Registry("metric", context=("pred", "target"), modules=("nnpy.nn.metrics",))
SYMBOLS = Registry("symbol", context=("input_shape", "outputs"), modules=("nnpy.symbols.builtin",))
DATASETS = Registry("dataset", modules=("nnpy.data",))

register_layer = LAYERS.register
register_loss = LOSSES.register
register_optimizer = OPTIMIZERS.register
register_scheduler = SCHEDULERS.register
register_initializer = INITIALIZERS.register


def register_metric(name: str, *aliases: str, higher_is_better: bool, task: str | None = None) -> Callable:
    """Decorator for a metric ``fn(pred, target, **options) -> float`` (a mean over samples).

    ``higher_is_better`` says which way the metric improves (accuracy: True, mae: False);
    checkpointing, early stopping, reduce-on-plateau and plots all read it from
    ``fn.higher_is_better``. ``task``: ``"classification"`` or ``"regression"`` when the metric
    only measures models of that task (a model compiled for the other one refuses it); None: any.
    """
    if task not in (None, "classification", "regression"):
        raise ValueError(f"metric '{name}': task must be 'classification', 'regression' or None, not {task!r}")

    def decorate(fn: Callable) -> Callable:
        fn.higher_is_better = bool(higher_is_better)
        fn.task = task
        return METRICS.register(name, *aliases)(fn)
    return decorate
register_symbol = SYMBOLS.register
register_dataset = DATASETS.register
