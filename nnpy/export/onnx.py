"""``export_onnx``: a built nnpy model as an ONNX file that onnxruntime, Netron and converters read.

The graph (opset ``OPSET``, float32)::

    input (batch, *input_shape)          raw samples: images in [0, 1], features, or int64 ids
      └ normalize.sub / normalize        (x − mean) / std, the model's normalization (float inputs only)
      └ the model's layers               nodes and initializers named as in ``nnpy summary``
      └ logits (batch, *output_shape)    classification: the last layer's output
        └ probs                          Softmax over the last axis (Sigmoid of a single binary logit)
      └ predictions                      regression (instead of logits and probs): the model's output

A model whose last layer is a Softmax gives that layer's input as ``logits`` and its
output as ``probs``. The batch axis is dynamic; the other axes are the ones the model
was built for. Metadata: ``nnpy_version``, ``config_name``, ``task``, ``class_names`` and
``normalization`` (JSON).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..nn.layer import snake_case
from ..version import __version__
from ..nn.layers import Chain, Graph
from . import ExportError, require_onnx
from .graph import GraphBuilder
from .layers import export_layer

OPSET = 17
IR_VERSION = 8            # the IR of opset 17: files that runtimes of that generation read
TASKS = ("classification", "regression")


def export_onnx(model, path, *, normalization: dict | None = None, class_names=None, name: str | None = None,
                task: str = "classification") -> Path:
    """Write ``model`` (built) to ``path`` as ONNX, checked by ``onnx.checker``; return the path.

    The graph takes what ``model.predict`` takes: raw inputs, normalized inside the graph with
    the model's own ``normalization`` (a checkpoint's ``data.stats``). ``normalization``:
    ``{"mean": …, "std": …}`` (scalars or per-feature lists) for a model that has none;
    None: the model's. ``class_names``, ``name`` (the config's): stored as metadata.
    """
    onnx = require_onnx()
    proto = to_onnx(model, normalization=normalization, class_names=class_names, name=name, task=task)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def to_onnx(model, *, normalization: dict | None = None, class_names=None, name: str | None = None,
            task: str = "classification"):
    """The checked ``onnx.ModelProto`` of ``model`` (see ``export_onnx`` for the arguments)."""
    onnx = require_onnx()
    if task not in TASKS:
        raise ExportError(f"ONNX export: task must be one of {', '.join(TASKS)}, not {task!r}")
    if not model.built:
        raise ExportError("ONNX export: the model is not built yet (fit it, or call model.build(input_shape))")
    normalization = _input_normalization(model, normalization)
    g = GraphBuilder(onnx)
    integer_ids = _first_leaf(model).type_name == "Embedding"
    x = "input"
    if integer_ids:
        g.integer_tensors.add(x)
    else:
        x = _normalize(g, x, normalization)
    outputs = _body_and_outputs(model, x, g, task)
    proto = _model_proto(onnx, g, model, integer_ids, outputs, name or model.name or "nnpy model")
    onnx.helper.set_model_props(proto, _metadata(name, task, class_names, None if integer_ids else normalization))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"ONNX export: the graph fails onnx.checker: {first}") from None
    return proto


def _first_leaf(layer):
    """The first layer that touches the input (inside containers)."""
    return next(child for child in layer.walk() if not child.children())


def _input_normalization(model, given: dict | None) -> dict | None:
    """The normalization the graph applies: the model's own (``Sequential.normalization``) or,
    for a model without one, ``given``. A ``given`` one that differs from the model's own would
    normalize its inputs wrongly: an ExportError."""
    own = getattr(model, "normalization", None)
    if given is None:
        return own
    if own is None:
        return given
    same = all(np.shape(own[k]) == np.shape(given[k]) and np.allclose(own[k], given[k]) for k in ("mean", "std"))
    if not same:
        raise ExportError(f"ONNX export: normalization={given} differs from the model's own {own}, which "
                          f"predict applies and the graph applies too: leave normalization out")
    return own


def _normalize(g, x: str, stats: dict | None) -> str:
    """(x − mean) / std in float32, as nnpy normalizes a float input (numpy broadcasting)."""
    if not stats:
        return x
    mean, std = g.weight("normalize.mean", stats["mean"]), g.weight("normalize.std", stats["std"])
    return g.op("Div", [g.op("Sub", [x, mean], "normalize.sub"), std], "normalize")


def _body_and_outputs(model, x: str, g, task: str) -> list[str]:
    """Export the layers; name the graph outputs (logits and probs, or predictions)."""
    layers = model.layers if isinstance(model, Chain) else [model]
    final_softmax = task == "classification" and layers and layers[-1].type_name == "Softmax"
    if isinstance(model, Graph):     # a graph model: its nodes named as in nnpy summary
        final_softmax = False        # (a Softmax output node stays in the graph: probs of probs)
        x = export_layer(model, x, g, "")
    for layer in [] if isinstance(model, Graph) else layers[:-1] if final_softmax else layers:
        x = export_layer(layer, x, g, layer.name or snake_case(layer.type_name))
    if task == "regression":
        return [g.rename_output(x, "predictions")]
    logits = g.rename_output(x, "logits")
    if model.output_shape[-1] == 1 and not final_softmax:   # one binary logit, as nnpy.nn.metrics reads it
        return [logits, g.op("Sigmoid", [logits], "probs")]
    axis = layers[-1].axis if final_softmax else -1
    return [logits, g.op("Softmax", [logits], "probs", axis=axis)]


def _model_proto(onnx, g, model, integer_ids: bool, outputs: list[str], graph_name: str):
    helper, types = onnx.helper, onnx.TensorProto
    in_type = types.INT64 if integer_ids else types.FLOAT
    inputs = [helper.make_tensor_value_info("input", in_type, ["batch", *model.input_shape])]
    outs = [helper.make_tensor_value_info(out, types.FLOAT, ["batch", *model.output_shape]) for out in outputs]
    graph = helper.make_graph(g.nodes, graph_name, inputs, outs, g.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                             producer_name="nnpy", producer_version=__version__,
                             doc_string=f"{graph_name}, exported by nnpy")


def _metadata(name, task, class_names, normalization) -> dict:
    props = {"nnpy_version": __version__, "task": task}
    if name:
        props["config_name"] = str(name)
    if class_names:
        props["class_names"] = json.dumps([str(c) for c in class_names])
    if normalization:
        props["normalization"] = json.dumps({k: np.asarray(v).tolist() for k, v in normalization.items()})
    return props


