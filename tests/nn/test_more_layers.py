"""Issue 31's single-input layers against PyTorch, on awkward shapes (odd sizes, stride 2,
padding), in float64: Conv1D, Conv2DTranspose, UpSampling2D, GlobalMaxPool2D, MaxPool1D,
AvgPool1D, GlobalAvgPool1D. Forward, input gradient and weight gradients must agree."""
import re

import numpy as np
import pytest

import nnpy
from nnpy.errors import NnpyError
from tests.prerequisites import require_module

TOL = 1e-10          # float64 against float64: only summation order differs


def run_both(spec, x, torch_fn, weights=lambda layer: ()):
    """(nnpy layer, y, dx, grads) and the same from ``torch_fn(x_t, *weights_t)``, for an upstream gradient g."""
    torch = require_module("torch")
    layer = nnpy.make_layer(spec)
    layer.initialize(x.shape[1:], rng=np.random.default_rng(0), dtype=np.float64)
    for p in layer.params.values():
        p += np.random.default_rng(3).normal(0, 0.1, p.shape)       # biases not all zero
    y = layer.forward(x, training=True)
    g = np.random.default_rng(2).normal(size=y.shape)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    wt = [torch.tensor(w, requires_grad=True) for w in weights(layer)]
    yt = torch_fn(xt, *wt)
    (yt * torch.tensor(g)).sum().backward()
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TOL, atol=TOL)
    return layer, [w.grad.numpy() for w in wt]


@pytest.mark.parametrize("stride,padding,length", [(1, 0, 9), (2, 1, 10), (2, "same", 9), (3, "valid", 11),
                                                   (1, "same", 8)])
def test_conv1d_matches_torch(stride, padding, length):
    torch = require_module("torch")
    x = np.random.default_rng(1).normal(size=(3, 2, length))
    spec = {"type": "Conv1D", "filters": 5, "kernel_size": 4 if padding == "same" else 3, "stride": stride,
            "padding": padding}
    k = spec["kernel_size"]

    def torch_conv(xt, W, b):
        if padding == "same":      # TensorFlow's 'same': the odd extra at the right
            total = max((-(-length // stride) - 1) * stride + k - length, 0)
            xt = torch.nn.functional.pad(xt, (total // 2, total - total // 2))
            return torch.nn.functional.conv1d(xt, W, b, stride=stride)
        return torch.nn.functional.conv1d(xt, W, b, stride=stride, padding=0 if padding == "valid" else padding)

    layer, (dW, db) = run_both(spec, x, torch_conv, lambda l: (l.params["W"], l.params["b"]))
    np.testing.assert_allclose(layer.grads["W"], dW, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(layer.grads["b"], db, rtol=TOL, atol=TOL)
    if padding == "same":
        assert layer.output_shape == (5, -(-length // stride))


@pytest.mark.parametrize("kernel,stride,padding,output_padding,hw", [
    (3, 2, 1, 1, (4, 5)), (3, 2, 0, 0, (3, 3)), ((2, 3), (2, 1), (0, 1), (1, 0), (5, 4)), (4, 3, 1, 2, (2, 3)),
    (1, 1, 0, 0, (3, 2))])
def test_conv2d_transpose_matches_torch(kernel, stride, padding, output_padding, hw):
    torch = require_module("torch")
    x = np.random.default_rng(1).normal(size=(2, 3, *hw))
    spec = {"type": "Conv2DTranspose", "filters": 4, "kernel_size": kernel, "stride": stride, "padding": padding,
            "output_padding": output_padding}
    layer, (dW, db) = run_both(spec, x, lambda xt, W, b: torch.nn.functional.conv_transpose2d(
        xt, W, b, stride=stride, padding=padding, output_padding=output_padding),
        lambda l: (l.params["W"], l.params["b"]))
    assert layer.params["W"].shape[:2] == (3, 4)           # (in channels, filters, kh, kw), as PyTorch
    np.testing.assert_allclose(layer.grads["W"], dW, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(layer.grads["b"], db, rtol=TOL, atol=TOL)


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    """<conv2d(u), v> == <u, conv_transpose2d(v)> with the same W, stride and padding."""
    F = nnpy.functional
    rng = np.random.default_rng(0)
    u, W = rng.normal(size=(2, 4, 7, 6)), rng.normal(size=(3, 4, 3, 3))
    v = F.conv2d(u, W, None, (2, 2), ((1, 1), (1, 1)))
    v = rng.normal(size=v.shape)
    lhs = (F.conv2d(u, W, None, (2, 2), ((1, 1), (1, 1))) * v).sum()
    rhs = (u * F.conv_transpose2d(v, W, None, (2, 2), ((1, 1), (1, 1)), (7, 6))).sum()
    assert abs(lhs - rhs) < 1e-9 * abs(lhs)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("size,hw", [(2, (3, 5)), ((3, 2), (4, 1)), (1, (2, 3)), (4, (1, 3))])
def test_upsampling2d_matches_torch(mode, size, hw):
    torch = require_module("torch")
    x = np.random.default_rng(1).normal(size=(2, 3, *hw))
    factor = size if isinstance(size, tuple) else (size, size)
    extra = {"align_corners": False} if mode == "bilinear" else {}
    run_both({"type": "UpSampling2D", "size": size, "interpolation": mode}, x,
             lambda xt: torch.nn.functional.interpolate(xt, scale_factor=factor, mode=mode, **extra))


def test_global_max_pool2d_matches_torch_and_breaks_ties_to_the_first():
    torch = require_module("torch")
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 3))
    run_both({"type": "GlobalMaxPool2D"}, x, lambda xt: torch.amax(xt, dim=(2, 3)))
    layer = nnpy.make_layer({"type": "GlobalMaxPool2D"})
    layer.initialize((1, 2, 2))
    layer.forward(np.array([[[[0.0, 1.0], [1.0, 1.0]]]]))
    assert layer.backward(np.array([[1.0]])).tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


@pytest.mark.parametrize("pool,stride,padding,length", [(2, None, 0, 9), (3, 2, 1, 10), (3, 1, "same", 7),
                                                        (4, 3, "valid", 13)])
def test_pool1d_matches_torch(pool, stride, padding, length):
    torch = require_module("torch")
    x = np.random.default_rng(1).normal(size=(2, 3, length))
    tf = torch.nn.functional
    pads = (pool - 1) // 2 if padding == "same" else (0 if padding == "valid" else padding)  # odd pool, stride 1

    def torch_pool(kind):
        s = stride or pool
        if kind == "max":
            return lambda xt: tf.max_pool1d(xt, pool, s, padding=pads)
        return lambda xt: tf.avg_pool1d(xt, pool, s, padding=pads, count_include_pad=True)

    for kind, name in (("max", "MaxPool1D"), ("avg", "AvgPool1D")):
        spec = {"type": name, "pool_size": pool, "stride": stride, "padding": padding}
        run_both(spec, x, torch_pool(kind))


def test_global_avg_pool1d_matches_torch():
    torch = require_module("torch")
    x = np.random.default_rng(1).normal(size=(2, 3, 7))
    run_both({"type": "GlobalAvgPool1D"}, x, lambda xt: torch.mean(xt, dim=2))


@pytest.mark.parametrize("spec,shape,culprit", [
    ({"type": "Conv1D", "filters": 2}, (3, 4, 5), "sequences (C, L)"),
    ({"type": "Conv1D", "filters": 2, "kernel_size": 5}, (3, 4), "at least as long"),
    ({"type": "MaxPool1D", "pool_size": 3}, (3, 2), "at least as long"),
    ({"type": "UpSampling2D"}, (3, 4), "images (C, H, W)"),
    ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 1, "padding": 1}, (1, 2, 2), "large enough"),
])
def test_wrong_inputs_name_the_layer(spec, shape, culprit):
    with pytest.raises(NnpyError, match=re.escape(culprit)):
        nnpy.make_layer(spec).initialize(shape)


@pytest.mark.parametrize("spec,option", [
    ({"type": "Conv2DTranspose", "filters": 2, "stride": 2, "output_padding": 2}, "output_padding"),
    ({"type": "UpSampling2D", "interpolation": "bicubic"}, "interpolation"),
    ({"type": "Conv1D", "filters": 2, "padding": [1, 2]}, "padding"),
    ({"type": "AvgPool1D", "pool_size": 0}, "pool_size"),
])
def test_bad_options_name_the_option(spec, option):
    with pytest.raises(NnpyError, match=option):
        nnpy.make_layer(spec)
