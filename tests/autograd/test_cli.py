"""Through the command line: a model with forward-only layers trains, resumes exactly and is
evaluated; ``nnpy graph`` draws a config's model with and without Graphviz."""
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.io.checkpoint import load_checkpoint
from tests.plugins import load_plugin

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "examples" / "layernorm-mlp.yaml"
SMALL = ["--set", "data.limit=600", "--set", "data.val_split=100", "--set", "data.batch_size=50",
         "--set", "scheduler=null"]

load_plugin("plugins/layernorm.py")   # what `--plugin examples/plugins/layernorm.py` does


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_forward_only_layers_train_resume_exactly_and_evaluate(workdir):
    r = run("train", "--config", CONFIG, *SMALL, "--set", "train.epochs=2", "--set", "checkpoint.dir=straight")
    assert r.exit_code == 0, r.output
    assert "epoch 2/2" in r.output
    r = run("train", "--config", CONFIG, *SMALL, "--set", "train.epochs=1", "--set", "checkpoint.dir=resumed")
    assert r.exit_code == 0, r.output
    r = run("train", "--config", CONFIG, *SMALL, "--set", "train.epochs=2", "--set", "checkpoint.dir=resumed",
            "--resume", "resumed/last.json", "--allow-change", "train.epochs")
    assert r.exit_code == 0, r.output
    straight, resumed = load_checkpoint("straight/last.json"), load_checkpoint("resumed/last.json")
    assert any(k.startswith("pluginlayernorm_1.") for k in straight["model"])
    for key, value in straight["model"].items():
        assert np.array_equal(value, resumed["model"][key]), key
    first = load_checkpoint("resumed/last.json")
    assert first["model"]["pluginlayernorm_1.gamma"].dtype == np.float32
    r = run("val", "--ckpt", "straight/best.json", "--split", "val")
    assert r.exit_code == 0 and "accuracy" in r.output, r.output
    accuracy = float(r.output.split("accuracy ")[1].split("%")[0])
    assert accuracy > 50, r.output


def test_the_plugin_option_trains_forward_only_layers_in_a_fresh_process(tmp_path):
    """As a user runs it: a new process, the layers known only through --plugin."""
    import subprocess
    import sys

    plugin = REPO / "examples" / "plugins" / "layernorm.py"
    args = [sys.executable, "-m", "nnpy.cli", "train", "--config", str(CONFIG), "--plugin", str(plugin),
            *SMALL, "--set", "train.epochs=1"]
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "PluginLayerNorm" in r.stdout and "Swish" in r.stdout and "epoch 1/1" in r.stdout


def test_summary_and_gradcheck_commands_see_the_plugin_layers():
    r = run("summary", "--config", CONFIG)
    assert r.exit_code == 0 and "PluginLayerNorm" in r.output and "Swish" in r.output, r.output
    r = run("gradcheck", "--config", CONFIG)
    assert r.exit_code == 0, r.output
    assert "layernorm_1" in r.output and "10/10 layers pass" in r.output


# ---- nnpy graph -----------------------------------------------------------------------------------
RESNET = ["--config", REPO / "configs" / "resnet-fashion.yaml", "--set", "model.widths=[8, 16]",
          "--set", "model.blocks=[1, 1]"]


def fake_dot(folder: Path) -> Path:
    """A `dot` that records its arguments and writes its input to the -o file."""
    script = folder / "dot"
    script.write_text(f'#!/bin/sh\necho "$@" > "{folder}/args"\n'
                      'while [ "$1" != "-o" ]; do shift; done\ncat > "$2"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_graph_without_graphviz_writes_dot_text(workdir, monkeypatch):
    empty = workdir / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    r = run("graph", *RESNET, "--out", "resnet.svg")
    assert r.exit_code == 0, r.output
    assert len(r.output.splitlines()) == 1 and "not installed" in r.output and "resnet.dot" in r.output
    assert not Path("resnet.svg").exists()
    text = Path("resnet.dot").read_text()
    assert text.startswith('digraph "model"') and text.rstrip().endswith("}")
    assert 'subgraph "cluster_residual_1"' in text and 'subgraph "cluster_residual_2"' in text
    assert '"relu_1" -> "residual_1.add" [style="dashed", label="identity"]' in text   # identity branch
    assert '"residual_2.shortcut.conv2d_1"' in text                                     # projection branch
    assert "GlobalAvgPool2D\\n(16,)" in text and "Dense\\n(10,)" in text


def test_graph_renders_with_dot_in_the_format_of_the_extension(workdir, monkeypatch):
    tools = workdir / "tools"
    tools.mkdir()
    fake_dot(tools)
    monkeypatch.setenv("PATH", os.pathsep.join([str(tools), "/usr/bin", "/bin"]))   # the fake comes first
    r = run("graph", *RESNET, "--out", "out/model.png")
    assert r.exit_code == 0 and r.output.strip() == "wrote out/model.png", r.output
    assert (tools / "args").read_text().split() == ["-Tpng", "-o", "out/model.png"]
    assert Path("out/model.png").read_text().startswith('digraph "model"')
    r = run("graph", *RESNET, "--out", "model.dot")           # .dot: the text itself, dot is not run
    assert r.exit_code == 0 and Path("model.dot").read_text().startswith("digraph")


def test_graph_failure_of_dot_is_one_line(workdir, monkeypatch):
    tools = workdir / "tools"
    tools.mkdir()
    (tools / "dot").write_text('#!/bin/sh\necho "Format: \\"xyz\\" not recognized." >&2\nexit 1\n')
    (tools / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    r = run("graph", *RESNET, "--out", "model.xyz")
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1
    assert "model.xyz" in r.stderr and "not recognized" in r.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (the fake `dot` tests cover "
                                                        "the invocation)")
def test_graph_with_the_real_graphviz(workdir):
    r = run("graph", "--config", CONFIG, "--out", "mlp.svg")
    assert r.exit_code == 0, r.output
    svg = Path("mlp.svg").read_text()
    assert "<svg" in svg and "PluginLayerNorm" in svg
