"""Graph models and merge layers: the math (float64 gradient checks, PyTorch's cat/add/mul), the
Graph container (topological order, summed gradients, one line per mistake), Keras' functional
API (``nnpy.Input``, ``nnpy.Model``) and the dict of nodes giving one model."""
import numpy as np
import pytest

import nnpy
from nnpy.errors import ConfigError, ShapeError
from nnpy.layers import Add, Concatenate, Conv2D, Dense, Flatten, Graph, Multiply, ReLU, Tanh
from tests.prerequisites import require_module

MERGES = [({"type": "Concatenate"}, [(2, 3, 3), (4, 3, 3)], (6, 3, 3)),           # images: channels
          ({"type": "Concatenate"}, [(5, 2), (5, 3), (5, 1)], (5, 6)),             # sequences: features
          ({"type": "Concatenate", "axis": 1}, [(2, 3, 4), (2, 1, 4)], (2, 4, 4)),
          ({"type": "Add"}, [(3, 4), (3, 4), (3, 4)], (3, 4)),
          ({"type": "Multiply"}, [(2, 3, 3), (2, 3, 3), (2, 3, 3)], (2, 3, 3))]


@pytest.mark.parametrize("spec, shapes, out", MERGES)
def test_merge_layers_pass_the_float64_gradient_check(spec, shapes, out):
    layer = nnpy.make_layer(spec)
    assert layer.initialize(shapes) == out
    result = nnpy.gradcheck(spec, shapes)
    assert result.passed and set(result.errors) == {f"input.{i}" for i in range(len(shapes))}, result


@pytest.mark.parametrize("spec, shapes, out", MERGES)
def test_merge_layers_match_torch(spec, shapes, out):
    torch = require_module("torch")
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(3, *s)) for s in shapes]
    g = rng.normal(size=(3, *out))
    layer = nnpy.make_layer(spec)
    layer.initialize(shapes, dtype=np.float64)
    y = layer.forward(xs)
    grads = layer.backward(g)
    txs = [torch.tensor(x, requires_grad=True) for x in xs]
    if spec["type"] == "Concatenate":
        ty = torch.cat(txs, dim=layer.sample_axis + 1)
    else:
        ty = txs[0]
        for t in txs[1:]:
            ty = torch.add(ty, t) if spec["type"] == "Add" else torch.mul(ty, t)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(grads, txs):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_merge_keeps_float32():
    layer = Concatenate()
    layer.initialize([(2, 3, 3), (1, 3, 3)])
    y = layer.forward([np.ones((4, 2, 3, 3), np.float32), np.zeros((4, 1, 3, 3), np.float32)])
    assert y.dtype == np.float32 and y.shape == (4, 3, 3, 3) and y[:, 2].sum() == 0


def _nodes():
    """A graph whose node 'a' is read by three nodes (its gradient is a sum of three)."""
    return {"a": {"type": "Dense", "units": 4, "inputs": "input"},
            "t": {"type": "Tanh"},
            "b": {"type": "Dense", "units": 4, "inputs": "input"},
            "sum": {"type": "Add", "inputs": ["t", "b", "a"]},
            "gate": {"type": "Multiply", "inputs": ["sum", "a"]},
            "out": {"type": "Dense", "units": 2}}


def test_graph_gradcheck_sums_the_gradients_of_a_node_read_several_times():
    spec = {"type": "Graph", "nodes": _nodes(), "output": "out"}
    result = nnpy.gradcheck(spec, (3,))
    assert result.passed and {"input", "a.W", "b.W", "out.W"} <= set(result.errors), result
    first = nnpy.gradcheck(spec, (3,), needs_input_grad=False)
    assert first.passed and "input" not in first.errors


def test_graph_runs_nodes_in_topological_order_and_names_parameters_by_node():
    nodes = _nodes()
    nodes.pop("out")
    listed_late = {"out": {"type": "Dense", "units": 2, "inputs": "gate"}, **nodes}  # output listed first
    graph = Graph(listed_late, output="out")
    assert [layer.name for layer in graph.layers] == ["a", "t", "b", "sum", "gate", "out"]
    graph.initialize((3,), rng=np.random.default_rng(0))
    assert sorted(graph.named_parameters()) == ["a.W", "a.b", "b.W", "b.b", "out.W", "out.b"]
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    p = {k: v for k, v in graph.named_parameters().items()}
    a = x @ p["a.W"] + p["a.b"]
    expected = ((np.tanh(a) + (x @ p["b.W"] + p["b.b"]) + a) * a) @ p["out.W"] + p["out.b"]
    np.testing.assert_allclose(graph.forward(x), expected, rtol=1e-5, atol=1e-6)
    clone = nnpy.make_layer(graph.get_config())     # the config rebuilds the same wiring
    clone.initialize((3,), rng=np.random.default_rng(0))
    assert clone.get_config() == graph.get_config()


MISTAKES = [  # (nodes, output, the words of the one line, the node it names)
    ({"a": {"type": "Dense", "units": 4, "inputs": "imput"}}, "a",
     "node 'a': input 'imput' is not a node (nodes: a; 'input' is the model's input)", "a"),
    ({"a": {"type": "Dense", "units": 4, "inputs": "c"}, "b": {"type": "ReLU"}, "c": {"type": "ReLU"}}, "c",
     "node 'a' is in a cycle: a -> b -> c -> a", "a"),
    ({"a": {"type": "Dense", "units": 4}, "spare": {"type": "ReLU", "inputs": "input"},
      "out": {"type": "ReLU", "inputs": "a"}}, "out",
     "node 'spare' is not used: the output 'out' does not depend on it", "spare"),
    ({"a": {"type": "Dense", "units": 4}}, "logits", "output 'logits' is not a node (nodes: a)", None),
    ({"a": {"type": "Dense", "units": 4}, "b": {"type": "Dense", "units": 2},
      "both": {"type": "Add", "inputs": ["a", "b"]}}, "both",
     "layer 'both' (Add) expects inputs of one shape, but its input shapes are (4,), (2,)", "both"),
    ({"a": {"type": "ReLU"}, "both": {"type": "Concatenate", "inputs": ["a", "input"], "axis": 2}}, "both",
     "layer 'both' (Concatenate) expects an axis among the 1 sample axes (axis=2)", "both"),
    ({"a": {"type": "Dense", "units": 4}, "d": {"type": "Dense", "units": 2, "inputs": ["a", "input"]}}, "d",
     "node 'd' (Dense) takes one input, not 2", "d"),
    ({"a": {"type": "Dense", "units": 4}, "m": {"type": "Add"}}, "m",
     "node 'm' (Add) merges a list of at least 2 inputs, not ['a']", "m"),
    ({"input": {"type": "Dense", "units": 4}}, "input", "node name 'input': choose another", "input"),
]


@pytest.mark.parametrize("nodes, output, words, node", MISTAKES)
def test_each_graph_mistake_is_one_line_naming_the_node(nodes, output, words, node):
    with pytest.raises((ConfigError, ShapeError)) as info:
        Graph(nodes, output=output).initialize((3,))
    message = str(info.value)
    assert words in message and "\n" not in message, message
    assert getattr(info.value, "node", None) == node


def _functional_model():
    x = nnpy.Input((1, 6, 6))
    narrow = Conv2D(3, 3, padding=1, name="narrow")(x)
    wide = Conv2D(2, 5, padding=2, name="wide")(x)
    joined = Concatenate(name="both")([narrow, wide])
    y = Dense(3, name="logits")(Flatten()(ReLU()(joined)))
    return nnpy.Model(x, y, seed=7)


def test_the_functional_api_and_the_dict_of_nodes_give_one_model():
    model = _functional_model()
    assert model.built and model.input_shape == (1, 6, 6) and model.output_shape == (3,)
    section = model.model_section()
    assert section["output"] == "logits"
    assert section["nodes"]["both"] == {"type": "Concatenate", "inputs": ["narrow", "wide"]}
    assert section["nodes"]["relu_1"]["inputs"] == "both" and section["nodes"]["narrow"]["inputs"] == "input"
    same = nnpy.Model(**section, seed=7)
    same.build((1, 6, 6))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(same.state_dict()[key], value)
    x = np.random.default_rng(0).random((4, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), same.predict(x))


def test_a_functional_model_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 6, 6)).astype(np.float32)
    y = (x[:, 0, :3].mean(axis=(1, 2)) > x[:, 0, 3:].mean(axis=(1, 2))).astype(np.int64)
    model = _functional_model()
    model.compile(optimizer={"type": "adam", "lr": 0.01}, loss="cross_entropy")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    model.save(tmp_path / "graph.json")
    loaded = nnpy.load(tmp_path / "graph.json")
    assert isinstance(loaded, nnpy.Model) and sorted(loaded.state_dict()) == sorted(model.state_dict())
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_functional_api_mistakes():
    x = nnpy.Input((3,))
    dense = Dense(2)
    with pytest.raises(ConfigError, match="is called twice"):
        nnpy.Model(x, dense(dense(x)))
    with pytest.raises(ConfigError, match="reaches another Input"):
        nnpy.Model(x, Add()([Dense(2)(x), Dense(2)(nnpy.Input((3,)))]))
    assert isinstance(Tanh()(x), nnpy.nn.placeholders.Placeholder)   # a call on a placeholder records
    assert Tanh()(np.zeros((1, 3))).shape == (1, 3)            # a call on an array computes


def test_graph_nodes_with_no_parameter_below_them_compute_no_input_gradient():
    """As in a Chain: the Dense reading a Flatten of the input gives no dL/dx, the Flatten then gets
    no gradient and is skipped, and the parameters' gradients are those with dx computed."""
    nodes = {"flat": {"type": "Flatten", "inputs": "input"}, "d": {"type": "Dense", "units": 4},
             "r": {"type": "ReLU"}, "out": {"type": "Dense", "units": 2}}
    graph = Graph(nodes, output="out")
    graph.needs_input_grad = False                      # a model's first layer: nobody wants dL/d(input)
    graph.initialize((2, 3), rng=np.random.default_rng(0))
    assert [layer.needs_input_grad for layer in graph.layers] == [False, False, True, True]
    x = np.random.default_rng(1).normal(size=(5, 2, 3)).astype(np.float32)
    g = np.random.default_rng(2).normal(size=(5, 2)).astype(np.float32)
    grads = []
    for dense_gives_dx in (False, True):
        graph.nodes["d"].needs_input_grad = dense_gives_dx
        graph.forward(x, training=True)
        dx = graph.backward(g)
        assert (dx is None) == (not dense_gives_dx)
        grads.append({k: v.copy() for k, v in graph.named_gradients().items()})
    for k in grads[0]:
        np.testing.assert_array_equal(grads[0][k], grads[1][k])
    graph.needs_input_grad = True                       # a caller that wants dL/dx: every node gives it
    graph.initialize((2, 3), rng=np.random.default_rng(0))
    assert all(layer.needs_input_grad for layer in graph.layers)
