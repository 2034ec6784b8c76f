"""One plan from config to run: built once, metrics with their direction, plugins, a light core,
and the fixes made on the way (data.limit everywhere, val_split in words, rnn rows)."""
import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.engine.model import Sequential
from nnpy.io.checkpoint import load_checkpoint
from nnpy.symbols import model_layers
from nnpy.nn.layers import Chain
from nnpy.nn.metrics import accuracy
from nnpy.registry import register_metric

REPO = Path(__file__).resolve().parents[2]
MLP = REPO / "configs" / "mlp.yaml"
SMALL = ["data.limit=600", "data.val_split=100", "data.batch_size=50", "model.hidden=[16]", "scheduler=null"]


@register_metric("error_rate_for_tests", higher_is_better=False)
def error_rate(pred, target) -> float:
    """1 − accuracy: a user's metric that improves downward."""
    return 1.0 - accuracy(pred, target)


@register_metric("hits_for_tests", higher_is_better=True)
def hits(pred, target) -> float:
    """accuracy under another name: a user's metric that improves upward."""
    return accuracy(pred, target)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


def nnpy_subprocess(*args, cwd):
    return subprocess.run([sys.executable, "-m", "nnpy.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_nnpy_train_builds_the_model_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    builds = []
    original = Sequential.initialize

    def counted(self, *args, **kwargs):
        builds.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Sequential, "initialize", counted)
    r = run("train", "--config", MLP, *sets(SMALL + ["train.epochs=1"]))
    assert r.exit_code == 0, r.output
    assert len(builds) == 1
    r = run("val", "--ckpt", "checkpoints/mlp/last.json", "--json")
    assert r.exit_code == 0 and len(builds) == 2


@pytest.mark.parametrize("metric, pick", [("hits_for_tests", np.argmax), ("error_rate_for_tests", np.argmin)])
def test_a_user_metric_direction_drives_best_json(tmp_path, monkeypatch, metric, pick):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", MLP, *sets(SMALL + ["train.epochs=4", f"train.metric={metric}",
                                                     "checkpoint.monitor=null", "optimizer.lr=0.02"]))
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(next(Path("runs/mlp").iterdir()) / "metrics.csv")))
    values = [float(row["val_metric"]) for row in rows]
    assert len(set(values)) > 1, values        # the metric moved: best and worst epochs differ
    best = load_checkpoint("checkpoints/mlp/best.json")
    assert best["state"]["best_epoch"] == int(pick(values)) + 1, values
    assert best["config"]["checkpoint"]["monitor"] == f"val_{metric}"


def test_plateau_watches_its_monitor_in_the_metric_direction():
    from nnpy.engine.trainer import Trainer
    from nnpy.optim import make_optimizer, make_scheduler

    model = Chain([{"type": "Dense", "units": 2}])
    model.initialize((3,), rng=np.random.default_rng(0))
    optimizer = make_optimizer({"type": "sgd", "lr": 1.0}, model)
    plateau = make_scheduler({"type": "plateau", "monitor": "val_hits_for_tests", "patience": 0,
                              "factor": 0.5}, optimizer)
    trainer = Trainer(model, None, optimizer, plateau, metrics="hits_for_tests")
    for value in (0.5, 0.6, 0.7):            # rising hits: improving, the lr stays
        plateau.step(trainer._monitored({"val_loss": 9.0, "val_hits_for_tests": value, "train_loss": 1.0}))
    assert optimizer.lr == 1.0 and plateau.higher_is_better
    plateau.step(trainer._monitored({"val_loss": 9.0, "val_hits_for_tests": 0.6, "train_loss": 1.0}))
    assert optimizer.lr == 0.5


def test_plugin_layer_trains_from_yaml_and_is_needed_to_read_its_checkpoint(tmp_path):
    plugin, config = REPO / "examples" / "plugins" / "scale.py", REPO / "examples" / "scale.yaml"
    small = sets(["data.limit=300", "data.val_split=50", "train.epochs=1"])
    r = nnpy_subprocess("train", "--config", config, *small, cwd=tmp_path)
    assert r.returncode == 2 and "Scale" in r.stderr and "--plugin" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = nnpy_subprocess("train", "--config", config, "--plugin", plugin, *small, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ckpt = tmp_path / "checkpoints" / "scale" / "best.json"
    weights = load_checkpoint(ckpt)["model"]
    assert "scale_1.s" in weights and not np.allclose(weights["scale_1.s"], 1.0)   # it trained
    for command in (["val", "--ckpt", ckpt], ["demo", REPO / "data" / "samples", "--ckpt", ckpt],
                    ["export", ckpt, tmp_path / "slim.json"]):
        r = nnpy_subprocess(*command, cwd=tmp_path)
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        line = r.stderr.strip()
        assert len(line.splitlines()) == 1 and "'Scale'" in line and "--plugin" in line, line
    r = nnpy_subprocess("val", "--ckpt", ckpt, "--json", "--plugin", plugin, cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["n"] == 300, r.stderr


def test_plugin_errors_are_one_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import nnpy\n\nraise RuntimeError('my bug')\n")
    for plugin, words in ((tmp_path / "missing.py", "no such file"), (broken, "line 3: RuntimeError: my bug")):
        r = run("summary", "--config", MLP, "--plugin", plugin)
        assert r.exit_code == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


BLOCKED = textwrap.dedent("""
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PIL", "yaml", "click"):
                raise ImportError(f"{name} is blocked in this test")

    sys.meta_path.insert(0, Blocker())
    import numpy as np
    import nnpy.nn, nnpy.optim
    from nnpy.layers import Dense, ReLU, Chain
    model = Chain([Dense(4), ReLU(), Dense(2)])
    model.initialize((3,), rng=np.random.default_rng(0))
    optimizer = nnpy.optim.make_optimizer("adam", model)
    y = model.forward(np.ones((5, 3), np.float32), training=True)
    model.backward(np.ones_like(y))
    optimizer.step()
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("PIL", "yaml", "click"))
    print("imported:", heavy)
""")


def test_core_imports_without_pillow_pyyaml_click():
    r = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "imported: []"


def test_data_limit_works_for_a_synthetic_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", REPO / "configs" / "rnn.yaml",
            *sets(["data.limit=1200", "train.epochs=1", "model.units=8"]))
    assert r.exit_code == 0, r.output
    assert "700 train · 500 val · 1000 test" in r.output


def test_val_split_larger_than_the_limit_says_so_in_words(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", MLP, *sets(["data.limit=300", "data.val_split=5000"]))
    assert r.exit_code == 2
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "data.val_split" in line and "300" in line and "data.limit" in line and "fraction" in line, line


def test_rnn_symbol_reads_each_row_of_every_channel():
    from nnpy.symbols import make_model

    model = make_model({"symbol": "rnn", "units": 4}, (3, 4, 5), 10)
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    rows = x
    for layer in model.layers[:2]:           # the Permute and Reshape before the LSTM
        rows = layer.forward(rows)
    assert rows.shape == (2, 4, 15)
    for h in range(4):                        # step h holds row h of channel 0, 1 and 2
        np.testing.assert_array_equal(rows[:, h], x[:, :, h, :].reshape(2, 15))
    assert [s["type"] for s in model_layers({"symbol": "rnn"}, (1, 28, 28), 10)][:2] == ["Reshape", "LSTM"]


def test_the_model_is_made_from_its_recipe_alone():
    """``compiled_model`` takes the model's sections (``ModelRecipe``), not the config: the recipe
    carries train.max_grad_norm into the optimizer and the metrics' specs, and a recipe written by
    hand makes the same model as the config's."""
    from nnpy.engine.experiment_config import read_experiment
    from nnpy.engine.plan import ModelRecipe, compiled_model, load_plan
    from nnpy.io.yamlfile import Locator

    overrides = [*SMALL, "train.max_grad_norm=2.5", "train.metrics=[accuracy, top_k_accuracy]"]
    cfg, _, _ = read_experiment(MLP, overrides)
    recipe = ModelRecipe.of(cfg)
    assert recipe.optimizer["max_grad_norm"] == 2.5 and recipe.optimizer["type"] == cfg["optimizer"]["type"]
    assert recipe.metrics == ["accuracy", "top_k_accuracy"] and recipe.seed == cfg["seed"]
    plan = load_plan(MLP, overrides)
    by_hand = ModelRecipe(model=cfg["model"], seed=cfg["seed"], dataset="mnist", optimizer=recipe.optimizer,
                          loss=cfg["loss"], scheduler=None, metrics=["accuracy"])
    model = compiled_model(by_hand, plan.data, Locator("<test>"))
    assert [m.name for m in model.metrics] == ["accuracy"] and model.scheduler is None
    assert model.optimizer.max_grad_norm == 2.5
    made, planned = model.named_parameters(), plan.model.named_parameters()
    assert made.keys() == planned.keys() and all(np.array_equal(made[k], planned[k]) for k in made)
