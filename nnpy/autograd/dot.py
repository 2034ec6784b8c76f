"""``to_dot(tensor)``: the graph behind a tensor as Graphviz DOT text (no dependency).

Tensors are boxes (leaves that require a gradient filled blue), operations ellipses;
edges point the way the values flow. Render it with ``dot -Tsvg graph.dot -o graph.svg``
(a graph whose backward has run without ``retain_graph`` shows its steps as released).
"""
from __future__ import annotations

from .tensor import Tensor


def dot_quote(text: str) -> str:
    """A DOT string literal: ``"…"`` with quotes and backslashes escaped, newlines as ``\\n``."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Ids:
    """Short stable node names (t0, t1, f0, …) in the order things are met."""

    def __init__(self):
        self.names: dict = {}

    def __call__(self, obj, prefix: str) -> tuple[str, bool]:
        """(name, first time seen)."""
        key = id(obj)
        if key in self.names:
            return self.names[key], False
        self.names[key] = f"{prefix}{sum(n.startswith(prefix) for n in self.names.values())}"
        return self.names[key], True


def _tensor_label(t: Tensor) -> str:
    return f"{t.name + chr(10) if t.name else ''}{tuple(t.shape)} {t.dtype}"


def to_dot(tensor: Tensor, name: str = "autograd") -> str:
    """The DOT text of every tensor and operation that ``tensor`` was computed from."""
    ids, lines = _Ids(), [f"digraph {dot_quote(name)} {{",
                          '  node [fontname="Helvetica", fontsize=11];']

    def tensor_node(t: Tensor) -> str:
        node, new = ids(t, "t")
        if new:
            leaf = ', style=filled, fillcolor="#cfe2f3"' if t.requires_grad and t.creator is None else ""
            lines.append(f"  {node} [label={dot_quote(_tensor_label(t))}, shape=box{leaf}];")
        return node

    todo, expanded = [tensor], set()
    while todo:
        out = todo.pop()
        f = out.creator
        out_node = tensor_node(out)
        if f is None or id(out) in expanded:
            continue
        expanded.add(id(out))
        f_node, _ = ids(f, "f")
        lines.append(f"  {f_node} [label={dot_quote(f.name + (' (released)' if f.released else ''))}, "
                     f"shape=ellipse];")
        lines.append(f"  {f_node} -> {out_node};")
        for x in () if f.released else f.inputs:
            lines.append(f"  {tensor_node(x)} -> {f_node};")
            todo.append(x)
    return "\n".join(lines + ["}"]) + "\n"
