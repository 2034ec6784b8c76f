"""Model symbols -- named recipes of layer specs (``symbol: lenet`` in a config; the built-in ones in
``builtin.py``, your own with ``@register_symbol``) -- and ``make_model``, which turns a config's
``model`` section (a symbol, a list of layers or a graph of nodes) into a model made from the layer
registry. The trainable model classes themselves are ``nnpy.engine.model``'s."""
from __future__ import annotations

import numpy as np

from ..errors import RegistryError
from ..nn.layers import Chain, Graph
from ..registry import SYMBOLS
from . import builtin  # noqa: F401  (registers the built-in symbols)


#: the keys of a model section's ``test_time_augment``: the views ``TestTimeAugment`` averages over
TEST_TIME_VIEWS = ("hflip", "shift")


def model_layers(model_cfg: dict, input_shape, outputs: int) -> list:
    """The layer specs of ``model_cfg``: ``{"symbol": name, **options}`` or ``{"layers": [...]}``,
    all inside one ``TestTimeAugment`` with ``test_time_augment: {hflip: true, shift: 1}`` (evaluated
    on views of the input, averaged; missing keys: no such view). ``init_from``, the weights to
    start from, is the plan's business (``nnpy.engine.transfer``)."""
    cfg = {k: v for k, v in model_cfg.items() if k not in ("init_from", "test_time_augment")}
    views = model_cfg.get("test_time_augment")
    layers = _layer_specs(cfg, input_shape, outputs)
    if views is None:
        return layers
    if not isinstance(views, dict) or not set(views) <= set(TEST_TIME_VIEWS):
        raise RegistryError(f"'test_time_augment' must be {{hflip: true|false, shift: pixels}}, not {views!r:.60}",
                            option="test_time_augment")
    return [{"type": "TestTimeAugment", "hflip": False, "shift": 0, **views, "layers": layers}]


def _layer_specs(cfg: dict, input_shape, outputs: int) -> list:
    """The layer specs of a ``{"symbol": name, **options}`` or ``{"layers": [...]}`` section."""
    if cfg.get("layers") is not None:
        extra = sorted(set(cfg) - {"layers"})
        if extra:
            raise RegistryError(f"'layers' cannot be combined with {', '.join(map(repr, extra))}")
        if not isinstance(cfg["layers"], list):
            raise RegistryError(f"'layers' must be a list of layer specs, not {cfg['layers']!r:.60}")
        return list(cfg["layers"])
    cfg.pop("layers", None)
    name = cfg.pop("symbol", None)
    if name is None:
        raise RegistryError("give either 'symbol' (nnpy list symbols) or 'layers' (a list of layer specs)")
    factory = SYMBOLS.get(name)
    for key in SYMBOLS.context:
        if key in cfg:
            raise RegistryError(f"model symbol '{name}': '{key}' is set by nnpy from the dataset "
                                f"({outputs if key == 'outputs' else tuple(input_shape)}), not in the config",
                                option=key)
    SYMBOLS.check_options(name, cfg, where=f"model symbol '{name}'")
    try:
        return factory(tuple(input_shape), int(outputs), **cfg)
    except RegistryError as exc:
        raise RegistryError(f"model symbol '{name}': {exc}", option=exc.option) from None
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"model symbol '{name}': {exc}") from None


def graph_section(model_cfg: dict) -> dict:
    """``{nodes, output}`` of a graph model's section (``nodes`` beside other keys is an error)."""
    extra = sorted(set(model_cfg) - {"nodes", "output"})
    if extra:
        raise RegistryError(f"'nodes' cannot be combined with {', '.join(map(repr, extra))}")
    return {"nodes": model_cfg["nodes"], "output": model_cfg.get("output")}


def make_model(model_cfg: dict, input_shape, outputs: int, rng=None, dtype=None,
               model_class=Chain, graph_class=Graph, **class_options) -> Chain:
    """Make and initialize the model (shape inference runs here: errors name the layer or node).

    ``model_class``: the container to make of ``layers`` or a ``symbol`` (the engine passes its
    trainable ``Sequential``); ``graph_class``: the one to make of ``nodes`` (``Model``).
    """
    if model_cfg.get("nodes") is not None:
        model = graph_class(**graph_section(model_cfg), name="model", **class_options)
    else:
        model = model_class(model_layers(model_cfg, input_shape, outputs), name="model", **class_options)
    model.needs_input_grad = False
    model.initialize(tuple(input_shape), rng=rng if rng is not None else np.random.default_rng(), dtype=dtype)
    return model


build_model = make_model   # deprecated: the old name, kept for users
