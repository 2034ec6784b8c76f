"""The callbacks of nnpy.callbacks: which epoch best.json holds when epochs tie, and monitors
checked against what fit logs before the first step."""
import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import nnpy
from nnpy.callbacks import Callback, CSVLogger, EarlyStopping, MaxTime, ModelCheckpoint, StopOnSignal
from nnpy.engine.callbacks import Checkpointer
from nnpy.engine.trainer import TrainState
from nnpy.errors import ConfigError
from nnpy.layers import Dense, ReLU
from nnpy.nn.metrics import make_metric
from nnpy.viz.curves import read_run


# --- best.json: ties on the monitored value ------------------------------------------------------

# the run: val_accuracy 1.0 from epoch 1 on, while the validation loss kept falling
EPOCHS = [  # (val_accuracy, val_loss)
    (0.75, 0.60),
    (1.00, 0.133),     # the first 1.0: best
    (1.00, 0.0012),    # a tie, lower loss: best
    (1.00, 0.0012),    # a tie, the same loss: the later epoch is best
    (1.00, 0.05),      # a tie, higher loss: not best
    (0.95, 0.0001),    # lower accuracy: not best, however low the loss
]


def scripted_run(monitor: str, epochs) -> list[int]:
    """Feed ``epochs`` (val_accuracy, val_loss) to a Checkpointer; the epochs it saved best.json at."""
    saved = []
    trainer = SimpleNamespace(state=TrainState(), metrics=[make_metric("accuracy")], val_data=None)
    trainer.metric = trainer.metrics[0]
    checkpointer = Checkpointer(Path("unused"), lambda path, t: saved.append((path.name, t.state.best_epoch)),
                                monitor=monitor)
    for epoch, (acc, loss) in enumerate(epochs, start=1):
        logs = {"epoch": epoch, "train_loss": 1.0, "train_accuracy": 0.5, "val_loss": loss, "val_accuracy": acc}
        checkpointer.on_epoch_end(trainer, logs)
    return [epoch for name, epoch in saved if name == "best.json"]


def test_a_tie_on_the_monitored_value_goes_to_the_lower_validation_loss_then_the_later_epoch():
    assert scripted_run("val_accuracy", EPOCHS) == [1, 2, 3, 4]


def test_a_tie_on_the_validation_loss_itself_goes_to_the_later_epoch():
    assert scripted_run("val_loss", [(0.5, 0.3), (0.6, 0.2), (0.7, 0.2), (0.8, 0.25)]) == [1, 2, 3]


def test_the_plot_stars_the_epoch_best_json_holds(tmp_path):
    with open(tmp_path / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "lr", "train_loss", "train_metric", "val_loss", "val_metric", "seconds"])
        for epoch, (acc, loss) in enumerate(EPOCHS, start=1):
            writer.writerow([epoch, 0.1, 1.0, 0.5, loss, acc, 1.0])
    (tmp_path / "config.yaml").write_text("train: {metric: accuracy}\n")
    assert read_run(tmp_path).best_val() == (4, 1.0)


# --- nnpy.callbacks with Sequential.fit ----------------------------------------------------------

def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def model(**compile_args):
    m = nnpy.Sequential([Dense(8), ReLU(), Dense(2)], seed=0)
    return m.compile(optimizer={"type": "adam", "lr": 0.01}, loss="cross_entropy", **compile_args)


def test_callbacks_are_exported_as_nnpy_callbacks():
    assert nnpy.callbacks.EarlyStopping is EarlyStopping and nnpy.callbacks.ModelCheckpoint is ModelCheckpoint
    assert all(issubclass(c, Callback) for c in (CSVLogger, EarlyStopping, MaxTime, ModelCheckpoint, StopOnSignal))


@pytest.mark.parametrize("callback,who", [
    (EarlyStopping(monitor="val_los"), "EarlyStopping: monitor 'val_los'"),
    (ModelCheckpoint("unused", monitor="val_los"), "ModelCheckpoint: monitor 'val_los'"),
])
def test_a_misspelt_monitor_stops_fit_before_the_first_step(callback, who):
    m, (x, y) = model(), data()
    m.build((4,))
    before = m.state_dict()
    with pytest.raises(ConfigError) as info:
        m.fit(x, y, epochs=30, validation_split=20, verbose=0, callbacks=[callback])
    assert str(info.value) == (f"{who} is not a value the loop reports (did you mean 'val_loss'?); "
                               f"valid: train_loss, train_accuracy, val_loss, val_accuracy")
    assert m.trainer.state.epoch == 0
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())


def test_a_validation_monitor_without_validation_data_and_a_plateau_monitor_are_checked():
    m, (x, y) = model(), data()
    with pytest.raises(ConfigError, match="'val_accuracy' is not a value the loop reports .*valid: train_loss, "
                                          "train_accuracy$"):
        m.fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping(monitor="val_accuracy")])
    m = model(scheduler={"type": "plateau", "monitor": "val_acuracy"})
    with pytest.raises(ConfigError, match="scheduler 'plateau': monitor 'val_acuracy' .*did you mean 'val_accuracy'"):
        m.fit(x, y, epochs=2, validation_split=20, verbose=0)


def test_early_stopping_stops_and_model_checkpoint_writes_loadable_files(tmp_path):
    m, (x, y) = model(metrics=["accuracy", "top5_accuracy"]), data()
    history = m.fit(x, y, epochs=30, validation_split=20, verbose=0, callbacks=[
        EarlyStopping(monitor="val_loss", patience=2, min_delta=10.0),     # no epoch improves by 10
        ModelCheckpoint(tmp_path / "ck"), CSVLogger(tmp_path / "metrics.csv")])
    assert history.epoch == [1, 2, 3]
    assert m.trainer.state.stop_reason == "early stopping: val_loss has not improved for 2 epochs"
    last = nnpy.load(tmp_path / "ck" / "last.json")
    assert np.array_equal(last.predict(x), m.predict(x))
    assert m.trainer.state.best_epoch in (1, 2, 3) and (tmp_path / "ck" / "best.json").is_file()
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["val_top5_accuracy"]) for r in rows] == pytest.approx(history["val_top5_accuracy"])
