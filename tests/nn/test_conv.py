"""Conv2D: finite-difference gradients, a loop-by-loop reference, shapes and errors."""
import math

import numpy as np
import pytest

import nnpy
from nnpy.errors import ShapeError
from nnpy.functional.windows import resolve_padding
from nnpy.kernels.im2col import BATCH_INNER, BATCH_MIDDLE
from nnpy.nn.layers import Conv2D


def conv_reference(x, W, b, stride, pads):
    """Cross-correlation with explicit loops; pads = ((top, bottom), (left, right))."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    sh, sw = stride
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    ho = (xp.shape[2] - kh) // sh + 1
    wo = (xp.shape[3] - kw) // sw + 1
    y = np.zeros((n, f, ho, wo))
    for s in range(n):
        for o in range(f):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[s, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    y[s, o, i, j] = np.sum(patch * W[o]) + (b[o] if b is not None else 0.0)
    return y


# (options, input shape (C, H, W))
CASES = [
    ({"filters": 2, "kernel_size": 3}, (1, 5, 6)),                                   # 1 channel, valid
    ({"filters": 3, "kernel_size": 3, "stride": 2, "padding": 1}, (3, 7, 6)),        # odd/even sizes
    ({"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 5, 5)),                # even kernel, same
    ({"filters": 2, "kernel_size": 4, "stride": 2, "padding": "same"}, (2, 7, 6)),   # same + stride
    ({"filters": 3, "kernel_size": (2, 3), "stride": (2, 1), "padding": (1, 0),
      "use_bias": False}, (2, 6, 5)),                                                # pairs, no bias
    ({"filters": 4, "kernel_size": 1, "stride": 2, "use_bias": False}, (3, 5, 5)),   # 1x1 projection
    ({"filters": 2, "kernel_size": 5, "stride": 3}, (2, 9, 11)),                     # big kernel, stride 3
    ({"filters": 2, "kernel_size": 3, "stride": 1, "padding": "same"}, (1, 4, 3)),   # same, odd kernel
    ({"filters": 16, "kernel_size": 3, "stride": 2, "padding": 1}, (2, 8, 8)),       # 1 KiB sample strides
    ({"filters": 3, "kernel_size": (3, 2), "padding": (2, 1)}, (2, 4, 5)),           # stride 1, padding k − 1
    ({"filters": 2, "kernel_size": 3, "padding": "same"}, (3, 5, 4)),                # stride 1, same size
    ({"filters": 2, "kernel_size": 2, "padding": 2}, (2, 3, 4)),                     # stride 1, padding > k − 1
]


@pytest.mark.parametrize("options,shape", CASES)
def test_gradcheck(options, shape):
    result = nnpy.gradcheck({"type": "Conv2D", **options}, shape, batch=3)
    assert result.passed and result.worst < 1e-6, str(result)
    assert set(result.errors) == {"input", "W", *(["b"] if options.get("use_bias", True) else [])}


@pytest.mark.parametrize("options,shape", CASES)
def test_forward_matches_reference(options, shape):
    layer = Conv2D(**options)
    out_shape = layer.initialize(shape, rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    if layer.use_bias:
        layer.params["b"][:] = rng.normal(size=layer.params["b"].shape)
    x = rng.normal(size=(3, *shape))
    y = layer.forward(x)
    ref = conv_reference(x, layer.params["W"], layer.params.get("b"), layer.stride, layer.pads)
    assert y.shape == (3, *out_shape) == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-10, atol=1e-12)


LAYOUTS = {"batch_inner": BATCH_INNER, "batch_middle": BATCH_MIDDLE}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("options,shape", [CASES[1], CASES[3], CASES[4], CASES[6]])
def test_both_layouts(layout, options, shape):
    layer = Conv2D(**options)
    layer.initialize(shape, rng=np.random.default_rng(0), dtype=np.float64)
    layer.kernel.axes = LAYOUTS[layout]
    result = nnpy.gradcheck(layer, shape, batch=3)
    assert result.passed and result.worst < 1e-6, str(result)
    x = np.random.default_rng(1).normal(size=(3, *shape))
    ref = conv_reference(x, layer.params["W"], layer.params.get("b"), layer.stride, layer.pads)
    np.testing.assert_allclose(layer.forward(x), ref, rtol=1e-10, atol=1e-12)


def test_output_and_input_gradient_keep_the_batch_inner_memory_order(fast_kernels):
    layer = Conv2D(filters=2, kernel_size=3, padding=1)
    layer.initialize((3, 6, 6), rng=np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(4, 3, 6, 6)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert layer.kernel.axes == BATCH_INNER and y.shape == (4, 2, 6, 6)
    assert y.transpose(BATCH_INNER).flags.c_contiguous                  # (C, H, W, N) in memory
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.transpose(BATCH_INNER).flags.c_contiguous


def test_same_padding_puts_the_extra_row_bottom_right():
    assert resolve_padding("same", (2, 2), (1, 1), (5, 5)) == ((0, 1), (0, 1))
    assert resolve_padding("same", (4, 3), (2, 2), (7, 6)) == ((1, 2), (0, 1))
    assert resolve_padding("valid", (3, 3), (2, 2), (7, 6)) == ((0, 0), (0, 0))


@pytest.mark.parametrize("hw,k,s", [((28, 28), 3, 1), ((28, 28), 4, 2), ((13, 7), 3, 2), ((7, 7), 2, 3),
                                    ((5, 6), 4, 1)])
def test_same_output_is_ceil_of_size_over_stride(hw, k, s):
    layer = Conv2D(filters=4, kernel_size=k, stride=s, padding="same")
    assert layer.initialize((2, *hw)) == (4, math.ceil(hw[0] / s), math.ceil(hw[1] / s))


def test_output_shapes_and_flops():
    cases = [({"kernel_size": 4, "stride": 2}, (1, 28, 28), (32, 13, 13)),
             ({"kernel_size": 3, "stride": 2, "padding": 1}, (32, 13, 13), (32, 7, 7)),
             ({"kernel_size": (3, 5), "padding": "valid"}, (3, 10, 12), (32, 8, 8))]
    for options, shape, expected in cases:
        layer = Conv2D(filters=32, **options)
        assert layer.initialize(shape) == expected
        assert layer.params["W"].shape == (32, shape[0], *layer.kernel_size)
        assert layer.params["b"].shape == (32,)
        kh, kw = layer.kernel_size
        assert layer.flops() == 2 * 32 * shape[0] * kh * kw * expected[1] * expected[2]


def test_float32_stays_float32():
    layer = Conv2D(filters=4, kernel_size=3, padding=1)
    layer.initialize((3, 6, 6), rng=np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(2, 3, 6, 6))             # float64 input
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones(y.shape))                               # float64 gradient
    assert y.dtype == dx.dtype == np.float32
    assert all(a.dtype == np.float32 for a in (*layer.params.values(), *layer.grads.values()))


def test_first_layer_skips_input_gradient():
    layer = Conv2D(filters=4, kernel_size=3, stride=2)
    layer.initialize((2, 7, 7), rng=np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).normal(size=(3, 2, 7, 7))
    g = np.random.default_rng(2).normal(size=(3, 4, 3, 3))
    layer.forward(x, training=True)
    layer.backward(g)
    full = {k: v.copy() for k, v in layer.grads.items()}
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    for buffer in layer.grads.values():
        buffer.fill(np.nan)             # fresh buffers: every gradient must be written again
    assert layer.backward(g) is None
    for k in full:
        np.testing.assert_allclose(layer.grads[k], full[k], rtol=1e-12)


def test_reused_buffers_do_not_leak_between_calls():
    layer = Conv2D(filters=3, kernel_size=3, padding="same")
    layer.initialize((2, 5, 5), rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    x1, x2, x3 = rng.normal(size=(4, 2, 5, 5)), rng.normal(size=(4, 2, 5, 5)), rng.normal(size=(1, 2, 5, 5))
    y1 = layer.forward(x1)
    y1_copy = y1.copy()
    dx1 = layer.backward(np.ones_like(y1))
    dx1_copy = dx1.copy()
    layer.forward(x2)
    layer.backward(np.full_like(y1, 2.0))
    np.testing.assert_array_equal(y1, y1_copy)                          # outputs are fresh arrays
    np.testing.assert_array_equal(dx1, dx1_copy)
    y3 = layer.forward(x3)                                              # another batch size
    np.testing.assert_allclose(y3, conv_reference(x3, layer.params["W"], layer.params["b"], (1, 1),
                                                  layer.pads), rtol=1e-10)


def test_registry_aliases_and_config_round_trip():
    layer = nnpy.make_layer({"type": "Conv2d", "filters": 8, "kernel_size": [3, 2], "stride": 2,
                             "padding": "same", "use_bias": False})
    assert isinstance(layer, Conv2D)
    clone = nnpy.make_layer(layer.get_config())
    assert clone.initialize((3, 9, 9)) == layer.initialize((3, 9, 9)) == (8, 5, 5)
    assert "b" not in layer.params


def test_shape_error_names_the_layer_and_both_shapes():
    layer = Conv2D(filters=4, kernel_size=3, name="conv_a")
    with pytest.raises(ShapeError, match=r"'conv_a' \(Conv2D\) expects images \(C, H, W\).*\(5, 5\)"):
        layer.initialize((5, 5))
    layer = Conv2D(filters=4, kernel_size=5, name="conv_b")
    with pytest.raises(ShapeError, match=r"'conv_b' \(Conv2D\) expects .*5×5 kernel.*\(1, 4, 9\)"):
        layer.initialize((1, 4, 9))
    layer = Conv2D(filters=4, kernel_size=3, name="conv_c")
    layer.initialize((1, 6, 6))
    with pytest.raises(ShapeError, match=r"'conv_c' .*\(1, 6, 6\).*\(2, 6, 6\)"):
        layer.forward(np.zeros((2, 2, 6, 6), dtype=np.float32))


@pytest.mark.parametrize("bad", [{"filters": 0}, {"filters": 3, "kernel_size": 0},
                                 {"filters": 3, "stride": (1, 2, 3)}, {"filters": 3, "padding": "full"},
                                 {"filters": 3, "padding": -1}])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError):
        Conv2D(**bad)
