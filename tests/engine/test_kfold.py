"""train.kfold: K runs, each validated on a different fold; the mean of the final val metric."""
from pathlib import Path

import numpy as np
import pytest

from nnpy.engine.data_prep import kfold_split
from nnpy.engine.experiment_config import check_experiment
from nnpy.engine.plan import make_plan
from nnpy.engine.run import train

REPO = Path(__file__).resolve().parents[2]


def test_folds_partition_the_training_set():
    x = np.arange(103)[:, None]
    y = np.arange(103)
    seen = []
    for i in range(4):
        xt, yt, xv, yv = kfold_split(x, y, i, 4, seed=7)
        assert len(xt) + len(xv) == 103 and not set(yt) & set(yv)
        seen += list(yv)
    assert sorted(seen) == list(range(103))  # every sample is validated exactly once


def test_kfold_run_reports_the_mean_of_the_folds(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = check_experiment({
        "name": "kf", "seed": 3, "model": {"symbol": "mlp", "hidden": [8]},
        "data": {"dataset": "function", "options": {"n_train": 300, "n_test": 50}, "val_split": 0,
                 "batch_size": 32},
        "loss": "mse", "optimizer": {"type": "adam", "lr": 0.01},
        "train": {"epochs": 2, "metric": "mae", "kfold": 3}})
    result = train(make_plan(cfg))
    values = result.kfold["values"]
    assert len(values) == 3 and len(set(values)) == 3
    assert result.kfold["mean"] == pytest.approx(np.mean(values))
    assert "3-fold cross-validation: val_mae per fold" in capsys.readouterr().out
    assert all((tmp_path / "checkpoints" / "kf" / f"fold{i}" / "last.json").exists() for i in (1, 2, 3))
