"""to_dot: the graph behind a tensor as DOT text."""
import re
import shutil
import subprocess

import numpy as np
import pytest

import nnpy.autograd as ag
from nnpy.autograd import Tensor, to_dot


def small_graph():
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    W = Tensor(np.ones((3, 4)), requires_grad=True, name="W")
    h = ag.tanh(x @ W)
    return (h * h + h).sum()


def test_every_tensor_and_operation_once_with_edges_the_way_values_flow():
    text = to_dot(small_graph())
    assert text.startswith('digraph "autograd" {') and text.rstrip().endswith("}")
    ops = re.findall(r'(f\d+) \[label="(\w+)", shape=ellipse\]', text)
    assert sorted(name for _, name in ops) == ["add", "matmul", "mul", "sum", "tanh"]
    tensors = re.findall(r"(t\d+) \[label=", text)
    assert len(tensors) == len(set(tensors)) == 7            # x, W, x@W, tanh, h*h, sum input, output
    edges = re.findall(r"(\w+) -> (\w+);", text)
    assert len(edges) == len(set(edges)) + 1                 # only h → mul appears twice (h * h)
    assert text.count('fillcolor="#cfe2f3"') == 2            # the two leaves that require a gradient
    assert 'label="x\\n(2, 3) float64"' in text
    op_of = dict(ops)
    mul = next(f for f, name in op_of.items() if name == "mul")
    tanh = next(f for f, name in op_of.items() if name == "tanh")
    h = next(b for a, b in edges if a == tanh)
    assert edges.count((h, mul)) == 2


def test_a_released_graph_says_so():
    y = small_graph()
    y.backward()
    assert '"sum (released)"' in to_dot(y)
    assert to_dot(Tensor([1.0])).count("->") == 0


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_accepts_it():
    done = subprocess.run(["dot", "-Tsvg"], input=to_dot(small_graph()), text=True, capture_output=True)
    assert done.returncode == 0 and "<svg" in done.stdout, done.stderr
