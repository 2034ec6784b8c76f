"""One harness for every registered layer: gradient check in float64, shapes, config round trip.

Every registered layer is checked twice: as an inner layer (``needs_input_grad=True``: dx and
every parameter gradient) and, when it has parameters, as a model's first layer
(``needs_input_grad=False``: the early-return path of backward). ``nnpy.gradcheck`` fills the
gradient buffers with NaN before backward, so a gradient that is not written fails.
Adding a layer to the registry without adding a sample here fails (never skips); the example
plugins' layers are imported here and checked too.
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
    "TestTimeAugment": ({"hflip": True, "shift": 1,
                         "layers": [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1},
                                    {"type": "Tanh"}, {"type": "Flatten"}, {"type": "Dense", "units": 2}]},
                        (2, 4, 5), {}),
    "Conv2D": ({"filters": 3, "kernel_size": 3, "stride": 2, "padding": 1}, (2, 7, 6), {}),
    "MaxPool2D": ({"pool_size": 2}, (2, 6, 6), {}),
    "AvgPool2D": ({"pool_size": 3, "stride": 2}, (2, 7, 7), {}),
    "GlobalAvgPool2D": ({}, (3, 4, 5), {}),
    "RNN": ({"units": 4, "return_sequences": True}, (5, 3), {}),
    "LSTM": ({"units": 4}, (5, 3), {}),
    "GRU": ({"units": 4}, (5, 3), {}),
    "Embedding": ({"input_dim": 7, "output_dim": 3}, (5,),
                  {"x": np.array([[1, 2, 3, 6, 0], [0, 0, 5, 5, 4]])}),
    # merge layers take a list of inputs (one shape each); Graph: branches joined by all three
    "Concatenate": ({}, [(2, 3, 3), (4, 3, 3)], {}),
    "Add": ({}, [(3, 4), (3, 4), (3, 4)], {}),
    "Multiply": ({}, [(3, 4), (3, 4)], {}),
    "Graph": ({"nodes": {"a": {"type": "Dense", "units": 4, "inputs": "input"}, "t": {"type": "Tanh"},
                         "b": {"type": "Dense", "units": 4, "inputs": "input"},
                         "sum": {"type": "Add", "inputs": ["t", "b"]},
                         "gate": {"type": "Multiply", "inputs": ["sum", "a"]},
                         "both": {"type": "Concatenate", "inputs": ["gate", "input", "a"]},
                         "out": {"type": "Dense", "units": 2}}, "output": "out"}, (3,), {}),
    # issue 31: layers beyond images (odd sizes, stride 2, padding)
    "Conv1D": ({"filters": 3, "kernel_size": 3, "stride": 2, "padding": "same"}, (2, 9), {}),
    "Conv2DTranspose": ({"filters": 3, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
                        (2, 3, 4), {}),
    "UpSampling2D": ({"size": [2, 3], "interpolation": "bilinear"}, (2, 3, 4), {}),
    "GlobalMaxPool2D": ({}, (3, 4, 5), {}),
    "MaxPool1D": ({"pool_size": 3, "stride": 2, "padding": 1}, (2, 9), {}),
    "AvgPool1D": ({"pool_size": 3, "stride": 2, "padding": 1}, (2, 9), {}),
    "GlobalAvgPool1D": ({}, (3, 7), {}),
    # the GPT's layers (nnpy/nn/layers/transformer.py)
    "LayerNorm": ({"epsilon": 1e-3}, (3, 5), {}),
    "GELU": ({}, (3, 5), {}),
    "MultiHeadAttention": ({"heads": 2, "init": {"type": "normal", "std": 0.5}}, (4, 6), {}),
    "PositionEmbedding": ({}, (4, 6), {}),
    "TransformerBlock": ({"heads": 2, "hidden": 8, "init": {"type": "normal", "std": 0.5}}, (4, 6), {}),
    "TiedEmbedding": ({"input_dim": 7, "output_dim": 4, "init": {"type": "normal", "std": 0.5},
                       "layers": [{"type": "PositionEmbedding"}, {"type": "TransformerBlock", "heads": 2},
                                  {"type": "LayerNorm"}]}, (5,),
                      {"x": np.array([[1, 2, 3, 6, 0], [0, 0, 5, 5, 4]])}),
    # examples/plugins/layernorm.py (AutogradLayers: the backward is derived)
    "PluginLayerNorm": ({"epsilon": 1e-3}, (3, 5), {}),
    "Swish": ({"beta": 1.5}, (6,), {}),
}


#: every name to check: registered layers and samples (a stale sample fails too)
NAMES = sorted(set(LAYERS.names()) | set(SAMPLES))


def sample(name):
    """(spec, input shape, extra gradcheck kwargs) of ``name``; fails for a missing or stale sample."""
    if name not in SAMPLES:
        pytest.fail(f"layer {name!r} is registered but has no sample in SAMPLES (tests/nn/test_layer_harness.py)")
    if name not in LAYERS:
        pytest.fail(f"SAMPLES has {name!r}, which is not a registered layer")
    options, shape, extra = SAMPLES[name]
    return {"type": name, **options}, shape, extra


def has_parameters(name) -> bool:
    if name not in SAMPLES or name not in LAYERS:
        return True          # let sample() report it
    spec, shape, _ = sample(name)
    layer = nnpy.make_layer(spec)
    layer.initialize(shape, rng=np.random.default_rng(0))
    return layer.count_params() > 0


def test_every_layer_has_a_sample():
    missing = set(LAYERS.names()) - set(SAMPLES)
    assert not missing, f"registered layers without a harness sample: {sorted(missing)}"


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck(name):
    spec, shape, extra = sample(name)
    result = nnpy.gradcheck(spec, shape, **extra)
    assert result.passed, f"{name}:\n{result}"
    assert result.errors, "nothing was checked"


@pytest.mark.parametrize("name", [n for n in NAMES if has_parameters(n)])
def test_gradcheck_as_first_layer(name):
    """The model's first layer skips dx: its parameter gradients must still all be right."""
    spec, shape, extra = sample(name)
    result = nnpy.gradcheck(spec, shape, needs_input_grad=False, **extra)
    assert result.passed, f"{name} as a first layer (needs_input_grad=False):\n{result}"
    assert result.errors and "input" not in result.errors, result.errors


@pytest.mark.parametrize("name", NAMES)
def test_float32_forward_and_config_round_trip(name):
    spec, shape, extra = sample(name)
    layer = nnpy.make_layer(spec)
    out_shape = layer.initialize(shape, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    x = extra.get("x", [rng.normal(size=(2, *s)).astype(np.float32) for s in shape] if layer.many_inputs
                  else rng.normal(size=(2, *shape)).astype(np.float32))
    y = layer.forward(x, training=True)
    assert y.shape == (2, *out_shape)
    if np.issubdtype(np.asarray(x[0] if layer.many_inputs else x).dtype, np.floating):
        assert y.dtype == np.float32, f"{name} upcast to {y.dtype}"
    for key, p in layer.named_parameters().items():
        assert p.dtype == np.float32, key
    # the config rebuilds an identical architecture
    clone = nnpy.make_layer(layer.get_config())
    clone.initialize(shape, rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in clone.state_dict().items()} == \
           {k: v.shape for k, v in layer.state_dict().items()}
