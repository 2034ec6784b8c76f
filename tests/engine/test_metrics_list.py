"""Several metrics: every one listed is computed and reported (fit's history, evaluate, the epoch
lines, metrics.csv, nnpy val); an unknown one, one listed twice, or one for the other kind of
model (accuracy of a regression model) is an error naming it."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.engine.checkpoint_content import plan_from_checkpoint
from nnpy.engine.resume import config_differences, restore_partial
from nnpy.engine.trainer import Trainer, TrainState
from nnpy.errors import CheckpointError, ConfigError, NnpyError
from nnpy.io.checkpoint import load_checkpoint, save_checkpoint
from nnpy.layers import Dense, ReLU
from nnpy.nn.metrics import accuracy, top_k_accuracy

REPO = Path(__file__).resolve().parents[2]
MLP = REPO / "configs" / "mlp.yaml"
SMALL = ["data.limit=600", "data.val_split=100", "data.batch_size=50", "model.hidden=[16]", "scheduler=null",
         "train.epochs=1"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


def eight_classes(n=240, seed=0):
    """Samples of 8 classes that a small MLP learns only partly, so accuracy < top-5 accuracy < 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] > 0) * 4 + (x[:, 1] > 0) * 2 + (x[:, 2] + 0.8 * rng.normal(size=n) > 0)
    return x, y.astype(np.int64)


def classifier(**compile_args):
    model = nnpy.Sequential([Dense(16), ReLU(), Dense(8)], seed=0)
    return model.compile(optimizer={"type": "adam", "lr": 0.01}, loss="cross_entropy", **compile_args)


def test_fit_and_evaluate_report_every_listed_metric():
    x, y = eight_classes()
    model = classifier(metrics=["accuracy", "top5_accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=40, validation_split=40, verbose=0)
    for key in ("loss", "accuracy", "top5_accuracy", "val_loss", "val_accuracy", "val_top5_accuracy"):
        assert len(history[key]) == 2, key
    result = model.evaluate(x, y)
    assert set(result) == {"loss", "accuracy", "top5_accuracy", "n"}
    logits = model.predict(x)
    assert result["accuracy"] == pytest.approx(accuracy(logits, y))
    assert result["top5_accuracy"] == pytest.approx(top_k_accuracy(logits, y))
    assert result["accuracy"] < result["top5_accuracy"] < 1        # two different numbers, both reported
    assert model.metric.name == "accuracy"                           # the first is the main one
    assert model.config()["train"] == {"metric": "accuracy", "metrics": ["accuracy", "top5_accuracy"]}


@pytest.mark.parametrize("metrics,culprit,hint", [
    (["accuracy", "top5_accuracy", "mae"], "'mae'", "metrics for classification: accuracy, "),
    (["accuracy", "top5_acuracy"], "'top5_acuracy'", "did you mean 'top5_accuracy'?"),
    (["accuracy", "acc"], "'accuracy' is listed twice", ""),
    ([], "no metric given", ""),
])
def test_a_metric_that_cannot_be_reported_is_an_error_naming_it(metrics, culprit, hint):
    with pytest.raises(NnpyError) as info:
        classifier(metrics=metrics)
    message = str(info.value)
    assert culprit in message and hint in message and "\n" not in message


def test_a_regression_model_refuses_accuracy_and_reports_mae_by_default():
    with pytest.raises(ConfigError, match="metric 'accuracy' measures classification models, but loss 'mse'"):
        nnpy.Sequential([Dense(1)], seed=0).compile(loss="mse", metrics=["accuracy"])
    with pytest.raises(ConfigError, match="metric 'mse' measures regression models, but loss 'cross_entropy'"):
        nnpy.Sequential([Dense(2)], seed=0).compile(loss="cross_entropy", metric="mse")
    model = nnpy.Sequential([Dense(1)], seed=0).compile(optimizer="sgd", loss="mse")
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    y = 3 * x
    assert set(model.fit(x, y, epochs=1, verbose=0).history) >= {"loss", "mae"}
    assert model.evaluate(x, y)["mae"] == pytest.approx(float(np.mean(np.abs(model.predict(x) - y))), rel=1e-5)


def test_train_metrics_in_a_config_reach_the_log_the_csv_val_and_plot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", MLP, *sets(SMALL + ["train.metrics=[accuracy, top5_accuracy]",
                                                      "checkpoint.dir=ck"]))
    assert r.exit_code == 0, r.output
    run_dir = next((tmp_path / "runs" / "mlp").iterdir())
    log = (run_dir / "train.log").read_text()
    epoch_line = next(line for line in log.splitlines() if line.startswith("epoch 1/1"))
    assert "train_top5_accuracy" in epoch_line and "val_top5_accuracy" in epoch_line
    assert "val_top5_accuracy" in r.output
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    # the columns readers know stay where they were; one column per split of each further metric
    assert rows[0] == ["epoch", "lr", "train_loss", "train_metric", "val_loss", "val_metric", "seconds",
                       "train_top5_accuracy", "val_top5_accuracy"]
    logged = dict(zip(rows[0], map(float, rows[1])))
    assert logged["val_metric"] <= logged["val_top5_accuracy"] <= 1

    r = run("val", "--ckpt", "ck/last.json", "--split", "val", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["top5_accuracy"] == pytest.approx(logged["val_top5_accuracy"], rel=1e-6)
    assert report["accuracy"] == pytest.approx(logged["val_metric"], rel=1e-6)
    r = run("val", "--ckpt", "ck/last.json", "--split", "val")
    assert f"top5_accuracy {logged['val_top5_accuracy']:.4f}" in r.output

    pytest.importorskip("matplotlib")
    r = run("plot", run_dir, "--out", tmp_path / "curves.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "curves.png").stat().st_size > 0


@pytest.mark.parametrize("override,culprit", [
    ("train.metrics=[accuracy, mae]", "train.metrics[1]: metric 'mae' measures regression"),
    ("train.metrics=[accuracy, top5_acuracy]", "did you mean 'top5_accuracy'?"),
    ("train.metrics=[accuracy, acc]", "train.metrics: metric 'accuracy' is listed twice"),
    ("train.metrics=[top5_accuracy, accuracy]", "train.metric: 'accuracy' is not the first of train.metrics"),
    ("loss=mse", "train.metric: metric 'accuracy' measures classification models, but loss 'mse'"),
    ("train.early_stopping={monitor: val_los}", "train.early_stopping.monitor: 'val_los' is not a value the "
                                                "loop reports (did you mean 'val_loss'?)"),
])
def test_config_metric_mistakes_exit_2_with_one_line(tmp_path, monkeypatch, override, culprit):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", MLP, *sets(SMALL + [override]))     # mlp.yaml says train.metric: accuracy
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and culprit in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()


def test_a_regression_config_without_a_metric_reports_mae(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", REPO / "configs" / "function.yaml", "--set", "train.metric=null",
            "--set", "checkpoint.monitor=null", "--print-config")
    assert r.exit_code == 0, r.output
    assert "metric: mae" in r.output and "monitor: val_mae" in r.output


def test_a_regression_model_saved_with_the_old_default_accuracy_still_loads(tmp_path):
    """Before metrics were checked against the loss, compile(loss='mse') kept the default metric
    accuracy and saved it; such a file loads with today's default, mae."""
    model = nnpy.Sequential([Dense(1)], seed=0).compile(loss="mse", metrics=["mae"])
    model.build((3,))
    model.save(tmp_path / "new.json")
    payload = load_checkpoint(tmp_path / "new.json")
    payload["config"]["train"] = {"metric": "accuracy"}
    payload["config"]["checkpoint"] = {"monitor": "val_accuracy"}
    save_checkpoint(tmp_path / "old.json", payload)
    again = nnpy.load(tmp_path / "old.json")
    assert [m.name for m in again.metrics] == ["mae"]
    plan, _ = plan_from_checkpoint(tmp_path / "old.json")
    assert plan.config["checkpoint"]["monitor"] == "val_mae"
    x = np.ones((2, 3), np.float32)
    assert np.array_equal(again.predict(x), model.predict(x))


def test_resuming_a_checkpoint_from_before_train_metrics_needs_no_allow_change():
    old = {"train": {"epochs": 2, "metric": "accuracy"}}
    new = {"train": {"epochs": 2, "metric": "accuracy", "metrics": None}}
    assert config_differences(old, new) == []
    assert config_differences(old, {"train": {**new["train"], "metrics": ["accuracy", "top5_accuracy"]}}) \
        == ["train.metrics"]


def test_an_epoch_stopped_inside_resumes_its_metric_sums():
    trainer = Trainer(classifier(), None, None, metrics=["accuracy", "top5_accuracy"])
    old = TrainState.from_dict({"epoch": 1, "batch": 3, "partial": {"loss": 6.0, "metric": 1.5, "n": 30,
                                                                     "seconds": 1.0}})
    with pytest.raises(CheckpointError, match="while reporting accuracy; this run reports accuracy, top5_accuracy"):
        restore_partial(old, trainer, "last.json")       # a metric without sums would be averaged wrong
    trainer = Trainer(classifier(), None, None, metrics=["accuracy"])
    restore_partial(old, trainer, "last.json")            # the file of nnpy before several metrics
    assert old.partial == {"loss": 6.0, "metrics": {"accuracy": 1.5}, "n": 30, "seconds": 1.0}
