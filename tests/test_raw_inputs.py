"""Correct by default: a model takes the same raw inputs everywhere (fit, evaluate, predict,
after save/load, from an ``nnpy train`` checkpoint), a wrong sample shape is a one-line
ShapeError naming the layer, and a final Softmax before cross_entropy is said once."""
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.engine.evaluate import evaluate_checkpoint
from nnpy.layers import Dense, ReLU, Sigmoid, Softmax
from nnpy.registry import DATASETS

REPO = Path(__file__).resolve().parents[1]
SHIPPED_MNIST = REPO / "data" / "trained_models" / "mnist.json"


def mnist_test_slice(n: int):
    """The first ``n`` MNIST test images as the dataset gives them: raw pixels in [0, 1]."""
    ds = DATASETS.make("mnist").load(limit=n)
    return ds.x_test, ds.y_test


def features(n=96, width=4, seed=0):
    """Features far from zero mean / unit scale (normalization matters), a binary target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 20.0, (n, width)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 100).astype(np.int64)


def classifier(*layers, loss="cross_entropy"):
    model = nnpy.Sequential(list(layers) or [Dense(8), ReLU(), Dense(2)], seed=0)
    return model.compile(optimizer={"type": "adam", "lr": 0.01}, loss=loss)


def test_loaded_shipped_model_reads_raw_pixels():
    model = nnpy.load(SHIPPED_MNIST)
    x, y = mnist_test_slice(500)
    accuracy = float(np.mean(model.predict(x).argmax(axis=1) == y))
    assert accuracy >= 0.98                     # was 0.09: the stored normalization was not applied
    result = model.evaluate(x, y)
    assert result["n"] == 500 and result["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert np.allclose(model.predict_proba(x[:5]).sum(axis=1), 1.0)


def test_fit_normalize_save_load_takes_raw_inputs_everywhere(tmp_path):
    x, y = features()
    stats = {"mean": x.mean(axis=0), "std": x.std(axis=0)}            # numpy arrays are fine
    model = classifier()
    history = model.fit(x[:64], y[:64], epochs=3, batch_size=16, verbose=0, normalize=stats,
                        validation_data=(x[64:], y[64:]))
    normalized = (x - stats["mean"].astype(np.float32)) / stats["std"].astype(np.float32)
    raw_outputs = model.predict(x)
    assert np.allclose(raw_outputs, model.forward(normalized), atol=1e-6)      # normalized exactly once
    assert not np.allclose(raw_outputs, model.forward(x), atol=1e-2)           # (and it matters)
    held_out = model.evaluate(x[64:], y[64:])
    assert held_out["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)   # fit's validation: raw too
    assert held_out["accuracy"] == pytest.approx(np.mean(raw_outputs[64:].argmax(axis=1) == y[64:]))

    model.save(tmp_path / "m.json")
    again = nnpy.load(tmp_path / "m.json")
    assert again.normalization == {"mean": stats["mean"].tolist(), "std": stats["std"].tolist()}
    assert np.array_equal(again.predict(x), raw_outputs)
    assert again.evaluate(x, y) == model.evaluate(x, y)


def test_second_fit_keeps_the_model_normalization():
    x, y = features()
    model = classifier()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, normalize={"mean": 50.0, "std": 20.0})
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert model.normalization == {"mean": 50.0, "std": 20.0}
    with pytest.raises(nnpy.ConfigError, match="normalize"):
        model.fit(x, y, verbose=0, normalize={"mean": 0.0, "std": 0.0})


def test_nnpy_train_checkpoint_loaded_in_python_predicts_like_nnpy_val(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sets = ["data.limit=300", "data.val_split=50", "data.batch_size=50", "model.hidden=[16]",
            "scheduler=null", "train.epochs=1"]
    args = ["train", "--config", str(REPO / "configs" / "mlp.yaml")]
    for s in sets:
        args += ["--set", s]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    ckpt = tmp_path / "checkpoints" / "mlp" / "last.json"
    val = evaluate_checkpoint(ckpt, "test")                       # what `nnpy val --ckpt` prints
    x, y = mnist_test_slice(300)                                  # the same images, raw
    model = nnpy.load(ckpt)
    assert np.allclose(model.predict(x), val["predictions"], atol=1e-5)
    assert model.evaluate(x, y)["accuracy"] == pytest.approx(val["accuracy"], abs=1e-12)
    assert model.evaluate(x, y)["loss"] == pytest.approx(val["loss"], rel=1e-6)


@pytest.mark.parametrize("call", ["predict", "evaluate", "fit"])
def test_wrong_number_of_features_is_a_shape_error_naming_the_layer(call):
    x, y = features(width=20)
    model = classifier()
    model.fit(x, y, epochs=1, verbose=0)
    wider, _ = features(width=30)
    args = {"predict": (wider,), "evaluate": (wider, y), "fit": (wider, y)}[call]
    with pytest.raises(nnpy.ShapeError) as info:
        getattr(model, call)(*args, **({"verbose": 0} if call == "fit" else {}))
    message = str(info.value)
    assert "\n" not in message and "'dense_1' (Dense)" in message and "(20,)" in message and "(30,)" in message


@pytest.mark.parametrize("last, loss", [(Softmax, "cross_entropy"), (Sigmoid, "bce")])
def test_final_activation_the_loss_applies_is_said_once_before_training(last, loss):
    x, y = features()
    outputs = 2 if loss == "cross_entropy" else 1
    y = y if loss == "cross_entropy" else y[:, None].astype(np.float32)
    model = classifier(Dense(8), ReLU(), Dense(outputs), last(), loss=loss)
    with pytest.warns(UserWarning) as caught:
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert len(caught) == 1
    name = last.__name__
    message = str(caught[0].message)
    assert f"'{name.lower()}_1' ({name})" in message and "remove that layer" in message


def test_no_warning_for_logits_into_cross_entropy():
    x, y = features()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classifier().fit(x, y, epochs=1, verbose=0)


def test_nnpy_train_warns_once_about_a_final_softmax(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "softmax.yaml"
    config.write_text("name: softmax-last\nseed: 0\n"
                      "model:\n  layers: [{type: Flatten}, {type: Dense, units: 10}, {type: Softmax}]\n"
                      "data: {dataset: mnist, limit: 100, batch_size: 50}\n"
                      "loss: cross_entropy\noptimizer: sgd\ntrain: {epochs: 1}\n")
    r = CliRunner().invoke(main, ["train", "--config", str(config)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if "warning:" in line]
    assert len(lines) == 1 and "'softmax_1' (Softmax)" in lines[0] and "cross_entropy" in lines[0], r.output
    assert r.output.index("warning:") < r.output.index("epoch 1/1")
