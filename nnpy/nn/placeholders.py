"""Keras' functional API: describe a graph model by calling layers on placeholders.

    x = nnpy.Input((1, 28, 28))
    a = Conv2D(8, 3, padding=1)(x)
    b = Conv2D(8, 5, padding=2)(x)
    y = Dense(10)(Flatten()(Concatenate()([a, b])))
    model = nnpy.Model(x, y)

Calling a layer on a ``Placeholder`` (or a list of them, for a merge layer) computes nothing: it
records the layer and its inputs. ``graph_nodes`` turns the recorded calls into the nodes of a
``Graph``; a layer without a name gets one (``conv2d_1``, ``conv2d_2``, …). (A model *symbol* is
something else: a named recipe of layer specs, ``nnpy.symbols``.)
"""
from __future__ import annotations

from ..errors import ConfigError


class Placeholder:
    """The result of a layer (or the model's input) while a graph is being described.

    ``layer``: the layer that gives it (None for an ``Input``); ``inputs``: the Placeholders that
    layer takes; ``shape``: the sample shape of an ``Input`` (no batch axis)."""

    def __init__(self, layer=None, inputs=(), shape=None):
        self.layer, self.inputs, self.shape = layer, list(inputs), shape

    def __repr__(self) -> str:
        if self.layer is None:
            return f"Input(shape={self.shape})"
        return f"Placeholder({self.layer.name or self.layer.type_name})"


def Input(shape) -> Placeholder:  # noqa: N802  (Keras' name)
    """The model's input: samples of ``shape`` (no batch axis), e.g. ``nnpy.Input((1, 28, 28))``."""
    return Placeholder(shape=tuple(int(d) for d in shape))


def is_placeholder(x) -> bool:
    """Whether a layer is being called on Placeholders (describing a graph), not on arrays."""
    if isinstance(x, (list, tuple)):
        return bool(x) and all(isinstance(item, Placeholder) for item in x)
    return isinstance(x, Placeholder)


def record_call(layer, x) -> Placeholder:
    """``layer(x)`` on Placeholders: a new Placeholder recording the call."""
    return Placeholder(layer, x if isinstance(x, (list, tuple)) else [x])


def graph_nodes(inputs: Placeholder, outputs: Placeholder, name_layers) -> tuple[dict, str]:
    """``({node: (layer, input names)}, output node)`` of the calls that lead from ``inputs`` to
    ``outputs``, in the order they were made. ``name_layers(layers)`` names the unnamed layers."""
    if not isinstance(inputs, Placeholder) or inputs.layer is not None:
        raise ConfigError("Model(inputs, outputs): inputs must be the nnpy.Input(shape) the graph starts from")
    if not isinstance(outputs, Placeholder) or outputs.layer is None:
        raise ConfigError("Model(inputs, outputs): outputs must be the result of a layer called on the input")
    calls, seen = [], set()

    def visit(placeholder: Placeholder) -> None:
        if id(placeholder) in seen:
            return
        seen.add(id(placeholder))
        if placeholder.layer is None:
            if placeholder is not inputs:
                raise ConfigError(f"Model(inputs, outputs): the graph reaches another {placeholder!r}; "
                                  f"a model has one input")
            return
        for source in placeholder.inputs:
            visit(source)
        calls.append(placeholder)

    visit(outputs)
    layers = [call.layer for call in calls]
    if len({id(layer) for layer in layers}) < len(layers):
        twice = next(layer for layer in layers if sum(other is layer for other in layers) > 1)
        raise ConfigError(f"Model(inputs, outputs): layer {twice!r} is called twice; a graph node is one call "
                          f"(nnpy does not share weights between nodes): make a second layer")
    name_layers(layers)
    names = {id(inputs): "input", **{id(call): call.layer.name for call in calls}}
    nodes = {call.layer.name: (call.layer, [names[id(s)] for s in call.inputs]) for call in calls}
    return nodes, outputs.layer.name
