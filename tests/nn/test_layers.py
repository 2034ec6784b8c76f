import numpy as np
import pytest

import nnpy
from nnpy.errors import RegistryError, ShapeError
from nnpy.nn.layers import BatchNorm, Dense, Dropout, Chain


def test_dropout_is_inverted_and_identity_in_eval():
    d = Dropout(rate=0.25)
    d.initialize((1000,), rng=np.random.default_rng(0))
    x = np.ones((20, 1000), np.float32)
    y = d.forward(x, training=True)
    kept = y != 0
    assert 0.70 < kept.mean() < 0.80
    assert np.allclose(y[kept], 1 / 0.75)
    g = d.backward(np.ones_like(x))
    assert np.array_equal(g != 0, kept)
    assert np.array_equal(d.forward(x, training=False), x)


def test_batchnorm_training_normalizes_and_eval_uses_running_stats():
    bn = BatchNorm(momentum=0.5)
    bn.initialize((3, 4, 4), rng=np.random.default_rng(0))
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(8, 3, 4, 4)) * 3 + 5).astype(np.float32)
    y = bn.forward(x, training=True)
    assert np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3)
    mean = x.mean(axis=(0, 2, 3))
    assert np.allclose(bn.buffers["running_mean"], 0.5 * mean, atol=1e-5)
    n = 8 * 16
    assert np.allclose(bn.buffers["running_var"], 0.5 + 0.5 * x.var(axis=(0, 2, 3)) * n / (n - 1), rtol=1e-4)
    before = bn.buffers["running_mean"].copy()
    y_eval = bn.forward(x, training=False)
    assert np.array_equal(bn.buffers["running_mean"], before)  # eval never updates statistics
    expected = (x - before.reshape(1, -1, 1, 1)) / np.sqrt(bn.buffers["running_var"].reshape(1, -1, 1, 1) + 1e-5)
    assert np.allclose(y_eval, expected, atol=1e-4)


def test_batchnorm_running_statistics_follow_the_momentum_formula():
    """running ← momentum · running + (1 − momentum) · batch, with a momentum where the two differ."""
    bn = BatchNorm(momentum=0.8)
    bn.initialize((2,), rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(2):
        x = rng.normal(3.0, 2.0, size=(10, 2))
        bn.forward(x, training=True)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.buffers["running_mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(bn.buffers["running_var"], var, rtol=1e-12)


@pytest.mark.parametrize("stride, shortcut", [(1, "identity"), (2, "projection")])
def test_residual_gradcheck_with_each_shortcut(stride, shortcut):
    spec = {"type": "Residual", "layers": [
        {"type": "Conv2D", "filters": 2, "kernel_size": 3, "stride": stride, "padding": 1}, {"type": "Tanh"}]}
    block = nnpy.make_layer(spec)
    block.initialize((2, 5, 5), rng=np.random.default_rng(0))
    assert (block.shortcut is None) == (shortcut == "identity")
    result = nnpy.gradcheck(spec, (2, 5, 5), batch=3)
    assert result.passed, str(result)


def test_batchnorm_2d_input():
    bn = BatchNorm()
    bn.initialize((5,))
    y = bn.forward(np.random.default_rng(0).normal(size=(16, 5)).astype(np.float32) + 3, training=True)
    assert np.allclose(y.mean(axis=0), 0, atol=1e-5)


def test_unknown_layer_suggests_a_near_match():
    with pytest.raises(RegistryError, match=r"unknown layer 'Dropuot' .*did you mean 'Dropout'.*valid layers:"):
        nnpy.make_layer({"type": "Dropuot", "rate": 0.3})


def test_unknown_option_names_the_option_and_the_valid_ones():
    with pytest.raises(RegistryError, match=r"Dense.*unknown option 'unit'.*did you mean 'units'.*valid options: units"):
        nnpy.make_layer({"type": "Dense", "unit": 3})


def test_bad_option_value_names_the_layer():
    with pytest.raises(RegistryError, match=r"layer 'Dropout': rate must be in \[0, 1\)"):
        nnpy.make_layer({"type": "Dropout", "rate": 1.5})


def test_bad_shape_names_the_layer_and_both_shapes():
    model = Chain([{"type": "Dense", "units": 4}, {"type": "BatchNorm"}, {"type": "Flatten"}])
    model2 = Chain([{"type": "Dense", "units": 4}])
    with pytest.raises(ShapeError, match=r"layer 'dense_1' \(Dense\) expects .*input shape is \(1, 28, 28\)"):
        model2.initialize((1, 28, 28))
    with pytest.raises(ShapeError, match=r"batchnorm_1"):
        Chain([{"type": "Flatten"}, {"type": "Reshape", "target_shape": [2, 2]},
                    {"type": "BatchNorm"}]).initialize((4,))
    assert model.initialize((3,)) == (4,)


def test_sequential_names_and_state_dict_round_trip():
    model = Chain([Dense(8), {"type": "ReLU"}, Dense(2, name="head")])
    model.initialize((3,), rng=np.random.default_rng(0))
    assert list(model.named_parameters()) == ["dense_1.W", "dense_1.b", "head.W", "head.b"]
    other = Chain([Dense(8), {"type": "ReLU"}, Dense(2, name="head")])
    other.initialize((3,), rng=np.random.default_rng(1))
    other.load_state_dict(model.state_dict())
    x = np.ones((2, 3), np.float32)
    assert np.array_equal(model.forward(x), other.forward(x))


def test_same_seed_gives_identical_initialization():
    def make(seed):
        m = Chain([Dense(5), Dense(3)])
        m.initialize((4,), rng=np.random.default_rng(seed))
        return m.state_dict()
    a, b, c = make(3), make(3), make(4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["dense_1.W"], c["dense_1.W"])


def test_float64_on_request():
    m = Chain([Dense(5)])
    m.initialize((4,), dtype="float64")
    assert m.params == {} and m.layers[0].params["W"].dtype == np.float64


def test_user_defined_layer_through_the_registry():
    @nnpy.register_layer("TestScale")
    class Scale(nnpy.Layer):
        """y = x · s (one learnable scalar per feature)."""

        def build(self, input_shape):
            self.add_param("s", input_shape, "ones")
            return input_shape

        def forward(self, x, training=False):
            self.x = x
            return x * self.params["s"]

        def backward(self, grad_y):
            self.grads["s"][...] = (grad_y * self.x).sum(axis=0)
            return grad_y * self.params["s"]

    try:
        assert nnpy.gradcheck({"type": "TestScale"}, (4,)).passed
    finally:
        from nnpy.registry import LAYERS, _norm
        del LAYERS._items["TestScale"], LAYERS._keys[_norm("TestScale")]


def test_layers_with_no_parameter_below_them_compute_no_input_gradient():
    """A Chain hands dL/dx only to layers that have a parameter below them (or a caller that wants
    it): the Dense after a Flatten skips dy @ Wᵀ (the MLP's largest product at its input), with the
    same parameter gradients; inside a Residual every layer still gives dx."""
    spec = [{"type": "Flatten"}, {"type": "Dropout", "rate": 0.5}, {"type": "Dense", "units": 5},
            {"type": "ReLU"}, {"type": "Dense", "units": 3}]
    model = nnpy.Sequential(spec, seed=0)
    model.build((2, 3, 3))
    assert [layer.needs_input_grad for layer in model.layers] == [False, False, False, True, True]
    x = np.random.default_rng(1).normal(size=(4, 2, 3, 3)).astype(np.float32)
    g = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)

    def gradients(first_dense_gives_dx: bool):
        model.layers[2].needs_input_grad = first_dense_gives_dx
        model.set_rng(np.random.default_rng(3))                 # the same dropout mask each time
        model.forward(x, training=True)
        dx = model.backward(g)
        return dx, {k: v.copy() for k, v in model.named_gradients().items()}

    (skipped, grads), (_, grads_with_dx) = gradients(False), gradients(True)
    assert skipped is None and grads.keys() == grads_with_dx.keys()
    for k in grads:
        np.testing.assert_array_equal(grads[k], grads_with_dx[k])
    block = nnpy.make_layer({"type": "Residual", "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 18},
                                                          {"type": "Reshape", "target_shape": [2, 3, 3]}]})
    block.initialize((2, 3, 3), np.random.default_rng(0))
    assert all(layer.needs_input_grad for layer in block.main.layers)
