"""GraphBuilder: the nodes and initializers of one ONNX graph, named after nnpy's layers.

A node's output tensor carries the node's name (``conv2d_1`` makes tensor ``conv2d_1``),
and a layer's weights are initializers named like its parameters in ``nnpy summary``
and checkpoints (``residual_1.main.conv2d_1.W``), so Netron shows nnpy's names.
"""
from __future__ import annotations

import numpy as np

from . import ExportError


class GraphBuilder:
    """Collects nodes (in execution order) and initializers; every name is used once."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []
        self.integer_tensors: set[str] = set()   # tensors of int64 ids (Embedding inputs)
        self._names: set[str] = set()

    def _claim(self, name: str) -> str:
        if name in self._names:
            raise ExportError(f"ONNX export: the name '{name}' is used twice in the graph")
        self._names.add(name)
        return name

    def weight(self, name: str, array, dtype=np.float32) -> str:
        """An initializer holding ``array`` (float32 unless ``dtype`` says otherwise); its name."""
        array = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        self.initializers.append(self.onnx.numpy_helper.from_array(array, self._claim(name)))
        return name

    def ints(self, name: str, values) -> str:
        """An int64 initializer (shapes, axes)."""
        return self.weight(name, list(values), dtype=np.int64)

    def op(self, op_type: str, inputs: list[str], name: str, outputs: list[str] | None = None, **attrs):
        """Append node ``name``; return its output tensor (named ``name``), or the list ``outputs``."""
        outs = [name] if outputs is None else outputs
        for out in outs:
            if out:                                   # "" marks an optional output left out
                self._claim(out)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return name if outputs is None else outputs

    def rename_output(self, tensor: str, new: str) -> str:
        """Make the last computed ``tensor`` a graph output called ``new``: the node that
        computes it is renamed, or an Identity is added when no node does (a graph input).
        A tensor already called ``new`` (a graph node named ``logits``) stays as it is."""
        if tensor == new:
            return new
        for node in reversed(self.nodes):
            if tensor in node.output:
                node.output[list(node.output).index(tensor)] = self._claim(new)
                return new
        return self.op("Identity", [tensor], new)
