"""Initializers: fan-in/fan-out of dense and convolution weights, and the scale each one draws."""
import math

import numpy as np
import pytest

from nnpy.nn.initializers import fans, make_initializer


def test_fans_of_dense_and_convolution_weights():
    assert fans((300, 100)) == (300, 100)
    # (filters, channels, kh, kw): every output sees channels·kh·kw inputs
    assert fans((64, 16, 5, 5)) == (16 * 25, 64 * 25)
    assert fans((7,)) == (7, 7)


@pytest.mark.parametrize("name, std", [
    ("he_normal", math.sqrt(2 / (16 * 25))),
    ("lecun_normal", math.sqrt(1 / (16 * 25))),
    ("glorot_normal", math.sqrt(2 / (16 * 25 + 64 * 25))),
])
def test_normal_initializers_draw_the_documented_spread(name, std):
    w = make_initializer(name)((64, 16, 5, 5), np.random.default_rng(0), np.float32)
    assert w.dtype == np.float32 and abs(w.mean()) < 0.05 * std
    assert w.std() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize("name, limit", [
    ("glorot_uniform", math.sqrt(6 / (8 * 9 + 32 * 9))),
    ("he_uniform", math.sqrt(6 / (8 * 9))),
])
def test_uniform_initializers_fill_the_documented_interval(name, limit):
    w = make_initializer(name)((32, 8, 3, 3), np.random.default_rng(0), np.float64)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.98 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.03)
