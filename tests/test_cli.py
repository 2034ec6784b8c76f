"""The command line end to end on small slices of MNIST: train → val → demo → resume."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.io.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--set", "data.limit=600", "--set", "data.val_split=100", "--set", "data.batch_size=50",
         "--set", "model.hidden=[32]", "--set", "scheduler=null"]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def weights(path):
    return load_checkpoint(path)["model"]


def test_train_val_and_resume_are_exact(workdir):
    cfg = REPO / "configs" / "mlp.yaml"
    r = run("train", "--config", cfg, *SMALL, "--set", "train.epochs=2", "--set", "checkpoint.dir=straight")
    assert r.exit_code == 0, r.output
    assert "epoch 2/2" in r.output and "time per phase" in r.output
    straight = weights("straight/last.json")

    r = run("train", "--config", cfg, *SMALL, "--set", "train.epochs=1", "--set", "checkpoint.dir=resumed")
    assert r.exit_code == 0, r.output
    r = run("train", "--config", cfg, *SMALL, "--set", "train.epochs=2", "--set", "checkpoint.dir=resumed",
            "--resume", "resumed/last.json")
    assert r.exit_code == 2 and "train.epochs" in r.stderr  # a change must be allowed explicitly
    r = run("train", "--config", cfg, *SMALL, "--set", "train.epochs=2", "--set", "checkpoint.dir=resumed",
            "--resume", "resumed/last.json", "--allow-change", "train.epochs")
    assert r.exit_code == 0, r.output
    resumed = weights("resumed/last.json")
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert np.array_equal(straight[key], resumed[key]), key

    r = run("val", "--ckpt", "straight/best.json", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert set(report) == {"loss", "accuracy", "error", "per_class", "confusion", "n"}
    assert report["n"] == 600 and np.sum(report["confusion"]) == 600
    assert report["accuracy"] > 0.5 and report["error"] == pytest.approx(1 - report["accuracy"])
    r = run("val", "--ckpt", "straight/best.json", "--split", "val")
    assert r.exit_code == 0 and "100 samples" in r.output and "confusion matrix" in r.output

    # export: an inference-only copy that evaluates to exactly the same numbers
    r = run("export", "straight/best.json", "slim.json")
    assert r.exit_code == 0 and "slim.json" in r.output, r.output
    assert Path("slim.json").stat().st_size < 0.7 * Path("straight/best.json").stat().st_size
    assert json.loads(run("val", "--ckpt", "slim.json", "--json").output) == report
    r = run("val", "--ckpt", "slim.json", "--data-root", "nowhere")
    assert r.exit_code == 2 and "nowhere" in r.stderr and len(r.stderr.splitlines()) == 1
    r = run("export", "missing.json", "x.json")
    assert r.exit_code == 2 and "missing.json" in r.stderr and not Path("x.json").exists()

    # demo: a folder of digits plus broken files; every good file is still read
    from PIL import Image, ImageDraw
    folder = workdir / "digits"
    folder.mkdir()
    for k, size in enumerate([(60, 90), (300, 200)]):
        img = Image.new("L", size, 235)
        ImageDraw.Draw(img).line([(size[0] * 0.5, size[1] * 0.15), (size[0] * 0.52, size[1] * 0.85)],
                                 fill=20, width=max(3, size[0] // 12))
        img.save(folder / f"one_{k}.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("not an image")
    Image.new("L", (50, 50), 255).save(folder / "blank.png")
    r = run("demo", folder, "--ckpt", "straight/best.json", "--json", "--topk", "2")
    assert r.exit_code == 1
    results = json.loads(r.stdout)
    assert [Path(x["path"]).name for x in results] == ["one_0.png", "one_1.png"]
    assert all(abs(sum(x["probs"].values()) - 1) < 1e-4 and x["label"] in x["probs"] for x in results)
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 3 and all("Traceback" not in e for e in errors)
    assert any("empty.png" in e for e in errors) and any("notes.png" in e for e in errors)
    assert any("blank.png" in e and "ink" in e for e in errors)
    r = run("demo", folder / "one_0.png", "--ckpt", "straight/best.json")
    assert r.exit_code == 0 and "one_0.png:" in r.stdout

    # run folder: log, metrics.csv with the documented columns, the resolved config
    run_dirs = sorted((workdir / "runs" / "mlp").iterdir())
    csv_lines = (run_dirs[0] / "metrics.csv").read_text().splitlines()
    assert csv_lines[0] == "epoch,lr,train_loss,train_metric,val_loss,val_metric,seconds"
    assert len(csv_lines) == 3
    assert "seed: 1" in (run_dirs[0] / "config.yaml").read_text()
    assert "epoch 1/2" in (run_dirs[0] / "train.log").read_text()


@pytest.mark.parametrize("override,culprit", [
    ("optimzer.lr=0.1", "optimzer"),
    ("optimizer.lrr=0.1", "lrr"),
    ("train.epochs=ten", "train.epochs"),
    ("model.symbol=mlpp", "mlpp"),
    ("data.dataset=mnst", "mnst"),
    ("checkpoint.monitor=val_acc", "checkpoint.monitor"),
    ("loss=cross_entropi", "cross_entropi"),
    ("scheduler.type=cosin", "cosin"),
])
def test_config_mistakes_exit_2_with_one_line(workdir, override, culprit):
    r = run("train", "--config", REPO / "configs" / "mlp.yaml", "--set", override)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and culprit in lines[0] and "Traceback" not in r.output
    assert not (workdir / "runs").exists()  # nothing started


def test_impossible_shape_names_file_line_and_layer(workdir):
    bad = workdir / "bad.yaml"
    bad.write_text("name: bad\nmodel:\n  layers:\n    - {type: Flatten}\n    - {type: Dense, units: 10}\n"
                   "    - {type: Reshape, target_shape: [3, 3]}\ndata: {dataset: mnist}\n")
    r = run("train", "--config", bad)
    assert r.exit_code == 2
    assert "bad.yaml:6" in r.stderr and "reshape_1" in r.stderr and "(10,)" in r.stderr


def test_print_config_resolves_seed_and_base(workdir):
    base = workdir / "base.yaml"
    base.write_text("model: {symbol: mlp, hidden: [16]}\ndata: {dataset: mnist}\ntrain: {epochs: 3}\n")
    child = workdir / "child.yaml"
    child.write_text("_base_: base.yaml\nname: child\ntrain: {epochs: 5}\n")
    r = run("train", "--config", child, "--print-config")
    assert r.exit_code == 0
    import yaml
    cfg = yaml.safe_load(r.output)
    assert cfg["train"]["epochs"] == 5 and cfg["model"]["hidden"] == [16]
    assert isinstance(cfg["seed"], int)  # drawn before anything is saved


def test_summary_and_list_and_gradcheck(workdir):
    r = run("summary", "--config", REPO / "configs" / "mlp.yaml")
    assert r.exit_code == 0 and "dense_1" in r.output and "parameters" in r.output
    r = run("list", "layers")
    assert r.exit_code == 0 and "Conv2D" in r.output and "LSTM" in r.output
    r = run("gradcheck", "--config", REPO / "configs" / "mlp.yaml", "--set", "model.hidden=[8]")
    assert r.exit_code == 0, r.output
    assert "layers pass" in r.output


def test_corrupt_checkpoint_is_refused(workdir):
    Path("bad.json").write_text('{"format": "nnpy-checkpoint", "version": 1')
    r = run("val", "--ckpt", "bad.json")
    assert r.exit_code == 2 and "bad.json" in r.stderr
    r = run("val", "--ckpt", "missing.json")
    assert r.exit_code == 2 and "missing.json" in r.stderr


def test_val_per_class_accuracy_is_per_true_class(workdir):
    """Rows of the confusion matrix are the true classes (their sums are the label counts) and
    per_class[i] is the diagonal over the row: the value, not only the length, is checked."""
    from nnpy.data import MNIST

    r = run("train", "--config", REPO / "configs" / "mlp.yaml", "--set", "data.limit=300",
            "--set", "data.val_split=50", "--set", "train.epochs=1", "--set", "model.hidden=[16]",
            "--set", "checkpoint.dir=ck")
    assert r.exit_code == 0, r.output
    r = run("val", "--ckpt", "ck/best.json", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    cm = np.array(report["confusion"])
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(MNIST().load(limit=300).y_test, minlength=10))
    np.testing.assert_allclose(report["per_class"], np.diag(cm) / cm.sum(axis=1))
    assert not np.allclose(np.diag(cm) / cm.sum(axis=1), np.diag(cm) / np.maximum(cm.sum(axis=0), 1))


def test_confusion_rows_name_a_class_once_when_its_name_is_its_number():
    from nnpy.engine.evaluate import confusion_lines

    digits = confusion_lines([[3, 1], [0, 2]], ["0", "1"])
    assert digits[1:] == ["  0 1", "0 3 1", "1 0 2"]         # was "0 0 3 1": index, then the same name
    named = confusion_lines([[3, 1], [0, 2]], ["cat", "dog"])
    assert named[1:] == ["      0 1", "0 cat 3 1", "1 dog 0 2"]


@pytest.mark.parametrize("command", [["train", "--print-config"], ["summary"], ["graph", "--out", "g.dot"],
                                     ["gradcheck"]], ids=lambda c: c[0])
def test_the_config_is_an_argument_or_an_option(workdir, command):
    """``nnpy train configs/mlp.yaml`` does what ``--config configs/mlp.yaml`` does; giving both,
    or neither, is one line and exit code 2."""
    cfg = REPO / "configs" / "mlp.yaml"
    small = ["--set", "model.hidden=[4]", "--set", "seed=3"]
    as_option = run(*command, "--config", cfg, *small)
    as_argument = run(*command, cfg, *small)
    assert as_option.exit_code == as_argument.exit_code == 0, as_argument.output
    assert as_argument.output == as_option.output
    for given in ([cfg, "--config", cfg], []):
        r = run(*command, *given)
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1, r.output
        assert f"nnpy {command[0]} CONFIG or --config CONFIG" in lines[0]
