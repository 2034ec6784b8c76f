"""Embedding: lookup, gradient (repeated ids accumulate), id checks."""
import numpy as np
import pytest

import nnpy
from nnpy.errors import ShapeError


def built(spec, input_shape, dtype=np.float64):
    layer = nnpy.make_layer(spec)
    layer.initialize(input_shape, rng=np.random.default_rng(0), dtype=dtype)
    return layer


def test_gradcheck_with_repeated_ids():
    ids = np.array([[1, 3, 3, 0, 6], [6, 6, 2, 1, 1]])
    result = nnpy.gradcheck({"type": "Embedding", "input_dim": 7, "output_dim": 4}, (5,), x=ids)
    assert result.passed and list(result.errors) == ["E"], f"\n{result}"


def test_gradcheck_embedding_into_lstm():
    ids = np.random.default_rng(0).integers(0, 9, size=(3, 6))
    spec = {"type": "Chain", "layers": [
        {"type": "Embedding", "input_dim": 9, "output_dim": 3},
        {"type": "LSTM", "units": 4}]}
    result = nnpy.gradcheck(spec, (6,), x=ids)
    assert result.passed, f"\n{result}"


def test_forward_is_lookup_and_backward_accumulates():
    layer = built({"type": "Embedding", "input_dim": 5, "output_dim": 3}, (4,), np.float32)
    ids = np.array([[0, 4, 4, 2], [2, 2, 2, 1]])
    y = layer.forward(ids)
    assert y.shape == (2, 4, 3) and y.dtype == np.float32 and layer.output_shape == (4, 3)
    np.testing.assert_array_equal(y, layer.params["E"][ids])
    g = np.random.default_rng(1).normal(size=y.shape).astype(np.float32)
    assert layer.backward(g) is None
    expected = np.zeros((5, 3))
    for (n, t), v in np.ndenumerate(ids):
        expected[v] += g[n, t]
    np.testing.assert_allclose(layer.grads["E"], expected, rtol=1e-6, atol=1e-6)


def test_float_ids_are_cast():
    layer = built({"type": "Embedding", "input_dim": 5, "output_dim": 2}, (3,))
    ids = np.array([[0, 1, 4]])
    np.testing.assert_array_equal(layer.forward(ids.astype(np.float32)), layer.forward(ids))
    with pytest.raises(ValueError, match="integer ids"):
        layer.forward(np.array([[0.5, 1.0, 2.0]]))


@pytest.mark.parametrize("bad", [5, -1])
def test_out_of_range_id_names_layer(bad):
    layer = built({"type": "Embedding", "input_dim": 5, "output_dim": 2, "name": "tokens"}, (3,))
    with pytest.raises(ShapeError, match=rf"'tokens'.*id {bad}.*input_dim=5"):
        layer.forward(np.array([[0, bad, 1]]))


def test_config_round_trip():
    layer = nnpy.make_layer({"type": "Embedding", "input_dim": 100, "output_dim": 8})
    assert nnpy.make_layer(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(nnpy.RegistryError, match="input_dim"):
        nnpy.make_layer({"type": "Embedding", "input_dim": 0, "output_dim": 8})
