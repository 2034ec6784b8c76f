"""The fused evaluation forward (nnpy.kernels.inference, planned by nnpy/nn/layers/evaluation.py)
against the plain evaluation, every layer's own forward in turn: the same outputs to float32
rounding, never stale weights, a backward afterwards as after the plain forward, and
NNPY_REFERENCE=1 running the plain layers."""
import numpy as np
import pytest

import nnpy
import nnpy.functional as F
from nnpy.kernels import reference_mode
from nnpy.models import build_model
from nnpy.nn.layers import BatchNorm, Conv2D

RESNET = {"symbol": "resnet", "widths": [4, 8], "blocks": [1, 1], "stem_stride": 2}
LENET = {"symbol": "lenet", "widths": [3, 5], "fc": 7, "dropout": [0.25, 0.5]}
# a bias before BatchNorm, BatchNorm without a ReLU after it, a conv without either, 'same' padding with
# an odd total and stride 3, another activation after the block
ODD = {"layers": [
    {"type": "Conv2D", "filters": 5, "kernel_size": 3, "padding": "same", "stride": 3},
    {"type": "BatchNorm"}, {"type": "Tanh"},
    {"type": "Conv2D", "filters": 6, "kernel_size": 2, "padding": 1}, {"type": "BatchNorm"},
    {"type": "Conv2D", "filters": 3, "kernel_size": 1}, {"type": "ReLU"},
    {"type": "Residual", "layers": [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1}],
     "activation": "Sigmoid"},
    {"type": "Flatten"}, {"type": "Dense", "units": 4}]}


def model_with_statistics(spec, shape=(2, 11, 13), seed=0):
    """A built float32 model whose BatchNorm layers hold running statistics and an affine map
    far from the identity, so that folding them matters."""
    model = build_model(spec, shape, 4, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for layer in model.walk():
        if isinstance(layer, BatchNorm):
            c = layer.params["gamma"].shape
            layer.buffers["running_mean"][...] = rng.normal(0, 0.5, c)
            layer.buffers["running_var"][...] = rng.uniform(0.2, 3, c)
            layer.params["gamma"][...] = rng.uniform(0.5, 2, c)
            layer.params["beta"][...] = rng.normal(0, 0.5, c)
        if isinstance(layer, Conv2D) and "b" in layer.params:
            layer.params["b"][...] = rng.normal(0, 0.5, layer.params["b"].shape)
    return model


def plain_evaluation(model, x):
    with reference_mode():
        return model.forward(x, training=False)


def fused_evaluation(model, x):
    y = model.forward(x, training=False)
    assert model._plan.fuses and model._evaluated is x        # the plan ran
    return y


@pytest.mark.parametrize("spec,shape", [(RESNET, (1, 12, 12)), (LENET, (1, 12, 12)), (ODD, (2, 11, 13))])
@pytest.mark.parametrize("batch", [1, 3])
def test_fused_evaluation_gives_the_plain_numbers(spec, shape, batch, fast_kernels):
    model = model_with_statistics(spec, shape)
    x = np.random.default_rng(2).normal(size=(batch, *shape)).astype(np.float32)
    y = fused_evaluation(model, x)
    np.testing.assert_allclose(y, plain_evaluation(model, x), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(fused_evaluation(model, x), y, rtol=0, atol=0)      # the shared scratch is reused
    assert np.array_equal(x, np.random.default_rng(2).normal(size=x.shape).astype(np.float32))  # x untouched


def test_fold_batch_norm_is_the_convolution_then_batch_norm():
    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=(2, 3, 6, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    mean, var, gamma, beta = rng.normal(size=4), rng.uniform(0.5, 2, 4), rng.normal(size=4), rng.normal(size=4)
    y = F.conv2d(x, W, b, (1, 1), ((1, 1), (1, 1)))
    rows, unrows = F.channel_rows(y)
    expected = unrows(F.batch_norm_evaluate(rows, mean, var, gamma, beta, 1e-3)[0])
    W2, b2 = F.fold_batch_norm(W, b, mean, var, gamma, beta, 1e-3)
    np.testing.assert_allclose(F.conv2d(x, W2, b2, (1, 1), ((1, 1), (1, 1))), expected, rtol=1e-12, atol=1e-12)
    _, b_none = F.fold_batch_norm(W, None, mean, var, gamma, beta, 1e-3)
    np.testing.assert_allclose(b_none, b2 - b * gamma / np.sqrt(var + 1e-3), rtol=1e-12, atol=1e-12)


def test_the_folded_weights_follow_an_optimizer_step_and_a_load(tmp_path, fast_kernels):
    model = nnpy.Sequential(build_model(RESNET, (1, 12, 12), 4, rng=np.random.default_rng(0)).layers, seed=0)
    model.compile(loss="cross_entropy", optimizer={"type": "sgd", "lr": 0.5})
    model.build((1, 12, 12))
    x = np.random.default_rng(4).normal(size=(3, 1, 12, 12)).astype(np.float32)
    before = fused_evaluation(model, x).copy()
    model.save(tmp_path / "before.json")
    model.fit(x, np.array([0, 1, 2]), epochs=2, batch_size=3, verbose=0)   # moves weights and statistics
    after = fused_evaluation(model, x)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, plain_evaluation(model, x), rtol=2e-5, atol=2e-5)
    conv = next(layer for layer in model.walk() if isinstance(layer, Conv2D))
    conv.params["W"][...] *= 2                                               # an edit by hand
    np.testing.assert_allclose(fused_evaluation(model, x), plain_evaluation(model, x), rtol=2e-5, atol=2e-5)
    loaded = nnpy.load(tmp_path / "before.json")
    np.testing.assert_allclose(fused_evaluation(loaded, x), before, rtol=2e-5, atol=2e-5)


def test_a_backward_after_the_fused_forward_is_the_plain_one(fast_kernels):
    model = model_with_statistics(RESNET, (1, 12, 12))
    x = np.random.default_rng(5).normal(size=(2, 1, 12, 12)).astype(np.float32)
    g = np.random.default_rng(6).normal(size=(2, 4)).astype(np.float32)
    y = fused_evaluation(model, x)
    model.backward(g)
    fused = {k: v.copy() for k, v in model.named_gradients().items()}
    model._forward_layers(x, training=False)                # the plain evaluation forward, fast layers
    model.backward(g)
    for name, grad in model.named_gradients().items():
        np.testing.assert_array_equal(fused[name], grad, err_msg=name)
    assert y.shape == (2, 4)


def test_reference_mode_evaluates_layer_by_layer(fast_kernels):
    model = model_with_statistics(RESNET, (1, 12, 12))
    x = np.random.default_rng(7).normal(size=(2, 1, 12, 12)).astype(np.float32)
    with reference_mode():
        model.forward(x, training=False)
        assert model._evaluated is None and model.layers[1].rows is not None   # BatchNorm's own forward ran
    model.forward(x, training=True)
    assert model._evaluated is None                                          # training never fuses


def test_a_chain_without_convolutions_runs_its_layers(fast_kernels):
    model = build_model({"symbol": "mlp", "hidden": [5]}, (1, 4, 4), 3, rng=np.random.default_rng(0))
    x = np.random.default_rng(8).normal(size=(2, 1, 4, 4)).astype(np.float32)
    model.forward(x, training=False)
    assert not model._plan.fuses and model._evaluated is None


def test_a_batch_split_over_threads_gives_the_numbers_of_one_part(monkeypatch, fast_kernels):
    from nnpy.kernels import threads
    from nnpy.nn.layers import evaluation

    model = model_with_statistics(RESNET, (1, 12, 12))
    x = np.random.default_rng(9).normal(size=(5, 1, 12, 12)).astype(np.float32)
    whole = fused_evaluation(model, x).copy()
    blas = threads.blas_threads()
    before = blas[0]() if blas else None
    seen = []
    monkeypatch.setattr(evaluation, "SPLIT_FLOPS", 0)
    monkeypatch.setattr(model._plan, "run", lambda xs, scratch, run=model._plan.run: seen.append(
        (len(xs), blas[0]() if blas else None)) or run(xs, scratch))
    monkeypatch.setattr(threads, "_threads", 2)
    split = fused_evaluation(model, x)
    if blas is None:
        pytest.skip("this BLAS's threads cannot be set: the batch is not split")
    assert sorted(seen) == [(2, 1), (3, 1)]                   # two parts, BLAS on one thread in each
    assert blas[0]() == before                                 # and its threads back afterwards
    np.testing.assert_allclose(split, whole, rtol=1e-6, atol=1e-6)


def test_a_copy_of_an_evaluated_model_makes_its_own_plan(fast_kernels):
    import copy

    model = model_with_statistics(RESNET, (1, 12, 12))
    x = np.random.default_rng(10).normal(size=(2, 1, 12, 12)).astype(np.float32)
    y = fused_evaluation(model, x).copy()
    twin = copy.deepcopy(model)                    # as gradcheck copies a built layer
    assert twin._plan is None
    np.testing.assert_array_equal(fused_evaluation(twin, x), y)
    assert twin._plan.layers[0] is twin.layers[0] and model._plan.layers[0] is model.layers[0]
