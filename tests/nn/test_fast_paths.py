"""The speed tricks against their plain references: threaded passes against one thread, the
2×2 max-pool pair passes against the window-by-window routing, ReLU after MaxPool against
the order the layers are listed in, batch-inner layouts against NCHW inputs, Dense's
transposed backward, the optimizers' split updates, SGD's one-pass BLAS update. Each is exact
(bit for bit) unless said."""
import threading

import numpy as np
import pytest

import nnpy
from nnpy.symbols import make_model
from nnpy.kernels import threads as pool
from nnpy.nn.layers import BatchNorm, Chain, Conv2D, Dense, MaxPool2D, ReLU
from nnpy import functional as F
from nnpy.kernels import pooling
from nnpy.nn.layers.containers import norm_then_relu, pool_before_relu
from nnpy.optim import make_optimizer
from nnpy.kernels import blas


pytestmark = pytest.mark.usefixtures("fast_kernels")     # the kernels are the subject here


@pytest.fixture(autouse=True)
def keep_thread_count():
    before = pool.num_threads()
    yield
    pool.set_num_threads(before)


@pytest.fixture
def split_everything(monkeypatch):
    """Split every pass over 3 threads, however small (the tests' arrays are tiny)."""
    monkeypatch.setattr(pool, "MIN_BYTES", 0)
    pool.set_num_threads(3)


def in_memory_order(a, perm):
    """a (N, C, H, W) with its memory laid out in the axis order ``perm``, same shape and values."""
    return np.ascontiguousarray(a.transpose(perm)).transpose(np.argsort(perm))


def run_layer(layer, x, g, training=True):
    y = layer.forward(x, training=training)
    dx = layer.backward(g)
    return [np.array(y), None if dx is None else np.array(dx), *(np.array(v) for v in layer.grads.values())]


def layer_by_layer(layers, x, g):
    """(output, dx) of ``layers`` run in the listed order, one layer at a time (training), as a
    Chain runs them without its fast paths."""
    for layer in layers:
        x = layer.forward(x, training=True)
    for layer in reversed(layers):
        g = layer.backward(g)
    return x, g


def assert_identical(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        if u is None or v is None:
            assert u is v
        else:
            assert u.dtype == v.dtype and u.shape == v.shape
            np.testing.assert_array_equal(u, v)


# ---- the thread pool --------------------------------------------------------------------------

def test_split_over_threads_covers_the_range_once_on_several_threads(split_everything):
    seen, parts, names = np.zeros(1000, int), [], set()

    def body(lo, hi):
        seen[lo:hi] += 1
        parts.append((lo, hi))
        names.add(threading.current_thread().name)
    pool.split_over_threads(1000, body, nbytes=1)
    assert (seen == 1).all() and len(parts) == 3 and len(names) >= 2


def test_small_passes_and_nested_calls_run_on_the_calling_thread(monkeypatch):
    pool.set_num_threads(2)                     # (the fixture restores the count)
    calls = []
    pool.split_over_threads(10, lambda lo, hi: calls.append((lo, hi)), nbytes=pool.MIN_BYTES - 1)
    assert calls == [(0, 10)]
    monkeypatch.setattr(pool, "MIN_BYTES", 0)
    inner = []
    pool.split_over_threads(4, lambda lo, hi: pool.split_over_threads(
        6, lambda a, b: inner.append((a, b)), nbytes=10 ** 9), nbytes=10 ** 9)
    assert sorted(inner) == [(0, 6), (0, 6)]        # each part ran its inner loop whole


def test_an_exception_in_a_part_reaches_the_caller(split_everything):
    def body(lo, hi):
        if lo > 0:
            raise ValueError(f"part {lo}")
    with pytest.raises(ValueError, match="part"):
        pool.split_over_threads(9, body, nbytes=1)


def test_thread_count_must_be_positive():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            pool.set_num_threads(bad)


def test_elementwise_splits_along_the_outer_memory_axis(split_everything):
    x = in_memory_order(np.random.default_rng(0).normal(size=(5, 7, 3, 4)), (1, 2, 3, 0))
    assert pool.outer_axis(x) == 1
    out = np.empty_like(x)
    pool.elementwise(np.maximum, x, 0.0, out=out)
    np.testing.assert_array_equal(out, np.maximum(x, 0.0))
    assert out.transpose(1, 2, 3, 0).flags.c_contiguous


# ---- layers: threaded == one thread, bit for bit ----------------------------------------------

LAYERS = [
    (lambda: Conv2D(filters=6, kernel_size=3, padding=1), (4, 9, 8)),
    (lambda: Conv2D(filters=5, kernel_size=3), (3, 10, 10)),
    (lambda: Conv2D(filters=4, kernel_size=4, stride=2), (3, 11, 12)),
    (lambda: MaxPool2D(2), (4, 8, 6)),
    (lambda: MaxPool2D(3, stride=2), (4, 9, 9)),
    (lambda: ReLU(), (4, 6, 5)),
    (lambda: BatchNorm(), (6, 5, 4)),
    (lambda: BatchNorm(), (12,)),
]


@pytest.mark.parametrize("make,shape", LAYERS)
@pytest.mark.parametrize("training", [True, False])
def test_layers_give_the_same_bits_on_one_thread_and_on_three(make, shape, training, monkeypatch):
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(6, *shape)), 1).astype(np.float32)     # rounded: ties for the pools
    results = []
    for threads in (1, 3):
        pool.set_num_threads(threads)
        monkeypatch.setattr(pool, "MIN_BYTES", 0)
        layer = make()
        out = layer.initialize(shape, rng=np.random.default_rng(1), dtype=np.float32)
        g = np.random.default_rng(2).normal(size=(6, *out)).astype(np.float32)
        results.append(run_layer(layer, x, g, training))
    assert_identical(*results)


def test_a_whole_resnet_step_is_bit_identical_on_one_and_three_threads(monkeypatch):
    spec = {"symbol": "resnet", "widths": [4, 8], "blocks": [1, 1], "stem_stride": 2}
    x = np.random.default_rng(0).normal(size=(5, 1, 12, 12)).astype(np.float32)
    weights = []
    for threads in (1, 3):
        pool.set_num_threads(threads)
        monkeypatch.setattr(pool, "MIN_BYTES", 0)
        model = make_model(spec, (1, 12, 12), 3, rng=np.random.default_rng(1))
        opt = make_optimizer({"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                              "weight_decay": 1e-3}, model)
        for _ in range(2):
            y = model.forward(x, training=True)
            model.backward(np.ones_like(y))
            opt.step()
        weights.append([np.array(v) for v in model.state_dict().values()])
    assert_identical(*weights)


# ---- MaxPool2D: the 2×2 pair passes against the window-by-window routing ------------------------

@pytest.mark.parametrize("chunk_bytes", [1 << 20, 1, 700])     # one chunk; a row of windows each; uneven
@pytest.mark.parametrize("perm", [(0, 1, 2, 3), (1, 0, 2, 3), (1, 2, 3, 0)])
def test_max_pool_pairs_match_the_window_routing(perm, chunk_bytes, monkeypatch):
    monkeypatch.setattr(pooling, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(0)
    x = in_memory_order(rng.integers(-2, 3, size=(3, 4, 6, 8)).astype(np.float64), perm)   # many ties
    g = rng.normal(size=(3, 4, 3, 4))
    fast, plain = MaxPool2D(2), MaxPool2D(2)
    fast.initialize((4, 6, 8), dtype=np.float64)
    plain.initialize((4, 6, 8), dtype=np.float64)
    y = fast.forward(x, training=True)
    assert fast.kernel.pairs is not None
    geometry = (plain.pool_size, plain.stride, plain.pads, plain.out_hw)   # the reference: the plain math
    y_plain, winners = F.max_pool2d(np.ascontiguousarray(x), *geometry)
    np.testing.assert_array_equal(y, y_plain)
    dx, ref = fast.backward(g), F.max_pool2d_backward(winners, g, x.shape, plain.pads)
    np.testing.assert_array_equal(dx, ref)
    # the first maximum of each window, in row-major order, got its gradient
    windows = x.reshape(3, 4, 3, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(3, 4, 3, 4, 4)
    first = windows.argmax(axis=-1)
    picked = dx.reshape(3, 4, 3, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(3, 4, 3, 4, 4)
    np.testing.assert_array_equal(np.take_along_axis(picked, first[..., None], -1)[..., 0], g)
    assert y.transpose(perm).flags.c_contiguous and dx.transpose(perm).flags.c_contiguous


def test_max_pool_pairs_need_rows_contiguous_in_memory():
    layer = MaxPool2D(2)
    layer.initialize((3, 4, 4), dtype=np.float64)
    x = in_memory_order(np.random.default_rng(0).normal(size=(2, 3, 4, 4)), (0, 1, 3, 2))   # W before H
    y = layer.forward(x, training=True)
    assert layer.kernel.pairs is None
    np.testing.assert_array_equal(y, x.reshape(2, 3, 2, 2, 2, 2).max(axis=(3, 5)))


# ---- ReLU after MaxPool2D ---------------------------------------------------------------------

def test_chain_runs_a_relu_after_the_max_pool_that_follows_it():
    layers = [Conv2D(2, 3), ReLU(), MaxPool2D(2), ReLU(), Dense(3)]
    order = pool_before_relu(layers)
    assert order == [layers[0], layers[2], layers[1], layers[3], layers[4]]
    assert pool_before_relu([ReLU(), Dense(2)])[0].type_name == "ReLU"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_then_max_pool_in_either_order_gives_the_same_bits(dtype):
    specs = [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1}, {"type": "ReLU"},
             {"type": "MaxPool2D", "pool_size": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 2}]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 2, 6, 6)).astype(dtype)
    x[:, :, :3] = -1.0                                     # windows whose max is <= 0, and ties
    chain = Chain(specs)
    chain.initialize((2, 6, 6), rng=np.random.default_rng(1), dtype=dtype)
    chain.layers[0].params["b"][:] = [-0.5, 0.0, 0.5]
    g = rng.normal(size=(4, 2)).astype(dtype)
    y, dx = chain.forward(x, training=True), chain.backward(g)
    assert chain._ran[1:3] == [chain.layers[2], chain.layers[1]]          # it did run them swapped
    fused = [np.array(y), np.array(dx), *(v.copy() for v in chain.named_gradients().values())]
    h, grad = layer_by_layer(chain.layers, x, g)
    assert_identical(fused, [np.array(h), np.array(grad), *(v.copy() for v in chain.named_gradients().values())])


def test_relu_max_pool_chain_passes_the_gradient_check():
    spec = {"type": "Chain", "layers": [{"type": "Conv2D", "filters": 3, "kernel_size": 3},
                                        {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 2}]}
    for first_layer in (True, False):
        result = nnpy.gradcheck(spec, (2, 8, 8), batch=3, needs_input_grad=not first_layer)
        assert result.passed, str(result)


# ---- BatchNorm then ReLU as one step -----------------------------------------------------------

def test_chain_trains_a_batchnorm_and_the_relu_after_it_as_one_step():
    layers = [Conv2D(2, 3), BatchNorm(), ReLU(), BatchNorm(), Dense(3), ReLU(), BatchNorm()]
    steps = norm_then_relu(layers)
    assert [type(s).__name__ for s in steps] == ["Conv2D", "NormThenReLU", "BatchNorm", "Dense", "ReLU", "BatchNorm"]
    assert (steps[1].norm, steps[1].relu) == (layers[1], layers[2])


def test_a_profiled_relu_runs_as_itself():
    """``nnpy train --profile`` wraps every leaf layer's forward and backward: the pair then runs
    as two layers, so that the ReLU's stopwatch sees its forward."""
    from nnpy.engine.timer import Timer

    chain = Chain([{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "BatchNorm"}, {"type": "ReLU"}])
    chain.initialize((1, 5, 5), rng=np.random.default_rng(0))
    timer = Timer()
    timer.profile_layers(chain)
    chain.backward(np.ones_like(chain.forward(np.ones((2, 1, 5, 5), np.float32), training=True)))
    assert not any(type(s).__name__ == "NormThenReLU" for s in chain._ran)
    assert any(key.endswith("(ReLU).forward") for key in timer.layer_totals)
    timer.unwrap()
    chain.forward(np.ones((2, 1, 5, 5), np.float32), training=True)
    assert any(type(s).__name__ == "NormThenReLU" for s in chain._ran)


@pytest.mark.parametrize("frozen_norm", [False, True])
def test_batchnorm_then_relu_as_one_step_gives_the_same_bits(frozen_norm):
    """The fused step (the ReLU written over the BatchNorm's output, dx over the ReLU's gradient)
    against the layers one at a time: output, dx, every gradient and the running statistics."""
    import copy

    specs = [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1, "use_bias": False},
             {"type": "BatchNorm"}, {"type": "ReLU"},
             {"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1, "use_bias": False},
             {"type": "BatchNorm"}, {"type": "ReLU"}, {"type": "Flatten"}, {"type": "Dense", "units": 2}]
    rng = np.random.default_rng(0)
    chain = Chain(specs)
    chain.initialize((2, 6, 5), rng=np.random.default_rng(1), dtype=np.float32)
    for bn in (chain.layers[1], chain.layers[4]):
        bn.params["gamma"][:] = rng.normal(size=3)                # negative γ too: the mask cuts both ways
        bn.params["beta"][:] = rng.normal(size=3)
    chain.layers[4].trainable = not frozen_norm
    plain = copy.deepcopy(chain)
    x = rng.normal(size=(4, 2, 6, 5)).astype(np.float32)
    g = rng.normal(size=(4, 2)).astype(np.float32)
    y, dx = chain.forward(x, training=True), chain.backward(g)
    assert sum(type(s).__name__ == "NormThenReLU" for s in chain._ran) == 2
    h, grad = layer_by_layer(plain.layers, x, g)

    def state(c):
        return [*(v.copy() for v in c.named_gradients().values()),
                *(np.array(b) for layer in c.layers for b in getattr(layer, "buffers", {}).values())]
    assert_identical([np.array(y), np.array(dx), *state(chain)], [np.array(h), np.array(grad), *state(plain)])


def test_batchnorm_relu_chain_passes_the_gradient_check():
    spec = {"type": "Chain", "layers": [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "use_bias": False},
                                        {"type": "BatchNorm"}, {"type": "ReLU"}]}     # (a bias here has dL/db = 0)
    result = nnpy.gradcheck(spec, (2, 6, 6), batch=3)
    assert result.passed, str(result)


# ---- layouts between layers -------------------------------------------------------------------

@pytest.mark.parametrize("perm", [(0, 1, 2, 3), (1, 0, 2, 3), (1, 2, 3, 0)])
def test_conv_gives_the_same_bits_whatever_the_input_memory_order(perm):
    conv = Conv2D(filters=3, kernel_size=3, padding=1)
    conv.initialize((2, 5, 6), rng=np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).normal(size=(4, 2, 5, 6))
    g = np.random.default_rng(2).normal(size=(4, 3, 5, 6))
    reference = run_layer(conv, x, g)
    assert_identical(run_layer(conv, in_memory_order(x, perm), in_memory_order(g, perm)), reference)


@pytest.mark.parametrize("x_perm, g_perm", [((1, 2, 3, 0), (0, 1, 2, 3)), ((0, 1, 2, 3), (1, 2, 3, 0)),
                                             ((1, 2, 3, 0), (1, 2, 3, 0))])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_do_not_depend_on_the_memory_orders(x_perm, g_perm, training):
    """The upstream gradient may come in another memory order than the input had (a Flatten
    after a BatchNorm of a Conv2D's output hands back NCHW): BatchNorm's rows must match."""
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(4, 3, 5, 6)), rng.normal(size=(4, 3, 5, 6))
    bn = BatchNorm()
    bn.initialize((3, 5, 6), rng=rng, dtype=np.float64)
    bn.params["gamma"] += rng.normal(size=3)
    reference = run_layer(bn, x, g, training)
    got = run_layer(bn, in_memory_order(x, x_perm), in_memory_order(g, g_perm), training)
    for a, b in zip(got, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_conv_batchnorm_flatten_dense_passes_the_gradient_check():
    spec = {"type": "Chain", "layers": [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "use_bias": False},
                                        {"type": "BatchNorm"}, {"type": "Flatten"}, {"type": "Dense", "units": 4}]}
    assert nnpy.nn.gradcheck(spec, (2, 6, 6), batch=3).passed


def test_dense_after_a_flattened_conv_returns_dx_in_the_conv_memory_order():
    conv_out = in_memory_order(np.random.default_rng(0).normal(size=(5, 3, 2, 2)), (1, 2, 3, 0))
    x = conv_out.reshape(5, 12)                            # a view: Flatten of (C, H, W, N) memory
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    dense = Dense(4)
    dense.initialize((12,), rng=np.random.default_rng(1), dtype=np.float64)
    g = np.random.default_rng(2).normal(size=(5, 4))
    dense.forward(x, training=True)
    dx = dense.backward(g)
    np.testing.assert_allclose(dx, g @ dense.params["W"].T, rtol=1e-13)   # the same product, transposed
    assert dx.reshape(5, 3, 2, 2).transpose(1, 2, 3, 0).flags.c_contiguous


# ---- optimizers: a split update == the whole update ---------------------------------------------

def weights_only(p0):
    """A Dense layer without bias whose W is p0 (in p0's dtype): one parameter to update."""
    layer = Dense(p0.shape[1], use_bias=False)
    layer.initialize((p0.shape[0],), dtype=p0.dtype)
    layer.params["W"][...] = p0
    return layer


@pytest.mark.parametrize("spec", [{"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
                                  {"type": "rmsprop", "lr": 0.01, "weight_decay": 0.01},
                                  {"type": "adam", "lr": 0.01}, {"type": "adamw", "lr": 0.01}])
def test_optimizer_steps_split_over_threads_give_the_same_bits(spec, monkeypatch):
    rng = np.random.default_rng(0)
    p0, grads = rng.normal(size=(37, 11)), [rng.normal(size=(37, 11)) for _ in range(3)]
    finals = []
    for threads in (1, 3):
        pool.set_num_threads(threads)
        monkeypatch.setattr(pool, "MIN_BYTES", 0)
        layer = weights_only(p0)
        opt = make_optimizer(spec, layer)
        for g in grads:          # the first step creates the state inside the pieces
            layer.grads["W"][...] = g
            opt.step()
        finals.append([layer.params["W"].copy(), *(np.array(v) for v in opt.state["W"].values())])
        assert all(v.shape == (37, 11) for v in opt.state["W"].values())
    assert_identical(*finals)


# ---- SGD: each line of the update as one BLAS pass (y ← α·x + β·y) --------------------------------

@pytest.mark.skipif(not blas.openblas_libraries(), reason="numpy does not use OpenBLAS here")
@pytest.mark.parametrize("spec", [{"type": "sgd", "lr": 0.1}, {"type": "sgd", "lr": 0.1, "momentum": 0.9},
                                  {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
                                  {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}])
def test_sgd_in_single_blas_passes_is_the_plain_update_rounded_once(spec, monkeypatch):
    """The fast update runs through ``blas.axpby`` and gives the plain update's numbers to float32
    rounding: the velocity bit for bit where no weight decay brings the weights into it, the
    weights each rounded once instead of twice."""
    rng = np.random.default_rng(0)
    p0, grads = rng.normal(size=(37, 11)).astype(np.float32), [rng.normal(size=(37, 11)).astype(np.float32) for _ in range(3)]
    calls = []
    monkeypatch.setattr(blas, "axpby", lambda *a, _f=blas.axpby: calls.append(1) or _f(*a))
    finals = []
    for reference in (True, False):
        layer = weights_only(p0)
        opt = make_optimizer(spec, layer)
        with nnpy.reference_mode(reference):
            for i, g in enumerate(grads):
                layer.grads["W"][...] = g
                opt.step()
        finals.append((layer.params["W"].copy(), [np.array(v) for v in opt.state.get("W", {}).values()]))
    assert calls, "the fast path did not run"
    (p_plain, v_plain), (p_fast, v_fast) = finals
    for a, b in zip(v_plain, v_fast):
        if "weight_decay" in spec:          # g + wd·p: the weights' rounding reaches the velocity
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(p_fast, p_plain, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(p_fast, p_plain)      # rounded once: some weights differ


def test_sgd_without_blas_runs_the_plain_update_bit_for_bit(monkeypatch):
    rng = np.random.default_rng(0)
    p0, g = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    finals = []
    for no_blas in (False, True):
        if no_blas:
            monkeypatch.setattr(blas, "_axpby", {"f": None})
        layer = weights_only(p0)
        layer.grads["W"][...] = g
        opt = make_optimizer({"type": "sgd", "lr": 0.1, "momentum": 0.9}, layer)
        with nnpy.reference_mode(not no_blas):
            opt.step(); opt.step()
        finals.append(layer.params["W"].copy())
    np.testing.assert_array_equal(*finals)
