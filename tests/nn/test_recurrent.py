"""RNN, LSTM and GRU: gradient checks, an independent forward reference, shapes, learning."""
import numpy as np
import pytest

import nnpy
from nnpy.errors import ShapeError
from nnpy.nn.layers import GRU, LSTM, RNN, Dense, Chain

from ..prerequisites import require_module

TYPES = ["RNN", "LSTM", "GRU"]


def built(spec, input_shape, dtype=np.float64, seed=0):
    layer = nnpy.make_layer(spec)
    layer.initialize(input_shape, rng=np.random.default_rng(seed), dtype=dtype)
    return layer


def randomize(layer, seed=1):
    """Give every parameter (biases included) generic values."""
    rng = np.random.default_rng(seed)
    for p in layer.params.values():
        p += rng.normal(0, 0.3, size=p.shape)
    return layer


# ---- gradient checks ------------------------------------------------------------------

@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("steps, features, units", [(1, 3, 2), (5, 7, 3)])
def test_gradcheck(kind, return_sequences, steps, features, units):
    spec = {"type": kind, "units": units, "return_sequences": return_sequences}
    result = nnpy.gradcheck(spec, (steps, features), batch=3)
    assert result.passed, f"\n{result}"
    assert set(result.errors) >= {"input", "W", "U", "b"}


def test_gradcheck_gru_recurrent_bias():
    result = nnpy.gradcheck({"type": "GRU", "units": 4}, (4, 3))
    assert "b_rec" in result.errors and result.passed, f"\n{result}"


def test_stacked_lstm_gru_gradcheck():
    spec = {"type": "Chain", "layers": [
        {"type": "LSTM", "units": 3, "return_sequences": True},
        {"type": "GRU", "units": 2}]}
    result = nnpy.gradcheck(spec, (4, 5))
    assert result.passed, f"\n{result}"


# ---- forward against a per-step reference written from the equations -------------------

def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_lstm(x, W, U, b):
    n, steps, _ = x.shape
    u = U.shape[0]
    Wi, Wf, Wg, Wo = np.split(W, 4, axis=1)
    Ui, Uf, Ug, Uo = np.split(U, 4, axis=1)
    bi, bf, bg, bo = np.split(b, 4)
    h, c, out = np.zeros((n, u)), np.zeros((n, u)), []
    for t in range(steps):
        xt = x[:, t]
        i = sigmoid(xt @ Wi + h @ Ui + bi)
        f = sigmoid(xt @ Wf + h @ Uf + bf)
        g = np.tanh(xt @ Wg + h @ Ug + bg)
        o = sigmoid(xt @ Wo + h @ Uo + bo)
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def reference_gru(x, W, U, b, b_rec):
    n, steps, _ = x.shape
    u = U.shape[0]
    Wz, Wr, Wh = np.split(W, 3, axis=1)
    Uz, Ur, Uh = np.split(U, 3, axis=1)
    bz, br, bh = np.split(b, 3)
    cz, cr, ch = np.split(b_rec, 3)
    h, out = np.zeros((n, u)), []
    for t in range(steps):
        xt = x[:, t]
        z = sigmoid(xt @ Wz + bz + h @ Uz + cz)
        r = sigmoid(xt @ Wr + br + h @ Ur + cr)
        hh = np.tanh(xt @ Wh + bh + r * (h @ Uh + ch))
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.stack(out, axis=1)


def reference_rnn(x, W, U, b):
    h, out = np.zeros((x.shape[0], U.shape[0])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        out.append(h)
    return np.stack(out, axis=1)


REFERENCES = {"RNN": reference_rnn, "LSTM": reference_lstm, "GRU": reference_gru}


@pytest.mark.parametrize("kind", TYPES)
def test_forward_matches_reference(kind):
    x = np.random.default_rng(2).normal(size=(3, 6, 5))
    seq = randomize(built({"type": kind, "units": 4, "return_sequences": True}, (6, 5)))
    last = built({"type": kind, "units": 4}, (6, 5))
    last.load_state_dict(seq.state_dict())
    expected = REFERENCES[kind](x, **seq.params)
    np.testing.assert_allclose(seq.forward(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(last.forward(x), expected[:, -1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_forward_matches_torch(kind):
    torch = require_module("torch")
    units, features = 4, 5
    x = np.random.default_rng(3).normal(size=(2, 7, features))
    spec = {"type": kind, "units": units, "return_sequences": True}
    layer = randomize(built(spec, (7, features)))
    p = layer.params
    if kind == "LSTM":  # same gate order i, f, g, o
        net = torch.nn.LSTM(features, units, batch_first=True).double()
        w_ih, w_hh, b_ih, b_hh = p["W"].T, p["U"].T, p["b"], np.zeros_like(p["b"])
    else:  # torch orders the blocks r, z, n; ours z, r, h
        net = torch.nn.GRU(features, units, batch_first=True).double()
        z, r, h = np.split(np.arange(3 * units), 3)
        perm = np.concatenate([r, z, h])
        w_ih, w_hh = p["W"][:, perm].T, p["U"][:, perm].T
        b_ih, b_hh = p["b"][perm], p["b_rec"][perm]
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(net, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        expected = net(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-10)


# ---- shapes, options, errors -----------------------------------------------------------

@pytest.mark.parametrize("kind, k, biases", [("RNN", 1, 1), ("LSTM", 4, 1), ("GRU", 3, 2)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_shapes_and_parameter_count(kind, k, biases, return_sequences):
    spec = {"type": kind, "units": 6, "return_sequences": return_sequences}
    layer = built(spec, (4, 3), np.float32)
    assert layer.output_shape == ((4, 6) if return_sequences else (6,))
    assert layer.params["W"].shape == (3, k * 6) and layer.params["U"].shape == (6, k * 6)
    assert layer.count_params() == k * 6 * (3 + 6 + biases)
    y = layer.forward(np.ones((2, 4, 3)))  # float64 input, float32 layer
    assert y.shape == (2, *layer.output_shape) and y.dtype == np.float32
    assert layer.forward(np.ones((2, 9, 3))).shape[0] == 2  # other sequence lengths run too
    assert layer.flops() > 0


def test_lstm_forget_bias_init():
    layer = built({"type": "LSTM", "units": 5}, (3, 2))
    b = layer.params["b"]
    np.testing.assert_array_equal(b[5:10], 1.0)
    np.testing.assert_array_equal(np.delete(b, np.s_[5:10]), 0.0)
    plain = built({"type": "LSTM", "units": 5, "unit_forget_bias": False}, (3, 2))
    np.testing.assert_array_equal(plain.params["b"], 0.0)


@pytest.mark.parametrize("kind", TYPES)
def test_shape_error_names_layer_and_shape(kind):
    layer = nnpy.make_layer({"type": kind, "units": 4, "name": "encoder"})
    with pytest.raises(ShapeError, match=r"'encoder'.*\(steps, features\).*\(28, 28, 1\)"):
        layer.initialize((28, 28, 1))
    layer = built({"type": kind, "units": 4, "name": "encoder"}, (5, 3))
    with pytest.raises(ShapeError, match=r"'encoder'.*\(5, 4\)"):
        layer.forward(np.zeros((2, 5, 4)))


@pytest.mark.parametrize("kind", TYPES)
def test_no_input_grad_skips_dx_but_fills_grads(kind):
    layer = built({"type": kind, "units": 3}, (4, 2))
    layer.needs_input_grad = False
    layer.forward(np.ones((2, 4, 2)))
    assert layer.backward(np.ones((2, 3))) is None
    assert all(np.any(g != 0) for g in layer.grads.values())


def test_registry_alias_and_config_round_trip():
    assert isinstance(nnpy.make_layer({"type": "SimpleRNN", "units": 2}), RNN)
    for layer in (LSTM(8, return_sequences=True, unit_forget_bias=False), GRU(3, name="g"), RNN(2)):
        again = nnpy.make_layer(layer.get_config())
        assert type(again) is type(layer) and again.get_config() == layer.get_config()
    with pytest.raises(nnpy.RegistryError, match="units"):
        nnpy.make_layer({"type": "LSTM", "units": 0})


# ---- learning ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_learns_running_sum(kind):
    """kind + Dense(1) learns y_t = (x_1 + … + x_t) / 2 with SGD + momentum in 250 steps."""
    rng = np.random.default_rng(0)
    model = Chain([{"type": kind, "units": 16, "return_sequences": True}, Dense(1)])
    model.needs_input_grad = False
    model.initialize((8, 1), rng=np.random.default_rng(0))
    params, grads = model.named_parameters(), model.named_gradients()
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for _ in range(250):
        x = rng.uniform(-1, 1, size=(32, 8, 1)).astype(np.float32)
        y = np.cumsum(x, axis=1) / 2
        pred = model.forward(x, training=True)
        losses.append(float(np.mean((pred - y) ** 2)))
        model.backward(2 * (pred - y) / pred.size)
        for k in params:
            velocity[k] = 0.9 * velocity[k] - 0.1 * grads[k]
            params[k] += velocity[k]
    assert np.mean(losses[:5]) > 0.1  # the target's variance is about 0.4
    assert np.mean(losses[-10:]) < 0.01
