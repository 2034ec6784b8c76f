"""nnpy.functional: each operation's forward and backward written once, for arrays and Tensors.

The backward functions are checked against float64 central differences; the same function run on
numpy arrays and on autograd Tensors gives the same numbers; and the layers, losses, metrics and
autograd Functions that use an operation give what the core gives (so there is one softmax).
"""
import numpy as np
import pytest

import nnpy.functional as F
from nnpy.autograd import Tensor
from nnpy.nn.gradcheck import central_differences, relative_error

RNG = np.random.default_rng(0)


def numeric_gradient(f, x, g):
    """d(Σ f(x)·g)/dx by central differences, every entry (float64)."""
    x = x.copy()
    return central_differences(lambda: float(np.sum(f(x) * g)), x, np.arange(x.size), 1e-6).reshape(x.shape)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_backward_match_finite_differences(axis):
    z = RNG.normal(size=(3, 5, 4)) * 3
    g = RNG.normal(size=z.shape)
    dz = F.softmax_backward(F.softmax(z, axis), g, axis)
    assert relative_error(dz, numeric_gradient(lambda a: F.softmax(a, axis), z, g)) < 1e-8
    dz = F.log_softmax_backward(F.log_softmax(z, axis), g, axis)
    assert relative_error(dz, numeric_gradient(lambda a: F.log_softmax(a, axis), z, g)) < 1e-8


def test_softmax_is_stable_and_sums_to_one():
    z = np.array([[1000.0, 0.0, -1000.0], [-5.0, -5.0, -5.0]], np.float32)
    p = F.softmax(z)
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1)
    assert np.allclose(np.exp(F.log_softmax(z)), p)
    assert p.dtype == np.float32


@pytest.mark.parametrize("loss,backward,extra", [
    (F.mse, F.mse_backward, ()), (F.mae, F.mae_backward, ()), (F.huber, F.huber_backward, (0.7,)),
])
def test_regression_loss_gradients_match_finite_differences(loss, backward, extra):
    d = RNG.normal(size=(4, 3))
    numeric = numeric_gradient(lambda a: loss(a, *extra), d, np.ones(()))
    assert relative_error(backward(d, *extra), numeric) < 1e-8


def test_cross_entropy_gradient_matches_finite_differences():
    z = RNG.normal(size=(6, 4))
    t = F.one_hot(RNG.integers(0, 4, 6), 4, np.float64) * 0.9 + 0.025
    numeric = numeric_gradient(lambda a: F.cross_entropy(F.log_softmax(a, axis=1), t), z, np.ones(()))
    assert relative_error(F.cross_entropy_backward(F.softmax(z, axis=1), t), numeric) < 1e-8


def test_binary_cross_entropy_gradient_matches_finite_differences():
    z = RNG.normal(size=(5, 2)) * 4
    t = RNG.uniform(size=z.shape)
    numeric = numeric_gradient(lambda a: F.binary_cross_entropy(a, t)[0], z, np.ones(()))
    assert relative_error(F.binary_cross_entropy_backward(F.binary_cross_entropy(z, t)[1], t), numeric) < 1e-8


def test_one_function_runs_on_arrays_and_on_tensors():
    z = RNG.normal(size=(4, 5))
    for f in (F.softmax, F.log_softmax):
        assert np.array_equal(f(Tensor(z)).data, f(z))
    t = F.one_hot(np.array([0, 3, 1, 4]), 5, np.float64)
    assert F.cross_entropy(F.log_softmax(Tensor(z), axis=1), t).item() == F.cross_entropy(F.log_softmax(z, axis=1), t)


def test_the_layers_losses_metrics_and_autograd_use_the_one_core():
    from nnpy import autograd, metrics
    from nnpy.layers import Softmax
    from nnpy.nn.losses import MSE, CrossEntropy

    z = RNG.normal(size=(6, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0, 2])
    layer = Softmax()
    layer.initialize((3,))
    assert np.array_equal(layer.forward(z), F.softmax(z))
    assert np.array_equal(autograd.softmax(Tensor(z)).data, F.softmax(z))
    assert np.array_equal(autograd.log_softmax(Tensor(z)).data, F.log_softmax(z))
    expected = F.cross_entropy(F.log_softmax(z, axis=1), F.one_hot(labels, 3, np.float32))
    assert CrossEntropy().forward(z, labels) == float(expected)
    assert autograd.cross_entropy(Tensor(z), labels).item() == pytest.approx(float(expected), rel=1e-6)
    y = RNG.normal(size=z.shape).astype(np.float32)
    assert MSE().forward(z, y) == float(F.mse(z - y))
    assert metrics.mse(z, y) == pytest.approx(float(F.mse(z.astype(np.float64) - y)), rel=1e-12)
    assert nnpy_softmax_is_the_core()


def nnpy_softmax_is_the_core() -> bool:
    import nnpy.nn.losses
    import nnpy.nn.metrics
    return nnpy.nn.losses.softmax is F.softmax and nnpy.nn.metrics.softmax is F.softmax


@pytest.mark.parametrize("name,forward,backward", [
    ("relu", F.relu, lambda x, y, g: F.relu_backward(y, g)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x, y, g: F.leaky_relu_backward(x > 0, g, 0.1)),
    ("elu", lambda x: F.elu(x, 0.7), lambda x, y, g: F.elu_backward(x > 0, y, g, 0.7)),
    ("sigmoid", F.sigmoid, lambda x, y, g: F.sigmoid_backward(y, g)),
    ("tanh", F.tanh, lambda x, y, g: F.tanh_backward(y, g)),
])
def test_activation_gradients_match_finite_differences(name, forward, backward):
    x = RNG.normal(size=(4, 6)) * 3
    x[np.abs(x) < 1e-3] = 0.5                    # no kink within ε of a sample
    g = RNG.normal(size=x.shape)
    assert relative_error(backward(x, forward(x), g), numeric_gradient(forward, x, g)) < 1e-8


def test_activation_layers_and_autograd_give_the_cores_numbers():
    from nnpy import autograd
    from nnpy.nn import make_layer

    x = (RNG.normal(size=(3, 64, 40)) * 4).astype(np.float32)
    g = RNG.normal(size=x.shape).astype(np.float32)
    cases = {"ReLU": (F.relu, F.relu_backward), "Sigmoid": (F.sigmoid, F.sigmoid_backward),
             "Tanh": (F.tanh, F.tanh_backward)}
    for name, (forward, backward) in cases.items():
        layer = make_layer({"type": name})
        layer.initialize(x.shape[1:])
        y = layer.forward(x, training=True)
        assert np.array_equal(y, forward(x)), name
        assert np.array_equal(layer.backward(g), backward(forward(x), g)), name
    for fn, forward in ((autograd.relu, F.relu), (autograd.sigmoid, F.sigmoid), (autograd.tanh, F.tanh)):
        assert np.array_equal(fn(Tensor(x)).data, forward(x))


def test_the_threaded_relu_equals_the_plain_one_on_a_large_array(fast_kernels):
    from nnpy.kernels import threads as pool
    from nnpy.nn import make_layer

    x = RNG.normal(size=(64, 32, 26, 26)).astype(np.float32)      # 5.5 MB per operand
    g = RNG.normal(size=x.shape).astype(np.float32)
    old, threads = pool.MIN_BYTES, pool.num_threads()
    pool.MIN_BYTES = 1 << 20                                        # make sure the split path runs
    pool.set_num_threads(2)
    try:
        layer = make_layer({"type": "ReLU"})
        layer.initialize(x.shape[1:])
        assert np.array_equal(layer.forward(x), F.relu(x))
        assert np.array_equal(layer.backward(g), F.relu_backward(F.relu(x), g))
    finally:
        pool.MIN_BYTES = old
        pool.set_num_threads(threads)


@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4)])
def test_dense_gradients_match_finite_differences(x_shape):
    x, W, b = RNG.normal(size=x_shape), RNG.normal(size=(4, 3)), RNG.normal(size=3)
    g = RNG.normal(size=(*x_shape[:-1], 3))
    dW, db = np.empty_like(W), np.empty_like(b)
    dx = F.dense_backward(x, W, g, dW, db)
    assert relative_error(dx, numeric_gradient(lambda a: F.dense(a, W, b), x, g)) < 1e-8
    assert relative_error(dW, numeric_gradient(lambda a: F.dense(x, a, b), W, g)) < 1e-8
    assert relative_error(db, numeric_gradient(lambda a: F.dense(x, W, a), b, g)) < 1e-8


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 2)])
def test_batch_norm_gradients_match_finite_differences(shape):
    x = RNG.normal(size=shape)
    gamma, beta = RNG.normal(size=shape[1]), RNG.normal(size=shape[1])
    g = RNG.normal(size=shape)

    def forward(a, gm=gamma, bt=beta):
        rows, unrows = F.channel_rows(a)
        return unrows(F.batch_norm(rows, gm, bt, 1e-5)[0])

    rows, unrows = F.channel_rows(x)
    _, _, _, x_centered, inv_std = F.batch_norm(rows, gamma, beta, 1e-5)
    dx, dgamma, dbeta = F.batch_norm_backward(F.channel_rows(g)[0], x_centered, inv_std, gamma)
    assert relative_error(unrows(dx), numeric_gradient(forward, x, g)) < 1e-7
    assert relative_error(dgamma, numeric_gradient(lambda a: forward(x, gm=a), gamma, g)) < 1e-7
    assert relative_error(dbeta, numeric_gradient(lambda a: forward(x, bt=a), beta, g)) < 1e-7


def test_batch_norm_on_batch_inner_rows_gives_the_plain_numbers():
    from nnpy.kernels import normalization as fast_rows

    x = np.ascontiguousarray(RNG.normal(size=(3, 4, 5, 6)).transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    assert fast_rows.batch_inner(x)
    gamma, beta = RNG.normal(size=4), RNG.normal(size=4)
    rows, unrows = fast_rows.channel_rows(x, True)
    plain_rows, plain_unrows = F.channel_rows(x)
    np.testing.assert_allclose(unrows(F.batch_norm(rows, gamma, beta, 1e-5)[0]),
                               plain_unrows(F.batch_norm(plain_rows, gamma, beta, 1e-5)[0]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(1, 4, 3000), (3, 4, 5)])
def test_the_fast_channel_sums_are_the_plain_sums(shape, dtype, rtol):
    """BatchNorm's fast sums (a GEMV with ones, BLAS's dot for batch-inner rows) against numpy's sum
    and einsum, to the dtype's rounding; rows of several samples take the plain path."""
    from nnpy.kernels import normalization as fast_rows

    a, b = (RNG.normal(1.0, 2.0, size=shape).astype(dtype) for _ in range(2))
    for fast, plain, args in ((fast_rows.channel_sums, F.channel_sums, (a,)),
                              (fast_rows.channel_dots, F.channel_dots, (a, b))):
        got, expected = fast(*args), plain(*args)
        assert got.shape == (4,) and got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    np.testing.assert_allclose(F.channel_sums(a), a.astype(np.float64).sum(axis=(0, 2)), rtol=rtol * 10)


POOL_CASES = [((2, 2), (2, 2), ((0, 0), (0, 0)), (5, 4)), ((3, 3), (2, 2), ((1, 1), (1, 1)), (7, 6)),
              ((2, 3), (1, 2), ((0, 1), (1, 1)), (5, 7))]


@pytest.mark.parametrize("pool,stride,pads,hw", POOL_CASES)
def test_pooling_gradients_match_finite_differences(pool, stride, pads, hw):
    from nnpy.functional.windows import output_size

    x = RNG.normal(size=(2, 3, *hw))
    out_hw = tuple(output_size(n, k, s, p) for n, k, s, p in zip(hw, pool, stride, pads))
    geometry = (pool, stride, pads, out_hw)
    g = RNG.normal(size=(2, 3, *out_hw))
    y, winners = F.max_pool2d(x, *geometry)
    assert relative_error(F.max_pool2d_backward(winners, g, x.shape, pads),
                          numeric_gradient(lambda a: F.max_pool2d(a, *geometry)[0], x, g)) < 1e-8
    assert relative_error(F.avg_pool2d_backward(x.shape, g, *geometry),
                          numeric_gradient(lambda a: F.avg_pool2d(a, *geometry), x, g)) < 1e-8
    gg = RNG.normal(size=(2, 3))
    assert relative_error(F.global_avg_pool2d_backward(x, gg), numeric_gradient(F.global_avg_pool2d, x, gg)) < 1e-8


@pytest.mark.parametrize("width", [8, 9])                   # 9: a column no window reaches, no pair passes
@pytest.mark.parametrize("kind", ["MaxPool2D", "AvgPool2D"])
def test_the_tiled_pooling_kernel_gives_the_plain_numbers(kind, width, fast_kernels):
    from nnpy.nn import make_layer

    x = RNG.integers(-2, 3, size=(3, 4, 6, width)).astype(np.float32)   # many ties
    g = RNG.normal(size=(3, 4, 3, 4)).astype(np.float32)
    layer = make_layer({"type": kind, "pool_size": 2})
    layer.initialize((4, 6, width))
    geometry = (layer.pool_size, layer.stride, layer.pads, layer.out_hw)
    for training in (True, False):                                      # pair passes / the fold
        y = layer.forward(x, training=training)
        dx = layer.backward(g)
        if kind == "MaxPool2D":
            y_plain, winners = F.max_pool2d(x, *geometry)
            assert np.array_equal(y, y_plain)
            assert np.array_equal(dx, F.max_pool2d_backward(winners, g, x.shape, layer.pads))
        else:
            assert np.array_equal(y, F.avg_pool2d(x, *geometry))
            assert np.array_equal(dx, F.avg_pool2d_backward(x.shape, g, *geometry))


def test_embedding_backward_adds_the_rows_of_repeated_ids():
    E = RNG.normal(size=(6, 3))
    ids = np.array([[1, 4, 1], [0, 1, 5]])
    dy = RNG.normal(size=(2, 3, 3))
    dE = np.empty_like(E)
    F.embedding_backward(ids, dy, dE)
    expected = np.zeros_like(E)
    np.add.at(expected, ids.reshape(-1), dy.reshape(-1, 3))
    np.testing.assert_allclose(dE, expected, rtol=1e-12)
    assert np.array_equal(F.embedding(E, ids), E[ids])


def test_dropout_mask_layer_and_autograd_draw_the_same_mask():
    from nnpy import autograd
    from nnpy.nn import make_layer

    x = np.ones((50, 40), np.float32)
    layer = make_layer({"type": "Dropout", "rate": 0.3})
    layer.initialize((40,), rng=np.random.default_rng(7))
    y = layer.forward(x, training=True)
    mask = F.dropout_mask(np.random.default_rng(7), x.shape, 0.3, x.dtype)
    assert np.array_equal(y, mask) and set(np.unique(mask)) == {0, np.float32(1 / 0.7)}
    assert np.array_equal(autograd.dropout(Tensor(x), 0.3, rng=np.random.default_rng(7)).data, mask)
    assert abs((mask == 0).mean() - 0.3) < 0.05


def test_overlapping_max_windows_add_their_gradients_and_autograd_picks_the_same_winners():
    from nnpy import autograd

    x = RNG.integers(-2, 3, size=(2, 3, 7, 7)).astype(np.float64)       # ties everywhere
    geometry = ((3, 3), (2, 2), ((0, 0), (0, 0)), (3, 3))
    y, winners = F.max_pool2d(x, *geometry)
    g = RNG.normal(size=y.shape)
    dx = F.max_pool2d_backward(winners, g, x.shape, geometry[2])
    assert np.isclose(dx.sum(), g.sum())                                 # every window's gradient lands once
    t = Tensor(x, requires_grad=True)
    out = autograd.max_pool2d(t, 3, 2)
    (out * Tensor(g)).sum().backward()
    assert np.array_equal(out.data, y) and np.allclose(t.grad.data, dx)


def test_softmax_and_its_backward_written_in_place_equal_the_plain_formulas():
    """The ``out=`` forms (attention writes the probabilities over its scores) compute the same
    numbers as the plain expressions."""
    import numpy as np
    from nnpy.functional.softmax import softmax, softmax_backward
    rng = np.random.default_rng(3)
    z, dy = rng.standard_normal((2, 3, 5, 7)), rng.standard_normal((2, 3, 5, 7))
    y = softmax(z, axis=-1)
    scores = z.copy()
    assert softmax(scores, axis=-1, out=scores) is scores
    np.testing.assert_allclose(scores, np.exp(z) / np.exp(z).sum(-1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(scores, y)
    expected = y * (dy - (dy * y).sum(-1, keepdims=True))
    grad = dy.copy()
    assert softmax_backward(y, grad, axis=-1, out=grad) is grad
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


def test_causal_bias_is_zero_where_a_query_sees_the_key_and_minus_infinity_elsewhere():
    import numpy as np
    from nnpy.functional.attention import causal_bias
    bias = causal_bias(3, 5, offset=2)
    assert bias.dtype == np.float32
    seen = np.arange(5)[None, :] <= 2 + np.arange(3)[:, None]
    assert np.all(bias[seen] == 0) and np.all(np.isneginf(bias[~seen]))
