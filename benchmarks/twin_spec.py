"""A built nnpy model as plain data, so that its PyTorch twin is built without importing nnpy.

    write(model, directory, input=x, output=y)   # the nnpy side: model.json + arrays.npz
    layers, extras = read(directory)             # the torch side: stand-ins torch_twin() takes

``bench_train.py`` times each library in a process of its own; the PyTorch process must not
run nnpy's numpy compute (OpenBLAS's threads would compete with PyTorch's, see the README), so
an nnpy process writes the model here once and the PyTorch process reads it back.

model.json is the layer tree: each layer as ``{"type_name", "name", <the attributes the twin
reads>, "params": {key: array name}, "buffers": {key: array name}}``; a Chain adds ``"layers"``,
a Residual ``"main"``, ``"shortcut"`` and ``"activation"`` (each a layer or null). arrays.npz
holds the weights under those array names, and any ``extras`` (an inference batch and nnpy's
outputs for it) under their own names. Only numpy is imported here.
"""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np

#: The layer attributes torch_twin.py reads (each kept only where the layer has it).
ATTRIBUTES = ("stride", "pads", "use_bias", "pool_size", "rate", "epsilon", "momentum", "units",
              "return_sequences", "input_shape")
#: The children of the containers, by the attribute that holds them.
CHILDREN = {"Chain": ("layers",), "Residual": ("main", "shortcut", "activation")}
EXTRA = "extra/"                  # the prefix of the extra arrays' names in arrays.npz


def _plain(value):
    """``value`` (an attribute: number, bool, None or nested tuples of them) as JSON data."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _tuples(value):
    """JSON lists back into the tuples nnpy's attributes are (``pads``, ``stride``...)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def describe(layer, arrays: dict, path: str = "model") -> dict:
    """The JSON tree of ``layer`` (a built nnpy layer or model); its weights go into ``arrays``
    under names that start with ``path``."""
    if layer is None:
        return None
    node = {"type_name": layer.type_name, "name": layer.name}
    node.update({attr: _plain(getattr(layer, attr)) for attr in ATTRIBUTES if hasattr(layer, attr)})
    children = CHILDREN.get(layer.type_name)
    if children == ("layers",):
        node["layers"] = [describe(child, arrays, f"{path}/{child.name}") for child in layer.layers]
    elif children:
        node.update({attr: describe(getattr(layer, attr), arrays, f"{path}/{attr}") for attr in children})
    else:
        for group in ("params", "buffers"):
            node[group] = {}
            for key, value in getattr(layer, group).items():
                arrays[f"{path}/{group}/{key}"] = value
                node[group][key] = f"{path}/{group}/{key}"
    return node


def write(model, directory: str, **extras) -> None:
    """Save ``model``'s tree and weights in ``directory``, with ``extras`` (name -> array)."""
    arrays = {}
    tree = describe(model, arrays)
    arrays.update({EXTRA + name: value for name, value in extras.items()})
    np.savez(os.path.join(directory, "arrays.npz"), **arrays)
    with open(os.path.join(directory, "model.json"), "w") as f:
        json.dump(tree, f)


def _stand_in(node, arrays):
    """A layer stand-in (attribute access, as on the nnpy layer) for one node of the tree."""
    if node is None:
        return None
    fields = {k: _tuples(v) for k, v in node.items() if k not in ("params", "buffers", *CHILDREN.get(node["type_name"], ()))}
    for group in ("params", "buffers"):
        if group in node:
            fields[group] = {key: arrays[name] for key, name in node[group].items()}
    for attr in CHILDREN.get(node["type_name"], ()):
        child = node[attr]
        fields[attr] = [_stand_in(c, arrays) for c in child] if attr == "layers" else _stand_in(child, arrays)
    return SimpleNamespace(**fields)


def read(directory: str):
    """(the model's stand-in tree, the extras as name -> array) written by ``write``."""
    with open(os.path.join(directory, "model.json")) as f:
        tree = json.load(f)
    with np.load(os.path.join(directory, "arrays.npz")) as npz:
        arrays = {name: npz[name] for name in npz.files}
    extras = {name[len(EXTRA):]: value for name, value in arrays.items() if name.startswith(EXTRA)}
    return _stand_in(tree, arrays), extras
