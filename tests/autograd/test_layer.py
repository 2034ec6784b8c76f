"""AutogradLayer and AutogradLoss inside the framework: same numbers as the hand-written
layers, and the same tools (gradcheck, containers, profiler, summary, optimizers) work."""
import copy
import gc
import weakref

import numpy as np
import pytest

import nnpy
from nnpy.autograd import (AutogradLayer, AutogradLoss, Parameters, Tensor, abs, cross_entropy, dropout, relu,
                           tanh)
from nnpy.engine.summary import summary
from nnpy.engine.timer import Timer
from nnpy.errors import AutogradError, ShapeError
from nnpy.layers import Dense, Flatten, ReLU
from nnpy.nn.layers import Chain, Residual
from nnpy.nn.losses import CrossEntropy
from tests.plugins import load_plugin

load_plugin("plugins/layernorm.py")


class TensorDense(AutogradLayer):
    """y = x @ W + b, written as its forward alone (not registered: used as an object)."""

    def __init__(self, units: int, init="glorot_uniform", name=None):
        super().__init__(name)
        self.units, self.init = int(units), init

    def build(self, input_shape):
        self.add_param("W", (input_shape[-1], self.units), self.init)
        self.add_param("b", (self.units,), "zeros")
        return (*input_shape[:-1], self.units)

    def forward(self, x, training=False):
        return x @ self.param("W") + self.param("b")

    def flops(self):
        return 2 * self.params["W"].size


class ActivityL1(AutogradLayer):
    """tanh(x), adding strength · mean|tanh(x)| to the loss (an activity regularizer)."""

    def __init__(self, strength: float = 0.1, name=None):
        super().__init__(name)
        self.strength = strength

    def forward(self, x, training=False):
        h = tanh(x)
        self.add_penalty(self.strength * abs(h).mean())
        return h


def pair_of_dense(units=7, input_shape=(5,), seed=3):
    ours, theirs = TensorDense(units), Dense(units)
    ours.initialize(input_shape, rng=np.random.default_rng(seed))
    theirs.initialize(input_shape, rng=np.random.default_rng(seed))
    return ours, theirs


@pytest.mark.parametrize("input_shape", [(5,), (4, 5)], ids=["features", "sequence"])
def test_tensor_dense_matches_dense(input_shape):
    ours, theirs = pair_of_dense(input_shape=input_shape)
    np.testing.assert_array_equal(ours.params["W"], theirs.params["W"])
    x = np.random.default_rng(0).normal(size=(8, *input_shape)).astype(np.float32)
    g = np.random.default_rng(1).normal(size=(8, *input_shape[:-1], 7)).astype(np.float32)
    y_ours, y_theirs = ours.forward(x, training=True), theirs.forward(x, training=True)
    assert y_ours.dtype == np.float32 and ours.output_shape == theirs.output_shape
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-6, atol=1e-6)
    dx_ours, dx_theirs = ours.backward(g), theirs.backward(g)
    assert dx_ours.dtype == np.float32
    np.testing.assert_allclose(dx_ours, dx_theirs, rtol=1e-5, atol=1e-6)
    for key in ("W", "b"):
        assert ours.grads[key].dtype == np.float32
        np.testing.assert_allclose(ours.grads[key], theirs.grads[key], rtol=1e-5, atol=1e-5)


def test_needs_input_grad_false_skips_dx():
    ours, _ = pair_of_dense()
    ours.needs_input_grad = False
    x = np.ones((2, 5), np.float32)
    ours.forward(x, training=True)
    assert ours.backward(np.ones((2, 7), np.float32)) is None
    assert np.abs(ours.grads["W"]).sum() > 0


@pytest.mark.parametrize("spec, shape", [
    ({"type": "PluginLayerNorm"}, (6,)), ({"type": "PluginLayerNorm", "epsilon": 0.1}, (3, 4)), ({"type": "Swish"}, (2, 3))])
def test_plugin_layers_pass_nnpy_gradcheck(spec, shape):
    result = nnpy.gradcheck(spec, shape)
    assert result.passed and result.errors, result


def test_gradcheck_of_an_object_and_of_containers():
    """A float64 copy is checked (gradcheck's astype path), also inside Chain and Residual."""
    ours, _ = pair_of_dense()
    assert nnpy.gradcheck(ours, (5,)).passed
    assert ours.params["W"].dtype == np.float32              # the original is untouched
    seq = Chain([TensorDense(6), ReLU(), TensorDense(3), nnpy.make_layer({"type": "PluginLayerNorm"})])
    result = nnpy.gradcheck(seq, (4,))
    assert result.passed and len(result.errors) == 7, result
    res = Residual([TensorDense(4), nnpy.make_layer({"type": "Swish"}), TensorDense(4)], activation="Tanh")
    result = nnpy.gradcheck(res, (4,))
    assert result.passed and len(result.errors) == 5, result


def test_a_penalty_enters_backward_and_gradcheck():
    layer = ActivityL1(strength=0.5)
    layer.initialize((6,))
    x = np.random.default_rng(0).normal(size=(3, 6))
    layer.forward(x.astype(np.float32), training=True)
    assert layer.penalty == pytest.approx(0.5 * np.abs(np.tanh(x)).mean(), rel=1e-6)
    assert nnpy.gradcheck(layer, (6,)).passed
    # the gradient with the penalty differs from the one without it
    layer.forward(x.astype(np.float32), training=True)
    with_penalty = layer.backward(np.zeros((3, 6), np.float32))
    expected = 0.5 * np.sign(np.tanh(x)) * (1 - np.tanh(x) ** 2) / x.size
    np.testing.assert_allclose(with_penalty, expected, rtol=1e-5)
    model = Chain([TensorDense(6), layer])
    model.initialize((4,))
    model.forward(np.ones((2, 4), np.float32))
    assert model.total_penalty() == pytest.approx(layer.penalty)


def test_profile_layers_times_autograd_layers():
    model = nnpy.Sequential([TensorDense(8), ReLU(), TensorDense(3)], seed=0)
    model.build((4,))
    timer = Timer()
    timer.profile_layers(model)
    x = np.ones((5, 4), np.float32)
    y = model.forward(x, training=True)
    model.backward(np.ones_like(y))
    timer.unwrap()
    keys = set(timer.layer_totals)
    assert {"tensordense_1 (TensorDense).forward", "tensordense_1 (TensorDense).backward"} <= keys
    assert np.abs(model.named_gradients()["tensordense_1.W"]).sum() > 0


def test_summary_shows_autograd_layers_and_infers_shapes():
    model = nnpy.Sequential([Flatten(), TensorDense(10), nnpy.make_layer({"type": "Swish"}),
                             nnpy.make_layer({"type": "PluginLayerNorm"})], seed=0)
    model.build((2, 3))
    text = summary(model)
    assert "TensorDense" in text and "Swish" in text and "(10,)" in text
    assert model.layers[2].output_shape == (10,)          # Swish has no build: shape from its forward
    assert model.count_params() == 6 * 10 + 10 + 20


def test_shape_errors_name_the_layer():
    model = nnpy.Sequential([TensorDense(4), nnpy.make_layer({"type": "PluginLayerNorm"})], seed=0)
    model.build((3,))
    with pytest.raises(ShapeError) as exc:
        model.forward(np.ones((2, 5), np.float32))
    assert "tensordense_1" in str(exc.value) and "(2, 5)" in str(exc.value) and "(3, 4)" in str(exc.value)
    model.forward(np.ones((2, 3), np.float32))
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(2, 4\)"):
        model.layers[1].backward(np.ones((2, 3), np.float32))


def test_forward_must_return_a_tensor_and_backward_needs_a_forward():
    class Broken(AutogradLayer):
        def build(self, input_shape):
            return input_shape

        def forward(self, x, training=False):
            return x.data

    layer = Broken()
    layer.initialize((3,))
    with pytest.raises(AutogradError, match="must return a Tensor"):
        layer.forward(np.ones((1, 3), np.float32))
    with pytest.raises(AutogradError, match="without a forward"):
        TensorDense(2).backward(np.ones((1, 2)))


def test_dropout_in_an_autograd_layer_uses_the_layer_rng_like_dropout():
    class TensorDropout(AutogradLayer):
        def forward(self, x, training=False):
            return dropout(x, 0.4, training, self.rng)

    ours, theirs = TensorDropout(), nnpy.layers.Dropout(0.4)
    ours.initialize((20,), rng=np.random.default_rng(9))
    theirs.initialize((20,), rng=np.random.default_rng(9))
    x = np.ones((4, 20), np.float32)
    np.testing.assert_array_equal(ours.forward(x, training=True), theirs.forward(x, training=True))
    np.testing.assert_array_equal(ours.forward(x, training=False), x)


def test_nested_autograd_layers():
    class Block(AutogradLayer):
        def __init__(self, name=None):
            super().__init__(name)
            self.inner = TensorDense(4, name="inner")

        def children(self):
            return [self.inner]

        def build(self, input_shape):
            self.inner.initialize(input_shape, self.rng, self.dtype)
            self.add_param("scale", (4,), "ones")
            return self.inner.output_shape

        def forward(self, x, training=False):
            return relu(self.inner(x)) * self.param("scale")

    block = Block()
    result = nnpy.gradcheck(block, (3,))
    assert result.passed and set(result.errors) == {"input", "scale", "inner.W", "inner.b"}, result


class TensorCrossEntropy(AutogradLoss):
    def forward(self, pred, target):
        return cross_entropy(pred, target)


def test_autograd_loss_matches_cross_entropy():
    z = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    t = np.array([0, 3, 1, 1, 2, 0])
    ours, theirs = TensorCrossEntropy(), CrossEntropy()
    assert ours.forward(z, t) == pytest.approx(theirs.forward(z, t), rel=1e-6)
    np.testing.assert_allclose(ours.backward(), theirs.backward(), rtol=1e-5, atol=1e-7)


def test_autograd_layer_and_loss_train_with_model_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    model = nnpy.Sequential([TensorDense(16), nnpy.make_layer({"type": "Swish"}), TensorDense(2)], seed=1)
    model.compile(optimizer={"type": "adam", "lr": 0.03}, loss=TensorCrossEntropy(), metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=50, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_parameters_let_nnpy_optimizers_update_tensors():
    w = Tensor(np.array([3.0, -2.0]), requires_grad=True)
    params = Parameters(w=w)
    opt = nnpy.make_optimizer({"type": "sgd", "lr": 0.1}, params)
    for _ in range(100):
        params.zero_grad()
        (w * w).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.data, 0.0, atol=1e-8)
    with pytest.raises(AutogradError, match="requires_grad"):
        Parameters(v=Tensor([1.0]))


def test_deepcopy_of_a_used_layer():
    ours, _ = pair_of_dense()
    ours.forward(np.ones((2, 5), np.float32), training=True)
    clone = copy.deepcopy(ours)
    clone.backward(np.ones((2, 7), np.float32))
    assert np.abs(clone.grads["W"]).sum() > 0


def test_a_layer_holds_its_graph_until_backward_and_no_longer():
    gc.disable()
    try:
        layer, _ = pair_of_dense()
        layer.forward(np.ones((2, 5), np.float32), training=True)
        product = weakref.ref(layer._graph[1].creator.inputs[0].data)     # x @ W, inside the graph
        assert product() is not None
        layer.backward(np.ones((2, 7), np.float32))
        assert product() is None
        layer.forward(np.ones((2, 5), np.float32), training=True)
        product = weakref.ref(layer._graph[1].creator.inputs[0].data)
        del layer                                   # no reference cycles: freed without the collector
        assert product() is None
    finally:
        gc.enable()
