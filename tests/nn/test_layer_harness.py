"""One harness for every registered layer: gradient check in float64, shapes, config round trip.

Adding a layer to the registry without adding a sample here fails ``test_every_layer_has_a_sample``
(the example plugins' layers included: they are imported here).
"""
import numpy as np
import pytest

import nnpy
from nnpy.registry import LAYERS
from tests.plugins import load_plugin

load_plugin("plugins/layernorm.py")   # the forward-only example layers are checked like the others

# registered name -> (spec options, input shape without batch, extra gradcheck kwargs)
SAMPLES = {
    "Dense": ({"units": 3}, (4,), {}),
    "ReLU": ({}, (3, 4), {}),
    "LeakyReLU": ({"negative_slope": 0.2}, (6,), {}),
    "ELU": ({}, (6,), {}),
    "Sigmoid": ({}, (6,), {}),
    "Tanh": ({}, (6,), {}),
    "Softmax": ({}, (5,), {}),
    "Flatten": ({}, (2, 3, 4), {}),
    "Reshape": ({"target_shape": [4, -1]}, (2, 3, 4), {}),
    "Permute": ({"dims": [2, 3, 1]}, (2, 3, 4), {}),
    "Dropout": ({"rate": 0.4}, (10,), {}),
    "BatchNorm": ({}, (3, 4, 5), {"batch": 4}),
    "Chain": ({"layers": [{"type": "Dense", "units": 5}, {"type": "Tanh"},
                               {"type": "Dense", "units": 2}]}, (3,), {}),
    "Residual": ({"layers": [{"type": "Conv2D", "filters": 4, "kernel_size": 3, "stride": 2, "padding": 1,
                              "use_bias": False},  # a bias before BatchNorm has gradient 0
                             {"type": "BatchNorm"}, {"type": "ReLU"},
                             {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": 1}]},
                 (2, 6, 6), {"batch": 3}),
    "Conv2D": ({"filters": 3, "kernel_size": 3, "stride": 2, "padding": 1}, (2, 7, 6), {}),
    "MaxPool2D": ({"pool_size": 2}, (2, 6, 6), {}),
    "AvgPool2D": ({"pool_size": 3, "stride": 2}, (2, 7, 7), {}),
    "GlobalAvgPool2D": ({}, (3, 4, 5), {}),
    "RNN": ({"units": 4, "return_sequences": True}, (5, 3), {}),
    "LSTM": ({"units": 4}, (5, 3), {}),
    "GRU": ({"units": 4}, (5, 3), {}),
    "Embedding": ({"input_dim": 7, "output_dim": 3}, (5,),
                  {"x": np.array([[1, 2, 3, 6, 0], [0, 0, 5, 5, 4]])}),
    # examples/plugins/layernorm.py (AutogradLayers: the backward is derived)
    "LayerNorm": ({"epsilon": 1e-3}, (3, 5), {}),
    "Swish": ({"beta": 1.5}, (6,), {}),
}


def test_every_layer_has_a_sample():
    missing = set(LAYERS.names()) - set(SAMPLES)
    assert not missing, f"registered layers without a harness sample: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_gradcheck(name):
    if name not in LAYERS or (name == "Residual" and "Conv2D" not in LAYERS):
        pytest.skip(f"{name} is not registered")
    options, shape, extra = SAMPLES[name]
    result = nnpy.gradcheck({"type": name, **options}, shape, **extra)
    assert result.passed, f"{name}:\n{result}"
    assert result.errors, "nothing was checked"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_float32_forward_and_config_round_trip(name):
    if name not in LAYERS or (name == "Residual" and "Conv2D" not in LAYERS):
        pytest.skip(f"{name} is not registered")
    options, shape, extra = SAMPLES[name]
    layer = nnpy.build_layer({"type": name, **options})
    out_shape = layer.initialize(shape, rng=np.random.default_rng(0))
    x = extra.get("x", np.random.default_rng(1).normal(size=(2, *shape)).astype(np.float32))
    y = layer.forward(x, training=True)
    assert y.shape == (len(x), *out_shape)
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        assert y.dtype == np.float32, f"{name} upcast to {y.dtype}"
    for key, p in layer.named_parameters().items():
        assert p.dtype == np.float32, key
    # the config rebuilds an identical architecture
    clone = nnpy.build_layer(layer.get_config())
    clone.initialize(shape, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in clone.state_dict().items()} == \
           {k: v.shape for k, v in layer.state_dict().items()}
