"""TestTimeAugment: in evaluation the mean of f over views of the input (x, its mirror image,
x shifted by ±s px), f(x) alone in training; its gradient, its config key, what a trained model
does with it."""
import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.engine.experiment_config import load_experiment
from nnpy.errors import ConfigError, NnpyError, RegistryError
from nnpy.nn import layers as nn_layers
from nnpy.nn.layers import Chain
from nnpy.nn.layers.containers import shifted
from nnpy.symbols import make_model, model_layers

from tests.engine.test_plan import MLP, SMALL, sets

LAYERS = [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1, "use_bias": False},
          {"type": "BatchNorm"}, {"type": "ReLU"}, {"type": "GlobalAvgPool2D"}, {"type": "Dense", "units": 4}]


def twins(hflip=True, shift=0):
    """(a TestTimeAugment of LAYERS, a Chain of LAYERS with the same weights and BatchNorm statistics)."""
    tta, plain = nn_layers.TestTimeAugment(LAYERS, hflip=hflip, shift=shift), Chain(LAYERS)
    for layer in (tta, plain):
        layer.initialize((2, 5, 6), rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for value in tta.state_dict().values():
        value[...] = rng.normal(0.5, 0.3, value.shape)      # running variances stay positive
    plain.load_state_dict(tta.state_dict())
    return tta, plain


def inputs(n=7, seed=2):
    return np.random.default_rng(seed).normal(size=(n, 2, 5, 6)).astype(np.float32)


def moved(x, dy, dx):
    """x moved by dy rows down and dx columns right, the edge repeated: written with pad and slice."""
    padded = np.pad(x, ((0, 0), (0, 0), (abs(dy),) * 2, (abs(dx),) * 2), mode="edge")
    h, w = x.shape[2:]
    return padded[:, :, abs(dy) - dy:abs(dy) - dy + h, abs(dx) - dx:abs(dx) - dx + w]


def test_shifted_moves_the_image_and_repeats_the_edge():
    x = inputs(2)
    for dy, dx in [(1, 0), (-1, 0), (0, 2), (0, -2)]:
        got = shifted(x, dy, -2) if dy else shifted(x, dx, -1)
        np.testing.assert_array_equal(got, moved(x, dy, dx))


@pytest.mark.parametrize("hflip, shift, views", [
    (True, 0, lambda x: [x, x[..., ::-1]]),
    (False, 1, lambda x: [x, moved(x, 1, 0), moved(x, -1, 0), moved(x, 0, 1), moved(x, 0, -1)]),
    (True, 2, lambda x: [v for p in [x, moved(x, 2, 0), moved(x, -2, 0), moved(x, 0, 2), moved(x, 0, -2)]
                         for v in (p, p[..., ::-1])])])
def test_evaluation_is_the_mean_over_the_views(hflip, shift, views):
    tta, plain = twins(hflip, shift)
    x = inputs()
    expected = np.mean([plain.forward(np.ascontiguousarray(v)) for v in views(x)], axis=0)
    np.testing.assert_allclose(tta.forward(x, training=False), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(plain.forward(x), expected, atol=1e-3)      # the other views changed something


def test_training_is_the_layers_alone():
    tta, plain = twins(True, 1)
    x = inputs()
    np.testing.assert_array_equal(tta.forward(x, training=True), plain.forward(x, training=True))


def test_with_the_mirror_alone_the_average_does_not_change_when_the_input_is_mirrored():
    tta, _ = twins()
    x = inputs(4, seed=3)
    np.testing.assert_allclose(tta.forward(x[..., ::-1].copy()), tta.forward(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("needs_input_grad", [True, False])
@pytest.mark.parametrize("hflip, shift", [(True, 0), (True, 1), (False, 2)])
def test_gradient_after_either_forward(training, needs_input_grad, hflip, shift):
    spec = {"type": "TestTimeAugment", "hflip": hflip, "shift": shift, "layers": LAYERS[:1] + LAYERS[2:]}
    result = nnpy.gradcheck(spec, (2, 4, 5), batch=3, training=training, needs_input_grad=needs_input_grad)
    assert result.passed, str(result)
    assert ("input" in result.errors) == needs_input_grad, result.errors


@pytest.mark.parametrize("options, message", [({}, "hflip: true or shift > 0"), ({"hflip": 1}, "hflip.* must be"),
                                              ({"shift": -1}, "shift.* must be"), ({"shift": 1.5}, "shift.* must be")])
def test_wrong_options_are_refused(options, message):
    with pytest.raises((ValueError, NnpyError), match=message):
        nnpy.make_layer({"type": "TestTimeAugment", "layers": LAYERS, **options})


def test_a_shift_needs_images_larger_than_it():
    layer = nnpy.make_layer({"type": "TestTimeAugment", "shift": 5, "layers": LAYERS})
    with pytest.raises(NnpyError, match="larger than the shift"):
        layer.initialize((2, 5, 6), rng=np.random.default_rng(0))


def test_an_output_that_moves_with_the_view_is_refused():
    """A denoiser's image out would be averaged with its mirror image: a wrong answer, so an error."""
    layer = nnpy.make_layer({"type": "TestTimeAugment", "hflip": True,
                             "layers": [{"type": "Conv2D", "filters": 1, "kernel_size": 3, "padding": 1}]})
    with pytest.raises(NnpyError, match=r"do not move with the input.*\(1, 5, 6\)"):
        layer.initialize((2, 5, 6), rng=np.random.default_rng(0))


def test_the_model_key_wraps_a_symbol_or_a_layer_list():
    layers = model_layers({"symbol": "lenet", "test_time_augment": {"hflip": True}}, (1, 28, 28), 10)
    assert len(layers) == 1 and layers[0]["type"] == "TestTimeAugment"
    assert (layers[0]["hflip"], layers[0]["shift"]) == (True, 0)
    assert layers[0]["layers"] == model_layers({"symbol": "lenet"}, (1, 28, 28), 10)
    assert model_layers({"layers": LAYERS, "test_time_augment": None}, (2, 5, 6), 4) == LAYERS
    model = make_model({"layers": LAYERS, "test_time_augment": {"shift": 1}}, (2, 5, 6), 4,
                       rng=np.random.default_rng(0))
    assert [type(layer) for layer in model.layers] == [nn_layers.TestTimeAugment]
    assert (model.layers[0].hflip, model.layers[0].shift) == (False, 1)
    with pytest.raises(RegistryError, match="test_time_augment"):
        model_layers({"layers": LAYERS, "test_time_augment": {"vflip": True}}, (2, 5, 6), 4)


@pytest.mark.parametrize("value, key, message", [
    ("yes", "model.test_time_augment", "must be {hflip"),
    ({"vflip": True}, "model.test_time_augment.vflip", "is not a view"),
    ({"hflip": "yes"}, "model.test_time_augment.hflip", "true or false"),
    ({"shift": -2}, "model.test_time_augment.shift", "whole number"),
    ({"hflip": False}, "model.test_time_augment", "no view besides the input"),
    ("graph", "model.test_time_augment", "not with a graph")])
def test_the_config_checker_names_the_key(tmp_path, value, key, message):
    if value == "graph":
        model = {"nodes": {"d": {"type": "Dense", "units": 2, "inputs": "input"}}, "output": "d",
                 "test_time_augment": {"hflip": True}}
    else:
        model = {"layers": LAYERS, "test_time_augment": value}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"model": model, "data": {"dataset": "parity"}}))
    with pytest.raises(ConfigError, match=message) as info:
        load_experiment(str(path))
    assert key in str(info.value)


def test_a_trained_model_keeps_it_through_its_checkpoint(tmp_path, monkeypatch):
    """nnpy train with model.test_time_augment, then nnpy.load and nnpy val: the checkpoint's
    model averages over the same views as the trained one."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["train", "--config", str(MLP), *sets(
        SMALL + ["train.epochs=1", "model.test_time_augment={hflip: true, shift: 1}"])])
    assert r.exit_code == 0, r.output
    model = nnpy.load("checkpoints/mlp/last.json")
    assert [type(layer) for layer in model.layers] == [nn_layers.TestTimeAugment]
    x = np.random.default_rng(0).random((5, 1, 28, 28)).astype(np.float32)
    inner = Chain(model.layers[0].layers)        # the same layer objects, one view
    positions = [x, moved(x, 1, 0), moved(x, -1, 0), moved(x, 0, 1), moved(x, 0, -1)]
    views = positions + [p[..., ::-1] for p in positions]               # 10: each position, mirrored too
    expected = np.mean([inner.forward(model.normalize_inputs(np.ascontiguousarray(v))) for v in views], axis=0)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)
    r = CliRunner().invoke(main, ["val", "--ckpt", "checkpoints/mlp/last.json", "--json"])
    assert r.exit_code == 0 and 0.0 <= json.loads(r.output)["accuracy"] <= 1.0, r.output


def test_nnpy_graph_draws_it_as_a_cluster_around_its_layers():
    from nnpy.viz.graph import model_to_dot

    model = make_model({"layers": LAYERS, "test_time_augment": {"hflip": True, "shift": 1}}, (2, 5, 6), 4,
                       rng=np.random.default_rng(0))
    dot = model_to_dot(model)
    assert 'subgraph "cluster_testtimeaugment_1"' in dot and "x, shifted ±1 px, each also mirrored" in dot, dot
    assert '"testtimeaugment_1.conv2d_1"' in dot and '"testtimeaugment_1.dense_1"' in dot, dot


def test_the_views_change_evaluation_only_not_training(tmp_path, monkeypatch):
    """The same config with and without test_time_augment trains the same weights (the views are
    not used in training; the parameters are made in the same order), so a model trained without
    them can be evaluated with them (what the Fashion-MNIST row of the README did)."""
    monkeypatch.chdir(tmp_path)
    weights = []
    for extra in ([], ["model.test_time_augment={hflip: true, shift: 1}"]):
        r = CliRunner().invoke(main, ["train", "--config", str(MLP), *sets(SMALL + ["train.epochs=1", *extra])])
        assert r.exit_code == 0, r.output
        weights.append({k.removeprefix("testtimeaugment_1."): v
                        for k, v in nnpy.load("checkpoints/mlp/last.json").state_dict().items()})
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key], err_msg=key)
