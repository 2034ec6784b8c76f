"""Graph models from YAML through the command line: train on a few hundred MNIST images, the
summary's inputs column, the DOT drawing, checkpoint round trip, exact resume, ONNX export,
and one line (exit 2) naming the node and its config key for each kind of mistake."""
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.io.checkpoint import load_checkpoint

TWO_BRANCHES = textwrap.dedent("""\
    name: two-branch
    seed: 3
    model:
      nodes:
        narrow: {type: Conv2D, filters: 4, kernel_size: 3, padding: 1, inputs: input}
        wide:   {type: Conv2D, filters: 4, kernel_size: 5, padding: 2, inputs: input}
        both:   {type: Concatenate, inputs: [narrow, wide]}
        act:    {type: ReLU}
        pool:   {type: MaxPool2D, pool_size: 4}
        flat:   {type: Flatten}
        logits: {type: Dense, units: 10}
      output: logits
    data:
      dataset: mnist
      limit: 300
      val_split: 60
      batch_size: 50
    optimizer: {type: adam, lr: 0.01}
    train:
      epochs: 1
    """)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "two.yaml"
    path.write_text(TWO_BRANCHES)
    return path


def test_a_graph_model_trains_from_yaml_and_round_trips(config, tmp_path):
    r = run("train", "--config", config)
    assert r.exit_code == 0, r.output
    ckpt = tmp_path / "checkpoints" / "two-branch" / "last.json"
    weights = load_checkpoint(ckpt)["model"]
    assert sorted(weights) == ["logits.W", "logits.b", "narrow.W", "narrow.b", "wide.W", "wide.b"]
    model = nnpy.load(ckpt)
    assert isinstance(model, nnpy.Model) and model.model_section()["output"] == "logits"
    for key, value in weights.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    x = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
    again = nnpy.load(ckpt)
    np.testing.assert_array_equal(model.predict(x), again.predict(x))
    r = run("val", "--ckpt", ckpt, "--json")
    assert r.exit_code == 0 and '"accuracy"' in r.output, r.output


def test_resuming_a_graph_model_is_exact(config):
    r = run("train", "--config", config, "--set", "train.epochs=2", "--set", "checkpoint.dir=straight")
    assert r.exit_code == 0, r.output
    r = run("train", "--config", config, "--set", "checkpoint.dir=resumed")
    assert r.exit_code == 0, r.output
    r = run("train", "--config", config, "--set", "train.epochs=2", "--set", "checkpoint.dir=resumed",
            "--resume", "resumed/last.json", "--allow-change", "train.epochs")
    assert r.exit_code == 0, r.output
    straight, resumed = load_checkpoint("straight/last.json")["model"], load_checkpoint("resumed/last.json")["model"]
    assert straight.keys() == resumed.keys()
    for key in straight:
        np.testing.assert_array_equal(straight[key], resumed[key], err_msg=key)


def test_summary_lists_each_nodes_inputs_and_the_drawing_has_every_edge(config, tmp_path):
    r = run("summary", "--config", config)
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if line.startswith("layer"))
    assert header.split() == ["layer", "type", "output", "shape", "inputs", "params", "FLOPs"]
    both = next(line for line in r.output.splitlines() if line.startswith("both"))
    assert "Concatenate" in both and "(8, 28, 28)" in both and "narrow, wide" in both
    r = run("graph", config, "--out", tmp_path / "two.dot")
    assert r.exit_code == 0, r.output
    dot = (tmp_path / "two.dot").read_text()
    for a, b in (("input", "narrow"), ("input", "wide"), ("narrow", "both"), ("wide", "both"), ("flat", "logits")):
        assert f'"{a}" -> "{b}";' in dot


def test_a_graph_model_exports_to_onnx(config, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    assert run("train", "--config", config).exit_code == 0
    ckpt = tmp_path / "checkpoints" / "two-branch" / "last.json"
    r = run("export", ckpt, tmp_path / "two.onnx")
    assert r.exit_code == 0, r.output
    x = np.random.default_rng(0).random((5, 1, 28, 28)).astype(np.float32)
    logits = ort.InferenceSession(str(tmp_path / "two.onnx")).run(["logits"], {"input": x})[0]
    np.testing.assert_allclose(logits, nnpy.load(ckpt).predict(x), rtol=1e-4, atol=1e-4)


MISTAKES = [  # (--set overrides, the config key the line names, words of the message)
    (["model.nodes.both.inputs=[narrow, wdie]"], "model.nodes.both.inputs",
     "node 'both': input 'wdie' is not a node"),
    (["model.nodes.narrow.inputs=logits"], "model.nodes.narrow.inputs",
     "is in a cycle: narrow -> both -> act -> pool -> flat -> logits -> narrow"),
    (["model.nodes.both.inputs=[narrow, input]", "model.nodes.wide.inputs=input"], "model.nodes.wide",
     "node 'wide' is not used: the output 'logits' does not depend on it"),
    (["model.nodes.wide.stride=2"], "model.nodes.both",
     "layer 'both' (Concatenate) expects inputs that agree in every axis but axis 0, but its input shapes "
     "are (4, 28, 28), (4, 14, 14)"),
    (["model.output=logit"], "model.output", "output 'logit' is not a node"),
    (["model.nodes.flat.inputs=[pool, act]"], "model.nodes.flat.inputs", "node 'flat' (Flatten) takes one input"),
    (["model.nodes.wide.filterz=3"], "model.nodes.wide.filterz", "filterz"),
    (["model.nodes.logits.units=7"], "model.nodes.logits", "the model gives 7 values per sample"),
]


@pytest.mark.parametrize("overrides, key, words", MISTAKES)
def test_each_graph_mistake_is_one_line_with_exit_2(config, overrides, key, words):
    sets = [arg for o in overrides for arg in ("--set", o)]
    for command in ("summary", "train"):
        r = run(command, "--config", config, *sets)
        line = r.stderr.strip()
        assert r.exit_code == 2 and len(line.splitlines()) == 1, (r.exit_code, r.output)
        assert f"{key}:" in line and words in line, line


def test_nodes_over_a_base_symbol_say_where_the_symbol_came_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text("model: {symbol: mlp, hidden: [8]}\ndata: {dataset: mnist}\n")
    (tmp_path / "child.yaml").write_text("_base_: base.yaml\nmodel:\n  nodes: {d: {type: Dense, units: 10, "
                                         "inputs: input}}\n  output: d\n")
    r = run("summary", "--config", tmp_path / "child.yaml")
    line = r.stderr.strip()
    assert r.exit_code == 2 and len(line.splitlines()) == 1, r.output
    assert "model: 'nodes' cannot be combined with 'hidden', 'symbol' (from " in line
    assert "base.yaml: a model section merges with its base's; put '_delete_: true' in it" in line
    (tmp_path / "child.yaml").write_text("_base_: base.yaml\nmodel:\n  _delete_: true\n  nodes: {f: {type: Flatten, "
                                         "inputs: input}, d: {type: Dense, units: 10}}\n  output: d\n")
    r = run("summary", "--config", tmp_path / "child.yaml")
    assert r.exit_code == 0 and "inputs" in r.output, r.output
