"""The Python API: same engine, same results as the command line."""
import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.engine.experiment_config import load_experiment
from nnpy.engine.plan import load_plan
from nnpy.io.checkpoint import load_checkpoint
from nnpy.layers import Dense, ReLU
from nnpy.symbols import model_layers
from nnpy.registry import DATASETS

REPO = Path(__file__).resolve().parents[1]
SETS = ["data.limit=600", "data.val_split=100", "data.batch_size=50", "model.hidden=[32]", "train.epochs=2"]


def test_api_and_cli_give_identical_weights_and_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--config", str(REPO / "configs" / "mlp.yaml")]
    for s in SETS:
        args += ["--set", s]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cli_weights = load_checkpoint(tmp_path / "checkpoints" / "mlp" / "last.json")["model"]
    run_dir = next((tmp_path / "runs" / "mlp").iterdir())
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))

    cfg, _ = load_experiment(REPO / "configs" / "mlp.yaml", SETS)
    d = cfg["data"]
    mnist = DATASETS.make("mnist").load(limit=d["limit"])
    model = nnpy.Sequential(model_layers(cfg["model"], (1, 28, 28), 10), seed=cfg["seed"])
    model.compile(optimizer=cfg["optimizer"], loss=cfg["loss"], metrics=[cfg["train"]["metric"]],
                  scheduler=cfg["scheduler"])
    history = model.fit(mnist.x_train, mnist.y_train, epochs=2, batch_size=d["batch_size"],
                        validation_split=d["val_split"], augment=d["augment"], normalize=d["normalize"],
                        verbose=0)
    api_weights = model.state_dict()
    assert api_weights.keys() == cli_weights.keys()
    for key in api_weights:
        assert np.array_equal(api_weights[key], cli_weights[key]), key
    for i, row in enumerate(rows):
        assert float(row["train_loss"]) == pytest.approx(history["loss"][i], rel=1e-12)
        assert float(row["train_metric"]) == pytest.approx(history["accuracy"][i], rel=1e-12)
        assert float(row["val_loss"]) == pytest.approx(history["val_loss"][i], rel=1e-6)
        assert float(row["val_metric"]) == pytest.approx(history["val_accuracy"][i], rel=1e-6)
        assert float(row["lr"]) == pytest.approx(history["lr"][i])


def test_parity_notebook_example_reaches_100_percent(tmp_path):
    bits = 8
    x = np.array([[int(b) for b in f"{i:0{bits}b}"] for i in range(2 ** bits)], np.float32) * 2 - 1
    y = (x > 0).sum(axis=1) % 2
    model = nnpy.Sequential([Dense(128), ReLU(), Dense(2)], seed=1)
    model.compile(optimizer={"type": "adam", "lr": 0.01}, loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=150, batch_size=32, verbose=0)
    assert model.evaluate(x, y)["accuracy"] == 1.0
    assert len(history["loss"]) == 150 and history["loss"][-1] < history["loss"][0]
    model.save(tmp_path / "parity.json")
    again = nnpy.load(tmp_path / "parity.json")
    assert np.array_equal(again.predict(x), model.predict(x))
    assert isinstance(again, nnpy.Sequential)


def test_low_level_loop_and_config_built_model_are_the_same_class():
    model = load_plan(REPO / "configs" / "mlp.yaml", ["model.hidden=[8]"]).model
    loss, optimizer = model.loss, model.optimizer
    assert type(model) is nnpy.Sequential
    x = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
    t = np.arange(16) % 10
    first = None
    for _ in range(20):
        y = model.forward(x, training=True)
        value = loss.forward(y, t)
        first = first if first is not None else value
        model.backward(loss.backward())
        optimizer.step()
        optimizer.zero_grad()
    assert value < first


def test_predict_proba_of_a_model_ending_in_softmax_or_a_binary_logit():
    """predict_proba gives probabilities, however the model ends: logits are softmaxed, a
    Softmax output is kept as it is (not softmaxed twice), one binary logit goes through σ."""
    import warnings

    from nnpy.layers import Dense, Softmax

    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # the Softmax-before-cross-entropy warning
        soft = nnpy.Sequential([Dense(3), Softmax()], seed=0)
        soft.build((4,))
    probs = soft.predict_proba(x)
    np.testing.assert_allclose(probs, soft.predict(x), rtol=1e-6)
    binary = nnpy.Sequential([Dense(1)], seed=0)
    binary.compile(loss="bce", metrics=["accuracy"])
    binary.build((4,))
    p1 = 1 / (1 + np.exp(-binary.predict(x)[:, 0].astype(np.float64)))
    np.testing.assert_allclose(binary.predict_proba(x), np.stack([1 - p1, p1], axis=1), rtol=1e-6)


def test_model_build_is_the_keras_call_and_initialize_the_layer_contract():
    """One meaning each: ``initialize(shape, rng)`` (the layer contract, what a container calls)
    builds the layers with the generator it is given, as a Chain would; ``build(shape)`` (the Keras
    call) initializes from the model's seed once and afterwards only checks the shape."""
    def weights(layer):
        return list(layer.named_parameters().values())

    specs = [{"type": "Dense", "units": 3}, {"type": "ReLU"}, {"type": "Dense", "units": 2}]
    model, chain = nnpy.Sequential(specs, seed=5), nnpy.layers.Chain(specs)
    assert model.initialize((4,), rng=np.random.default_rng(0)) == chain.initialize((4,), rng=np.random.default_rng(0))
    assert all(np.array_equal(p, q) for p, q in zip(weights(model), weights(chain)))
    first = [w.copy() for w in weights(model)]
    assert len(first) == 4                               # W and b of both Dense layers
    assert model.build((4,)) == (2,)                     # built already: the weights stay
    assert all(np.array_equal(p, q) for p, q in zip(weights(model), first))
    seeded = nnpy.Sequential(specs, seed=5)
    seeded.build((4,))
    assert not all(np.array_equal(p, q) for p, q in zip(weights(seeded), first))   # the seed's weights
    with pytest.raises(nnpy.ShapeError, match="what the model was built for"):
        model.build((5,))
