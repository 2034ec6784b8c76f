"""``nnpy learn``'s numbers are the model's own: the outputs, gradients and updates the
session reports equal those of nnpy layers run directly on the same batch with the same
weights; the setup is checked key by key; training learns; sigmoid gradients vanish."""
import numpy as np
import pytest

from nnpy.errors import NnpyError
from nnpy.learn.problems import PROBLEMS, make_problem
from nnpy.learn.session import ROWS_SHOWN, LearnSession, check_setup
from nnpy.nn.layer import make_layer
from nnpy.nn.losses import make_loss

CLOSE = {"rtol": 1e-5, "atol": 1e-7}


def twin_layers(session):
    """Fresh layers of the same types, holding copies of the session model's weights now."""
    layers, shape = [], (2,)
    for layer in session.model.layers:
        twin = make_layer({"type": layer.type_name, **({"units": layer.units} if "W" in layer.params else {})})
        shape = twin.initialize(shape, np.random.default_rng(0))
        for key, value in layer.params.items():
            twin.params[key] = value.copy()
        layers.append(twin)
    return layers


def rows(view):
    return np.array(view["values"])


@pytest.mark.parametrize("activation", ["ReLU", "Sigmoid", "Tanh"])
def test_forward_backward_step_report_the_layers_own_numbers(activation):
    session = LearnSession(check_setup({"problem": "circles", "hidden": [5, 4], "activation": activation,
                                        "lr": 0.5, "batch_size": 40}))
    layers = twin_layers(session)
    fwd = session.forward()
    x = np.array(fwd["batch"]["x"], np.float32)
    y = np.array(fwd["batch"]["y"])
    assert x.shape == (40, 2) and set(map(tuple, x.tolist())) <= set(map(tuple, session.x.tolist()))

    h = x
    for layer, shown in zip(layers, fwd["layers"]):
        h = layer.forward(h, training=True)
        assert shown["output"]["shape"] == list(h.shape) and shown["type"] == layer.type_name
        np.testing.assert_allclose(rows(shown["output"]), h[:ROWS_SHOWN], **CLOSE)
        assert shown["output"]["mean"] == pytest.approx(float(h.mean()), rel=1e-5, abs=1e-7)
    loss = make_loss("cross_entropy")
    assert fwd["loss"] == pytest.approx(loss.forward(h, y), rel=1e-6)

    bwd = session.backward()
    assert [entry["index"] for entry in bwd["layers"]] == [4, 3, 2, 1, 0]     # arriving in reverse
    g = loss.backward()
    for layer, shown in zip(reversed(layers), bwd["layers"]):
        np.testing.assert_allclose(rows(shown["grad_output"]), g[:ROWS_SHOWN], **CLOSE)
        g = layer.backward(g)
        for key, grad in layer.grads.items():
            np.testing.assert_allclose(np.array(shown["grads"][key]["values"]).reshape(grad.shape), grad, **CLOSE)
            assert shown["grads"][key]["norm"] == pytest.approx(float(np.linalg.norm(grad)), rel=1e-5)

    stepped = session.step()
    assert [entry["name"] for entry in stepped["layers"]] == ["dense_1", "dense_2", "dense_3"]
    for shown in stepped["layers"]:
        layer = layers[shown["index"]]
        for key, p in layer.params.items():
            expected = p - np.float32(0.5) * layer.grads[key]        # sgd: p - lr · dL/dp
            after = np.array(shown["params"][key]["after"]["values"]).reshape(p.shape)
            change = np.array(shown["params"][key]["change"]["values"]).reshape(p.shape)
            np.testing.assert_allclose(after, expected, **CLOSE)
            np.testing.assert_allclose(change, expected - p, rtol=1e-4, atol=1e-6)


def test_looking_at_the_state_between_forward_and_backward_changes_nothing():
    """GET /api/state between Forward and Backward (a page redrawing) runs the model on
    other points; the gradients must still be those of the batch that went forward."""
    setup = check_setup({"hidden": [6], "activation": "Tanh"})
    plain, looked_at = LearnSession(setup), LearnSession(setup)
    plain.forward(), looked_at.forward()
    looked_at.state()
    a, b = plain.backward(), looked_at.backward()
    assert a["layers"][-1]["grads"]["W"]["values"] == b["layers"][-1]["grads"]["W"]["values"]


def test_buttons_out_of_order_say_what_to_press():
    session = LearnSession(check_setup({}))
    with pytest.raises(NnpyError, match="press Forward first"):
        session.backward()
    session.forward()
    with pytest.raises(NnpyError, match="press Backward first"):
        session.step()


def test_training_makes_the_loss_fall_and_the_boundary_follow():
    session = LearnSession(check_setup({"problem": "moons", "hidden": [16, 16], "activation": "Tanh",
                                        "optimizer": "adam", "lr": 0.02}))
    before = session.state()
    after = session.train(200)
    after = session.train(200)
    assert after["step"] == 400 and len(after["losses"]) == 400
    assert after["loss"] < 0.2 * before["loss"] and after["accuracy"] > 0.95
    probs = np.array(after["boundary"]["probs"])
    assert probs.shape == (48, 48) and probs.min() < 0.1 and probs.max() > 0.9


def test_sigmoid_makes_vanishing_gradients_visible():
    """Six hidden layers: with sigmoid the first layer's gradient norm is orders of magnitude
    below the last's; with ReLU they stay within a factor of ten."""
    def first_over_last(activation):
        session = LearnSession(check_setup({"hidden": [16] * 6, "activation": activation}))
        session.train(1)
        norms = session.state()["grad_norms"][-1][1]
        assert len(norms) == 7
        return norms[0] / norms[-1]

    assert first_over_last("Sigmoid") < 1e-2
    assert first_over_last("ReLU") > 1e-1


@pytest.mark.parametrize("raw, culprit", [
    ({"hidden": [8, "8"]}, "setup: hidden[1] (Dense): option 'units' must be an integer"),
    ({"hidden": [8, 0]}, "setup: hidden[1] must be a whole number from 1 to 64, not 0"),
    ({"hidden": [8, 1000]}, "setup: hidden[1] must be a whole number from 1 to 64"),
    ({"hidden": [4] * 9}, "setup: hidden must be a list of at most 8"),
    ({"activation": "Softmax"}, "setup: activation must be one of ReLU, Sigmoid, Tanh, not 'Softmax'"),
    ({"activation": "os.system"}, "setup: activation must be one of"),
    ({"problem": "mnist"}, "setup: problem must be one of circles, moons, spirals, xor"),
    ({"optimizer": "lbfgs"}, "setup: optimizer must be one of sgd, adam"),
    ({"lr": "fast"}, "setup: optimizer 'sgd': option 'lr' must be a number"),
    ({"lr": 0}, "setup: lr must be in (0, 10]"),
    ({"batch_size": 10 ** 9}, "setup: batch_size must be a whole number from 1 to 256"),
    ({"layers": 3}, "setup: unknown key 'layers'; valid keys: problem, hidden"),
])
def test_a_bad_setup_is_one_line_naming_the_key(raw, culprit):
    with pytest.raises(NnpyError) as info:
        check_setup(raw)
    assert culprit in str(info.value) and "\n" not in str(info.value)


def test_the_setup_accepts_registry_spellings():
    assert check_setup({"activation": "relu", "hidden": []}).activation == "ReLU"


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_the_problems_are_balanced_seeded_and_small(name):
    x, y = make_problem(name, 100, seed=3)
    assert x.shape == (100, 2) and x.dtype == np.float32 and y.tolist().count(1) == 50
    assert np.abs(x).max() < 1.25
    np.testing.assert_array_equal(x, make_problem(name, 100, seed=3)[0])
