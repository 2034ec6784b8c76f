"""``nnpy graph``: a model's layers as a Graphviz graph, rendered by ``dot`` when it is installed.

Nodes are layers (name, type, output shape); a Residual block is drawn as a cluster
whose main path and shortcut branch from its input and meet at an addition; a graph model's
nodes are drawn with an edge from each node they read. The DOT
text needs nothing; turning it into SVG/PNG/PDF needs Graphviz's ``dot`` program.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..autograd.dot import dot_quote
from ..errors import NnpyError
from ..nn.layers import Chain, Graph, Residual, TestTimeAugment
from ..nn.layers.containers import INPUT


class _Drawing:
    """Collects DOT lines while walking a model; ``node`` ids are the layers' dotted paths."""

    def __init__(self):
        self.lines: list[str] = []
        self.edges: list[str] = []   # written after all nodes: an edge inside a cluster would pull
                                     # its outside end into the cluster

    def node(self, node_id: str, label: str, indent: str, **attrs) -> str:
        extra = "".join(f", {k}={dot_quote(v)}" for k, v in attrs.items())
        self.lines.append(f"{indent}{dot_quote(node_id)} [label={dot_quote(label)}{extra}];")
        return node_id

    def edge(self, a: str, b: str, **attrs) -> None:
        extra = " [" + ", ".join(f"{k}={dot_quote(v)}" for k, v in attrs.items()) + "]" if attrs else ""
        self.edges.append(f"  {dot_quote(a)} -> {dot_quote(b)}{extra};")

    def layer(self, layer, path: str, source, indent: str) -> str:
        """Draw ``layer`` fed by node ``source`` (a list of them for a merge layer); return the
        node its output leaves from."""
        if isinstance(layer, Residual):
            return self.residual(layer, path, source, indent)
        if isinstance(layer, Graph):
            return self.graph(layer, path, source, indent)
        if isinstance(layer, TestTimeAugment):
            return self.test_time_augment(layer, path, source, indent)
        if isinstance(layer, Chain):
            for child in layer.layers:
                source = self.layer(child, f"{path}.{child.name}", source, indent)
            return source
        label = f"{layer.name}\n{layer.type_name}\n{tuple(layer.output_shape)}"
        if layer.children():
            label += f"\n({len(list(layer.walk())) - 1} sub-layers)"
        node = self.node(path, label, indent)
        for one in source if isinstance(source, list) else [source]:
            self.edge(one, node)
        return node

    def graph(self, graph, path: str, source: str, indent: str) -> str:
        """Each node of ``graph`` fed by the nodes it reads (``path`` "": the model itself)."""
        ends = {INPUT: source}
        for child in graph.layers:
            sources = [ends[name] for name in graph.inputs_of(child)]
            ends[child.name] = self.layer(child, f"{path}.{child.name}" if path else child.name,
                                          sources if child.many_inputs else sources[0], indent)
        return ends[graph.output]

    def test_time_augment(self, block, path: str, source: str, indent: str) -> str:
        """The layers inside a cluster that says evaluation averages them over views of x."""
        inner = indent + "  "
        self.lines.append(f"{indent}subgraph {dot_quote('cluster_' + path)} {{")
        views = "x" + (f", shifted ±{block.shift} px" if block.shift else "")
        if block.hflip:
            views += ", each also mirrored" if block.shift else " and mirrored"
        label = f"{block.name} (TestTimeAugment: evaluation averages over {views})"
        self.lines.append(f"{inner}label={dot_quote(label)}; style=dashed; color=gray;")
        for child in block.layers:
            source = self.layer(child, f"{path}.{child.name}", source, inner)
        self.lines.append(f"{indent}}}")
        return source

    def residual(self, block, path: str, source: str, indent: str) -> str:
        inner = indent + "  "
        self.lines.append(f"{indent}subgraph {dot_quote('cluster_' + path)} {{")
        self.lines.append(f"{inner}label={dot_quote(f'{block.name} (Residual)')}; style=rounded; color=gray;")
        main_end = self.layer(block.main, f"{path}.main", source, inner)
        if block.shortcut is None:
            short_end, style = source, {"style": "dashed", "label": "identity"}
        else:
            short_end, style = self.layer(block.shortcut, f"{path}.shortcut", source, inner), {"style": "dashed"}
        add = self.node(f"{path}.add", f"add\n{tuple(block.output_shape)}", inner, shape="ellipse")
        self.edge(main_end, add)
        self.edge(short_end, add, **style)
        end = add if block.activation is None else self.layer(block.activation, f"{path}.act", add, inner)
        self.lines.append(f"{indent}}}")
        return end


def model_to_dot(model, name: str = "model") -> str:
    """DOT text of a built model (a Chain, e.g. nnpy.Sequential, or a Graph, nnpy.Model):
    input → layers → output."""
    drawing = _Drawing()
    drawing.lines += [f"digraph {dot_quote(name)} {{", "  rankdir=TB;",
                      '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
                      '  edge [fontname="Helvetica", fontsize=9];']
    source = drawing.node("input", f"input\n{tuple(model.input_shape)}", "  ", shape="oval")
    if isinstance(model, Graph):
        drawing.graph(model, "", source, "  ")
    else:
        for layer in model.children():
            source = drawing.layer(layer, layer.name, source, "  ")
    drawing.lines += drawing.edges + ["}"]
    return "\n".join(drawing.lines) + "\n"


def write_graph(dot_text: str, out) -> tuple[Path, bool]:
    """Write ``dot_text`` rendered in the format of ``out``'s extension (svg, png, pdf, …) with
    Graphviz's ``dot``; a ``.dot``/``.gv`` name, or no ``dot`` on PATH, writes the DOT text
    (to ``out`` with the extension ``.dot``). Returns (the file written, whether it was rendered)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = out.suffix.lstrip(".").lower()
    if fmt in ("dot", "gv"):
        out.write_text(dot_text)
        return out, False
    if not fmt:
        raise NnpyError(f"--out {out}: give a file name with an extension (.svg, .png, .pdf or .dot)")
    program = shutil.which("dot")
    if program is None:
        dot_file = out.with_suffix(".dot")
        dot_file.write_text(dot_text)
        return dot_file, False
    done = subprocess.run([program, f"-T{fmt}", "-o", str(out)], input=dot_text, text=True,
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise NnpyError(f"--out {out}: Graphviz's dot could not write '{fmt}': {reason}")
    return out, True
