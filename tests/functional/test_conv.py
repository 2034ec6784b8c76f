"""The plain convolution (nnpy.functional.conv) against a loop-by-loop sum, and its fast twin
(nnpy.kernels.conv, what Conv2D runs) against it, on awkward shapes: odd sizes, stride 2 and 3,
'same' padding with an odd total, 1×1 kernels, batch 1."""
import numpy as np
import pytest

import nnpy
import nnpy.functional as F
from nnpy.kernels import reference_mode
from nnpy.nn.layers import Conv2D

from ..nn.test_conv import CASES, conv_reference


def built(options, shape, dtype):
    layer = Conv2D(**options)
    layer.initialize(shape, rng=np.random.default_rng(0), dtype=dtype)
    return layer


@pytest.mark.parametrize("options,shape", CASES)
def test_plain_convolution_is_the_loop_sum_and_its_backward_matches_finite_differences(options, shape):
    layer = built(options, shape, np.float64)
    W, b = layer.params["W"], layer.params.get("b")
    x = np.random.default_rng(1).normal(size=(2, *shape))
    np.testing.assert_allclose(F.conv2d(x, W, b, layer.stride, layer.pads),
                               conv_reference(x, W, b, layer.stride, layer.pads), rtol=1e-10, atol=1e-12)
    with reference_mode():
        result = nnpy.gradcheck(layer, shape, batch=2)
    assert result.passed, str(result)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("options,shape", CASES)
def test_the_fast_kernel_gives_the_plain_numbers(options, shape, batch, fast_kernels):
    layer = built(options, shape, np.float32)
    W, b = layer.params["W"], layer.params.get("b")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(batch, *shape)).astype(np.float32)
    y = layer.forward(x, training=True)
    dy = rng.normal(size=y.shape).astype(np.float32)
    dx = layer.backward(dy)
    y_plain = F.conv2d(x, W, b, layer.stride, layer.pads)
    dx_plain, dW_plain, db_plain = F.conv2d_backward(x, W, dy, layer.stride, layer.pads)
    np.testing.assert_allclose(y, y_plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, dx_plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["W"], dW_plain, rtol=1e-5, atol=1e-4)
    if b is not None:
        np.testing.assert_allclose(layer.grads["b"], db_plain, rtol=1e-5, atol=1e-4)


def test_reference_mode_runs_the_plain_function(fast_kernels):
    layer = built(CASES[1][0], CASES[1][1], np.float32)
    x = np.random.default_rng(3).normal(size=(2, *CASES[1][1])).astype(np.float32)
    W, b = layer.params["W"], layer.params["b"]
    with reference_mode():
        y = layer.forward(x, training=True)
        assert np.array_equal(y, F.conv2d(x, W, b, layer.stride, layer.pads))
        dx = layer.backward(np.ones_like(y))
    assert np.array_equal(dx, F.conv2d_backward(x, W, np.ones_like(y), layer.stride, layer.pads)[0])
    assert layer.forward(x).transpose(1, 2, 3, 0).flags.c_contiguous       # outside: the fast kernel again
