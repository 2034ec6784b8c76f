"""Transfer learning (issue 31): frozen layers (``trainable: false`` / ``layer.trainable = False``)
and ``model.init_from: CKPT`` (weights matched by layer name and shape)."""
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
import nnpy.engine.summary
from nnpy.cli import main
from nnpy.engine.plan import load_plan
from nnpy.errors import NnpyError
from nnpy.io.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO / "data" / "trained_models" / "mnist.json"


def small_cnn(frozen_first: bool):
    model = nnpy.Sequential([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "name": "conv"},
                             {"type": "BatchNorm", "name": "bn", "trainable": not frozen_first},
                             {"type": "ReLU"}, {"type": "Flatten"}, {"type": "Dense", "units": 3, "name": "head"}],
                            seed=0)
    model.build((1, 6, 6))
    if frozen_first:
        model.layers[0].trainable = False        # the Python way
    return model


@pytest.mark.parametrize("optimizer", ["adam", {"type": "sgd", "lr": 0.1, "momentum": 0.9}])
def test_frozen_weights_stay_byte_identical_and_keep_no_optimizer_state(optimizer):
    model = small_cnn(frozen_first=True)
    model.compile(optimizer=optimizer, loss="cross_entropy")
    before = {k: v.tobytes() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, 40)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = model.state_dict()
    frozen = ["conv.W", "conv.b", "bn.gamma", "bn.beta", "bn.running_mean", "bn.running_var"]
    for key in frozen:
        assert after[key].tobytes() == before[key], f"{key} changed"
    assert after["head.W"].tobytes() != before["head.W"], "the head did not train"
    assert set(model.optimizer.state) <= {"head.W", "head.b"}
    if model.optimizer.state:            # sgd with momentum, adam: the head has moments, the frozen layers none
        assert set(model.optimizer.state) == {"head.W", "head.b"}
    assert model.count_params() == sum(v.size for k, v in after.items() if "running" not in k)


def test_a_frozen_backbone_costs_no_backward():
    """Below the first layer that trains, nothing runs backward: the frozen gradients stay unwritten."""
    model = small_cnn(frozen_first=True)
    model.compile(optimizer="sgd", loss="cross_entropy")
    for g in model.layers[0].grads.values():
        g.fill(np.nan)
    model.fit(np.zeros((4, 1, 6, 6), np.float32), np.array([0, 1, 2, 0]), epochs=1, batch_size=4, verbose=0)
    assert all(np.isnan(g).all() for g in model.layers[0].grads.values())


def test_trainable_in_the_config_round_trips_and_freezes_a_whole_chain():
    chain = nnpy.make_layer({"type": "Chain", "trainable": False,
                             "layers": [{"type": "Dense", "units": 3}, {"type": "Dense", "units": 2}]})
    chain.initialize((4,), rng=np.random.default_rng(0))
    assert not any(layer.trainable for layer in chain.walk())
    assert chain.named_trainable_parameters() == {}
    config = chain.get_config()
    assert config["trainable"] is False and config["layers"][0]["trainable"] is False
    assert "trainable" not in nnpy.make_layer({"type": "Dense", "units": 3}).get_config()
    with pytest.raises(NnpyError, match="option 'trainable' must be true or false"):
        nnpy.make_layer({"type": "Dense", "units": 3, "trainable": "no"})


def test_frozen_batchnorm_uses_its_running_statistics_in_training():
    bn = nnpy.make_layer({"type": "BatchNorm", "trainable": False})
    bn.initialize((3,))
    x = np.random.default_rng(0).normal(5, 2, size=(8, 3)).astype(np.float32)
    np.testing.assert_allclose(bn.forward(x, training=True), bn.forward(x, training=False))
    assert np.all(bn.buffers["running_mean"] == 0)


def write(tmp_path, text) -> Path:
    path = tmp_path / "finetune.yaml"
    path.write_text(textwrap.dedent(text))
    return path


HEAD_ON_MNIST = """\
    name: finetune
    seed: 3
    model:
      init_from: {ckpt}
      layers:
        - {{type: Conv2D, filters: 32, kernel_size: 3, padding: same, use_bias: false, trainable: false}}
        - {{type: BatchNorm, trainable: false}}
        - {{type: ReLU}}
        - {{type: MaxPool2D, pool_size: 4}}
        - {{type: Flatten}}
        - {{type: Dense, units: 10, name: head}}
    data: {{dataset: mnist, limit: 200, val_split: 0, batch_size: 50}}
    optimizer: adam
    train: {{epochs: 1}}
    """


def test_init_from_loads_what_matches_and_says_what_it_skipped(tmp_path, capsys):
    plan = load_plan(write(tmp_path, HEAD_ON_MNIST.format(ckpt=MNIST)))
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3, out
    assert out[0].startswith(f"init_from {MNIST}: loaded 5 arrays: conv2d_1.W, batchnorm_1.gamma")
    assert "skipped" in out[1] and "conv2d_2.W (not in this model)" in out[1] and "dense_2.b" in out[1]
    assert out[2].endswith("kept their initialization: head.W, head.b")
    assert "(352 frozen)" in nnpy.engine.summary.summary(plan.model)   # 32·9 + 2·32 loaded, frozen
    shipped = load_checkpoint(MNIST)["model"]
    state = plan.model.state_dict()
    for key in ("conv2d_1.W", "batchnorm_1.gamma", "batchnorm_1.running_var"):
        assert np.array_equal(state[key], shipped[key])


def test_init_from_then_training_keeps_the_loaded_frozen_weights(tmp_path):
    config = write(tmp_path, HEAD_ON_MNIST.format(ckpt=MNIST) + "checkpoint: {dir: %s}\n" % (tmp_path / "ck"))
    result = CliRunner().invoke(main, ["train", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "init_from" in result.output and "loaded 5 arrays" in result.output
    saved = load_checkpoint(tmp_path / "ck" / "last.json")
    shipped = load_checkpoint(MNIST)["model"]
    for key in ("conv2d_1.W", "batchnorm_1.gamma", "batchnorm_1.beta", "batchnorm_1.running_mean"):
        assert saved["model"][key].tobytes() == shipped[key].tobytes(), key
    assert set(saved["optimizer"]["state"]) == {"head.W", "head.b"}


@pytest.mark.parametrize("value,message", [("missing.json", "checkpoint file not found"),
                                           (str(REPO / "data" / "trained_models" / "fashion-mnist.json"), None),
                                           (3, "must be the path of a checkpoint")])
def test_init_from_mistakes_are_one_line_naming_the_key(tmp_path, value, message):
    text = HEAD_ON_MNIST.format(ckpt=value)
    if message is None:      # a checkpoint with nothing of the same name and shape
        text = text.replace("filters: 32", "filters: 7").replace("{type: BatchNorm, trainable: false}",
                                                                   "{type: ReLU}")
        message = "none of its"
    result = CliRunner().invoke(main, ["train", "--config", str(write(tmp_path, text))])
    assert result.exit_code == 2, result.output
    assert "model.init_from" in result.output and message in result.output
    assert "Traceback" not in result.output
