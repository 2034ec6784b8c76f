"""The mistakes students make in their first hour: each is one line that names the culprit and
says what to do, exit code 2, before any training starts; and the Python API as Keras and
PyTorch users try it."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.layers import Dense, ReLU

REPO = Path(__file__).resolve().parents[1]
MLP = REPO / "configs" / "mlp.yaml"
TINY = ["--set", "data.limit=300", "--set", "data.val_split=50", "--set", "model.hidden=[16]"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "epoch 1/" not in result.output, result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    return line


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("override, words", [
    ("optimizer.lr=fast", ["--set optimizer.lr=fast", "optimizer.lr", "'lr' must be a number", "'fast'"]),
    ("model.outputs=5", ["--set model.outputs=5", "model.outputs", "'outputs' is set by nnpy"]),
    ("model.hidden=[0]", ["--set model.hidden=[0]", "model.hidden", "positive integers"]),
    ("model.hidden=oops", ["--set model.hidden=oops", "model.hidden", "e.g. [512, 256]"]),
    ("optimizer.momentum=yes", ["--set optimizer.momentum=yes", "optimizer.momentum", "a number"]),
    ("data.batchsize=32", ["--set data.batchsize=32", "data", "unknown key 'batchsize'", "batch_size"]),
])
def test_set_mistakes_name_the_set_argument(workdir, override, words):
    line = one_line_error(run("train", "--config", MLP, "--set", override))
    for word in words:
        assert word in line, (word, line)
    assert "mlp.yaml:" not in line          # the file is not to blame for a --set value


def test_a_single_hidden_size_is_a_list_of_one(workdir):
    r = run("train", "--config", MLP, *TINY, "--set", "model.hidden=24", "--set", "train.epochs=1")
    assert r.exit_code == 0, r.output
    assert "(24,)" in r.output


def test_last_layer_smaller_than_the_classes_is_refused_before_training(workdir):
    cfg = write(workdir / "five.yaml", "model:\n  layers:\n    - {type: Flatten}\n    - {type: Dense, units: 5}\n"
                                       "data: {dataset: mnist, limit: 300, val_split: 50}\n")
    line = one_line_error(run("train", "--config", cfg))
    assert "five.yaml:4: model.layers[1]" in line and "10 classes" in line and "units: 10" in line


def test_layer_without_its_required_option_names_position_and_option(workdir):
    cfg = write(workdir / "nounits.yaml", "model:\n  layers:\n    - {type: Flatten}\n    - {type: Dense}\n"
                                          "data: {dataset: mnist}\n")
    line = one_line_error(run("train", "--config", cfg))
    assert "nounits.yaml:4: model.layers[1]" in line and "missing required option 'units'" in line


def test_layers_over_a_base_symbol_say_where_the_keys_come_from(workdir):
    cfg = write(workdir / "mine.yaml", f"_base_: {MLP}\nmodel:\n  layers:\n    - {{type: Flatten}}\n"
                                       f"    - {{type: Dense, units: 10}}\n")
    line = one_line_error(run("train", "--config", cfg))
    assert "mine.yaml:2: model" in line and "'hidden'" in line and str(MLP) in line and "_delete_: true" in line
    write(workdir / "mine.yaml", f"_base_: {MLP}\nmodel:\n  _delete_: true\n  layers:\n    - {{type: Flatten}}\n"
                                 f"    - {{type: Dense, units: 10}}\n")
    assert run("train", "--config", cfg, "--print-config").exit_code == 0


def test_print_config_checks_the_config_first(workdir):
    line = one_line_error(run("train", "--config", MLP, "--set", "optimizer.lr=0.1,momentum=0.5", "--print-config"))
    assert "optimizer.lr" in line
    r = run("train", "--config", MLP, "--print-config")
    assert r.exit_code == 0 and "monitor: val_accuracy" in r.output


def test_a_warm_up_longer_than_the_run_is_said_once(workdir):
    r = run("train", "--config", MLP, *TINY, "--set", "train.epochs=1")
    assert r.exit_code == 0, r.output
    assert r.output.count("scheduler.warmup is 200 steps but the run has 2") == 1   # 250 samples, batch 128
    r = run("train", "--config", MLP, *TINY, "--set", "train.epochs=1", "--set", "scheduler.warmup=1")
    assert "scheduler.warmup" not in r.output


def test_val_prints_a_confusion_matrix_with_column_headers(workdir):
    assert run("train", "--config", MLP, *TINY, "--set", "train.epochs=1").exit_code == 0
    r = run("val", "--ckpt", "checkpoints/mlp/best.json")
    lines = r.output.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("confusion matrix"))
    assert lines[i + 1].split() == [str(k) for k in range(10)]
    report = json.loads(run("val", "--ckpt", "checkpoints/mlp/best.json", "--json").output)
    for k, line in enumerate(lines[i + 2:i + 12]):     # row k: "k" (a digit is its own name) then the counts
        assert line.split()[0] == str(k)
        assert [int(v) for v in line.split()[1:]] == report["confusion"][k]


def test_list_help_and_descriptions_do_not_break_words():
    r = run("list", "--help")
    assert "WHAT" in r.output and "metric\n" not in r.output
    r = run("list", "layers")
    dropout = next(line for line in r.output.splitlines() if line.startswith("Dropout"))
    assert "Training: zero each value with probability" in dropout
    text = " ".join(r.output.split())
    assert "so nothing changes at evaluation time (identity)." in text    # the whole first sentence


def test_resumed_run_continues_its_run_folder_with_one_numbering(workdir):
    base = [*TINY, "--set", "data.batch_size=25", "--set", "scheduler=null", "--set", "checkpoint.dir=ck"]
    assert run("train", "--config", MLP, *base, "--set", "train.epochs=1").exit_code == 0
    r = run("train", "--config", MLP, *base, "--set", "train.epochs=2", "--resume", "ck/last.json",
            "--allow-change", "train.epochs")
    assert r.exit_code == 0 and "resuming from ck/last.json: after epoch 1" in r.output, r.output
    runs = list((workdir / "runs" / "mlp").iterdir())
    assert len(runs) == 1                                   # one folder: nnpy plot draws one curve
    rows = list(csv.DictReader(open(runs[0] / "metrics.csv")))
    assert [row["epoch"] for row in rows] == ["1", "2"]


def test_keras_style_build_summary_and_predict_proba():
    model = nnpy.Sequential([Dense(8), ReLU(), Dense(3)], seed=0)
    with pytest.raises(RuntimeError, match=r"model\.build\(input_shape\)"):
        model.summary(print_fn=None)
    assert model.build((4,)) == (3,)
    table = model.summary(print_fn=None)
    assert "dense_1" in table and "input shape: (4,)" in table
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    logits, probs = model.predict(x), model.predict_proba(x)
    assert logits.shape == probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(probs.argmax(axis=1), logits.argmax(axis=1))
    assert not np.allclose(logits.sum(axis=1), 1)          # predict gives logits, not probabilities


def test_a_fresh_layer_says_how_to_build_it():
    with pytest.raises(RuntimeError, match=r"layer\.initialize\(input_shape\)"):
        Dense(3).build((4,))
    layer = Dense(3)
    assert layer.initialize((4,)) == (3,)
