"""MaxPool2D, AvgPool2D and GlobalAvgPool2D: gradients, loop references, ties and shapes."""
import math

import numpy as np
import pytest

import nnpy
from nnpy.errors import ShapeError
from nnpy.nn.layers import AvgPool2D, GlobalAvgPool2D, MaxPool2D


def pool_reference(x, kind, size, stride, pads):
    """Max or average (divisor kh·kw, padding included) pooling with explicit loops."""
    (kh, kw), (sh, sw) = size, stride
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]), constant_values=fill)
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.empty((*x.shape[:2], ho, wo))
    for i in range(ho):
        for j in range(wo):
            win = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = win.max(axis=(2, 3)) if kind == "max" else win.sum(axis=(2, 3)) / (kh * kw)
    return y


# (options, input shape, uses the reshape path)
CASES = [
    ({"pool_size": 2}, (2, 6, 6), True),                                  # tiles exactly
    ({"pool_size": 2}, (3, 7, 5), True),                                  # tiles, odd sizes cropped
    ({"pool_size": (2, 3)}, (1, 4, 9), True),                             # 1 channel, rectangular
    ({"pool_size": 3, "stride": 2}, (2, 7, 7), False),                    # overlapping windows
    ({"pool_size": 3, "stride": 2, "padding": 1}, (2, 6, 5), False),      # padded
    ({"pool_size": 2, "padding": "same"}, (2, 5, 5), False),              # same: pad bottom/right
    ({"pool_size": 2, "stride": 3}, (2, 8, 7), False),                    # gaps between windows
    ({"pool_size": 2, "stride": 1, "padding": "valid"}, (1, 4, 5), False),
]


@pytest.mark.parametrize("kind", ["MaxPool2D", "AvgPool2D"])
@pytest.mark.parametrize("options,shape,tiled", CASES)
def test_gradcheck(kind, options, shape, tiled):
    result = nnpy.gradcheck({"type": kind, **options}, shape, batch=3)
    assert result.passed and result.worst < 1e-6, str(result)


@pytest.mark.parametrize("cls,kind", [(MaxPool2D, "max"), (AvgPool2D, "avg")])
@pytest.mark.parametrize("options,shape,tiled", CASES)
def test_forward_matches_reference(cls, kind, options, shape, tiled):
    layer = cls(**options)
    out_shape = layer.initialize(shape, dtype=np.float64)
    assert (layer.kernel is not None) == tiled          # the tiled fast twin (nnpy.kernels.pooling)
    x = np.random.default_rng(0).normal(size=(3, *shape))
    y = layer.forward(x, training=True)
    ref = pool_reference(x, kind, layer.pool_size, layer.stride, layer.pads)
    assert y.shape == (3, *out_shape) == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-12)


@pytest.mark.parametrize("options,shape", [({"pool_size": 2}, (2, 4, 6)),                 # reshape path
                                           ({"pool_size": 3, "stride": 2}, (2, 7, 7))])  # strided path
def test_max_ties_route_the_gradient_to_the_first_maximum(options, shape):
    layer = MaxPool2D(**options)
    out_shape = layer.initialize(shape)
    x = np.zeros((2, *shape), dtype=np.float32)                          # every window is a tie
    y = layer.forward(x, training=True)
    g = np.arange(1, y.size + 1, dtype=np.float32).reshape(y.shape)
    dx = layer.backward(g)
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert dx.sum() == g.sum()                                           # nothing duplicated
    (kh, kw), (sh, sw) = layer.pool_size, layer.stride
    expected = np.zeros_like(dx)
    for i in range(out_shape[1]):
        for j in range(out_shape[2]):
            expected[:, :, i * sh, j * sw] += g[:, :, i, j]             # top-left of each window
    np.testing.assert_array_equal(dx, expected)


def test_max_pool_padding_is_minus_infinity():
    layer = MaxPool2D(pool_size=3, stride=2, padding=1)
    layer.initialize((1, 4, 4))
    x = -np.ones((1, 1, 4, 4), dtype=np.float32)
    assert np.all(layer.forward(x) == -1)


def test_avg_pool_counts_padding_in_the_divisor():
    layer = AvgPool2D(pool_size=3, stride=2, padding=1)
    layer.initialize((1, 4, 4))
    y = layer.forward(np.ones((1, 1, 4, 4), dtype=np.float32))
    np.testing.assert_allclose(y[0, 0, 0, 0], 4 / 9, rtol=1e-6)          # corner window: 4 real of 9
    np.testing.assert_allclose(y[0, 0, 1, 1], 1.0, rtol=1e-6)


@pytest.mark.parametrize("hw,k", [((7, 7), 2), ((6, 9), 3), ((5, 4), 4)])
def test_same_gives_ceil_of_size_over_stride(hw, k):
    for cls in (MaxPool2D, AvgPool2D):
        assert cls(pool_size=k, padding="same").initialize((3, *hw)) == \
               (3, math.ceil(hw[0] / k), math.ceil(hw[1] / k))


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_float32_stays_float32_and_outputs_are_fresh(cls):
    for options in ({"pool_size": 2}, {"pool_size": 3, "stride": 2, "padding": 1}):
        layer = cls(**options)
        layer.initialize((2, 6, 6))
        x = np.random.default_rng(0).normal(size=(2, 2, 6, 6)).astype(np.float32)
        y1 = layer.forward(x, training=True)
        y1_copy = y1.copy()
        dx = layer.backward(np.ones_like(y1))
        layer.forward(x + 1, training=True)
        assert y1.dtype == dx.dtype == np.float32
        np.testing.assert_array_equal(y1, y1_copy)


def test_global_avg_pool():
    layer = GlobalAvgPool2D()
    assert layer.initialize((3, 4, 5)) == (3,)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x.mean(axis=(2, 3)), rtol=1e-6)
    dx = layer.backward(np.ones_like(y))
    np.testing.assert_allclose(dx, np.full(x.shape, 1 / 20), rtol=1e-6)
    result = nnpy.gradcheck({"type": "GlobalAveragePooling2D"}, (2, 3, 5), batch=3)
    assert result.passed and result.worst < 1e-6, str(result)


def test_registry_aliases():
    assert isinstance(nnpy.make_layer({"type": "MaxPooling2D", "pool_size": 3}), MaxPool2D)
    assert isinstance(nnpy.make_layer({"type": "AveragePooling2D"}), AvgPool2D)
    assert isinstance(nnpy.make_layer({"type": "GlobalAveragePooling2D"}), GlobalAvgPool2D)
    layer = nnpy.make_layer({"type": "MaxPool2D", "pool_size": [2, 3], "stride": 1, "padding": "same"})
    clone = nnpy.make_layer(layer.get_config())
    assert clone.initialize((2, 5, 5)) == layer.initialize((2, 5, 5)) == (2, 5, 5)


def test_shape_errors_name_the_layer_and_both_shapes():
    with pytest.raises(ShapeError, match=r"'pool_a' \(MaxPool2D\) expects images \(C, H, W\).*\(8, 8\)"):
        MaxPool2D(name="pool_a").initialize((8, 8))
    with pytest.raises(ShapeError, match=r"'pool_b' \(AvgPool2D\) expects .*3×3 pool.*\(4, 2, 8\)"):
        AvgPool2D(pool_size=3, name="pool_b").initialize((4, 2, 8))
    with pytest.raises(ShapeError, match=r"'gap' \(GlobalAvgPool2D\) expects images \(C, H, W\).*\(7,\)"):
        GlobalAvgPool2D(name="gap").initialize((7,))
    layer = MaxPool2D(name="pool_c")
    layer.initialize((1, 4, 4))
    with pytest.raises(ShapeError, match=r"'pool_c' .*\(1, 4, 4\).*\(1, 6, 6\)"):
        layer.forward(np.zeros((2, 1, 6, 6), dtype=np.float32))


@pytest.mark.parametrize("bad", [{"pool_size": 0}, {"pool_size": 2, "stride": 0},
                                 {"pool_size": 2, "padding": 2}, {"padding": "full"}])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError):
        MaxPool2D(**bad)
