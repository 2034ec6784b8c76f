"""Layer by layer: the ONNX nodes each layer becomes compute what the layer computes.

Each model is exported with task="regression", so the graph output ``predictions`` is the
raw output of the last layer, compared with nnpy's forward on batches of 7 and 1.
"""
import numpy as np
import pytest

from nnpy.errors import NnpyError
from nnpy.export import ExportError, onnx_exporter, to_onnx
from nnpy.nn.layer import Layer
from nnpy.nn.layers import Chain
from nnpy.export.layers import EXPORTERS
from nnpy.registry import LAYERS

from .common import ATOL, randomize_batchnorm, random_inputs, run_onnx, worst_differences
from tests.prerequisites import require_module, require_shared

require_module("onnx")
require_module("onnxruntime")


def built(specs, input_shape, seed=0) -> Chain:
    """The model of ``specs``, every parameter random (biases too) and BatchNorm statistics set."""
    rng = np.random.default_rng(seed)
    model = Chain(specs)
    model.initialize(tuple(input_shape), rng=rng)
    for key, value in model.named_parameters().items():
        if value.ndim == 1:               # biases start at zero (and the LSTM forget bias at one)
            value += rng.normal(0.0, 0.5, value.shape).astype(value.dtype)
    randomize_batchnorm(model, rng)
    return model


def assert_exports_exactly(model, n=7, seed=1):
    x = random_inputs(model, n, np.random.default_rng(seed))
    worst = worst_differences(model, to_onnx(model, task="regression"), x, task="regression")
    assert worst["predictions"] <= ATOL, worst


def op_types(model) -> list[str]:
    return [node.op_type for node in to_onnx(model, task="regression").graph.node]


def test_every_built_in_layer_has_a_mapping():
    built_in = [name for name in LAYERS.names() if LAYERS.get(name).__module__.startswith("nnpy.")]
    assert len(built_in) >= 21
    assert [name for name in built_in if name not in EXPORTERS] == []


# --- convolution and pooling: padding, even kernels, strides ---------------------------------

@pytest.mark.parametrize("kernel, stride, size", [(2, 1, 9), (4, 1, 8), (4, 2, 9), (3, 2, 8), ((2, 3), (2, 1), 7),
                                                  (5, 3, 10)])
def test_conv_same_padding_asymmetric(kernel, stride, size):
    model = built([{"type": "Conv2D", "filters": 3, "kernel_size": kernel, "stride": stride, "padding": "same"}],
                  (2, size, size + 1))
    pads = model.layers[0].pads
    assert any(before != after for before, after in pads), pads   # the case this is about
    assert_exports_exactly(model)


@pytest.mark.parametrize("padding", ["valid", 0, 1, (2, 1)])
def test_conv_explicit_padding_and_no_bias(padding):
    model = built([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "stride": (1, 2), "padding": padding,
                    "use_bias": False}], (3, 9, 10))
    assert_exports_exactly(model)


@pytest.mark.parametrize("pool", ["MaxPool2D", "AvgPool2D"])
@pytest.mark.parametrize("options, size", [({"pool_size": 2}, 8), ({"pool_size": 2}, 9),
                                           ({"pool_size": 3, "stride": 2}, 9),
                                           ({"pool_size": 3, "stride": 1, "padding": 1}, 7),
                                           ({"pool_size": 2, "padding": "same"}, 7),
                                           ({"pool_size": 3, "stride": 2, "padding": "same"}, 8),
                                           ({"pool_size": (2, 3), "stride": (1, 2), "padding": (1, 1)}, 6)])
def test_pooling_with_padding_and_strides(pool, options, size):
    # negative inputs: MaxPool's padding must never win, AvgPool's zeros must count
    model = built([{"type": "Conv2D", "filters": 2, "kernel_size": 1}, {"type": pool, **options}], (2, size, size))
    model.layers[0].params["b"][...] = -5.0
    assert_exports_exactly(model)


def test_global_average_pool_flatten_reshape_dropout():
    model = built([{"type": "Conv2D", "filters": 4, "kernel_size": 3}, {"type": "GlobalAvgPool2D"},
                   {"type": "Reshape", "target_shape": [2, -1]}, {"type": "Dropout", "rate": 0.5},
                   {"type": "Flatten"}, {"type": "Dense", "units": 3}], (1, 6, 6))
    assert_exports_exactly(model)
    assert "Dropout" not in op_types(model)


# --- dense, batch norm, activations ---------------------------------------------------------------

@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_on_sequences_is_applied_at_every_step(use_bias):
    model = built([{"type": "Dense", "units": 5, "use_bias": use_bias}], (6, 4))
    assert_exports_exactly(model)
    assert "MatMul" in op_types(model) and "Gemm" not in op_types(model)


def test_dense_on_vectors_is_one_gemm():
    model = built([{"type": "Dense", "units": 5}, {"type": "Dense", "units": 2, "use_bias": False}], (4,))
    assert_exports_exactly(model)
    assert op_types(model) == ["Gemm", "Gemm"]


@pytest.mark.parametrize("specs, shape", [([{"type": "Dense", "units": 6}, {"type": "BatchNorm", "epsilon": 1e-3}], (4,)),
                                          ([{"type": "Conv2D", "filters": 3, "kernel_size": 3},
                                            {"type": "BatchNorm", "epsilon": 0.1}], (2, 6, 6))])
def test_batch_norm_uses_running_statistics(specs, shape):
    model = built(specs, shape)
    assert_exports_exactly(model)


@pytest.mark.parametrize("spec", [{"type": "ReLU"}, {"type": "LeakyReLU", "negative_slope": 0.2},
                                  {"type": "ELU", "alpha": 0.7}, {"type": "Sigmoid"}, {"type": "Tanh"},
                                  {"type": "Softmax"}, {"type": "Softmax", "axis": 1}])
def test_activations(spec):
    model = built([{"type": "Dense", "units": 6}, {"type": "Reshape", "target_shape": [2, 3]}, spec], (4,))
    assert_exports_exactly(model)


# --- embedding, recurrent layers ---------------------------------------------------------------------

def test_embedding_takes_int64_ids():
    model = built([{"type": "Embedding", "input_dim": 20, "output_dim": 3}, {"type": "Flatten"}], (5,))
    proto = to_onnx(model, task="regression")
    assert proto.graph.input[0].type.tensor_type.elem_type == 7        # INT64
    assert_exports_exactly(model)


def test_embedding_after_another_layer_casts_float_ids():
    model = built([{"type": "Reshape", "target_shape": [2, 3]}, {"type": "Embedding", "input_dim": 9,
                   "output_dim": 4}], (6,))
    x = np.random.default_rng(1).integers(0, 9, (7, 6)).astype(np.float32)   # whole numbers, as floats
    out = run_onnx(to_onnx(model, task="regression"), x)["predictions"]
    assert "Cast" in op_types(model)
    assert np.abs(out - model.forward(x)).max() == 0


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_recurrent_gate_order_and_return_sequences(cell, return_sequences):
    model = built([{"type": cell, "units": 5, "return_sequences": return_sequences}], (6, 3))
    assert_exports_exactly(model)
    assert cell in op_types(model)


def test_lstm_gate_blocks_are_not_interchangeable():
    """Each of i, f, g, o matters: swapping two nnpy blocks changes the exported output."""
    model = built([{"type": "LSTM", "units": 4}], (5, 3))
    x = random_inputs(model, 7, np.random.default_rng(1))
    for key in ("W", "U", "b"):
        p = model.layers[0].params[key]
        p[..., 4:8], p[..., 8:12] = p[..., 8:12].copy(), p[..., 4:8].copy()   # f <-> g
    swapped = run_onnx(to_onnx(model, task="regression"), x)["predictions"]
    assert_exports_exactly(model)
    for key in ("W", "U", "b"):
        p = model.layers[0].params[key]
        p[..., 4:8], p[..., 8:12] = p[..., 8:12].copy(), p[..., 4:8].copy()
    assert np.abs(run_onnx(to_onnx(model, task="regression"), x)["predictions"] - swapped).max() > 1e-3


def test_stacked_recurrent_layers_with_a_dense_head_per_step():
    model = built([{"type": "GRU", "units": 6, "return_sequences": True}, {"type": "LSTM", "units": 5,
                   "return_sequences": True}, {"type": "Dense", "units": 2}], (7, 3))
    assert_exports_exactly(model)


# --- containers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("shortcut, stride, activation", [("identity", 1, "ReLU"), ("projection", 2, "ReLU"),
                                                           ("auto", 2, None)])
def test_residual_shortcuts(shortcut, stride, activation):
    main = [{"type": "Conv2D", "filters": 4, "kernel_size": 3, "stride": stride, "padding": 1},
            {"type": "BatchNorm"}]
    model = built([{"type": "Residual", "layers": main, "shortcut": shortcut, "activation": activation}], (4, 7, 7))
    assert_exports_exactly(model)


@pytest.mark.parametrize("layers, input_shape, views", [
    ([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": 1}, {"type": "BatchNorm"}, {"type": "ReLU"},
      {"type": "GlobalAvgPool2D"}, {"type": "Dense", "units": 3}], (2, 6, 7), {"hflip": True, "shift": 1}),
    ([{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "Flatten"}], (1, 6, 5), {"shift": 2}),
    ([{"type": "Conv1D", "filters": 3, "kernel_size": 3}, {"type": "Flatten"}], (2, 9), {"hflip": True})])
def test_test_time_augment_averages_the_same_views(layers, input_shape, views):
    model = built([{"type": "TestTimeAugment", "layers": layers, **views}], input_shape)
    ops = op_types(model)
    assert ops.count("Slice") == views.get("hflip", False) and ops.count("Gather") == 4 * (views.get("shift", 0) > 0)
    assert ops[-1] == "ReduceMean"
    assert_exports_exactly(model)


def test_names_are_nnpy_layer_names():
    model = built([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": 1},
                   {"type": "Residual", "layers": [{"type": "Conv2D", "filters": 8, "kernel_size": 3, "stride": 2,
                                                    "padding": 1}, {"type": "BatchNorm"}]},
                   {"type": "GlobalAvgPool2D"}, {"type": "Dense", "units": 3}], (1, 8, 8))
    graph = to_onnx(model).graph
    assert {i.name for i in graph.initializer} == set(model.state_dict())
    nodes = {n.name for n in graph.node}
    assert {"conv2d_1", "residual_1.main.conv2d_1", "residual_1.shortcut.conv2d_1", "residual_1.add",
            "residual_1.act", "dense_1"} <= nodes


# --- graph outputs, errors ------------------------------------------------------------------------------

def test_classifier_outputs_logits_and_probs():
    model = built([{"type": "Dense", "units": 4}], (3,))
    x = random_inputs(model, 7, np.random.default_rng(1))
    out = run_onnx(to_onnx(model), x)
    assert sorted(out) == ["logits", "probs"]
    np.testing.assert_allclose(out["probs"].sum(axis=1), 1.0, atol=1e-6)


def test_a_final_softmax_gives_its_input_as_logits():
    model = built([{"type": "Dense", "units": 4}, {"type": "Softmax"}], (3,))
    x = random_inputs(model, 7, np.random.default_rng(1))
    out = run_onnx(to_onnx(model), x)
    hidden = model.layers[0].forward(x)
    assert np.abs(out["logits"] - hidden).max() <= ATOL
    assert np.abs(out["probs"] - model.forward(x)).max() <= ATOL


def test_one_binary_logit_gives_sigmoid_probs():
    model = built([{"type": "Dense", "units": 1}], (3,))
    x = random_inputs(model, 7, np.random.default_rng(1))
    out = run_onnx(to_onnx(model), x)
    assert np.abs(out["probs"] - 1 / (1 + np.exp(-model.forward(x)))).max() <= ATOL


class OnnxTestScale(Layer):
    """y = 2x: a user's layer (not put in the registry, which the layer harness checks)."""

    def forward(self, x, training=False):
        return 2 * x

    def backward(self, grad_y):
        return 2 * grad_y


def test_a_layer_without_mapping_fails_in_one_line_naming_it():
    model = built([{"type": "Dense", "units": 4}, OnnxTestScale(name="double")], (3,))
    with pytest.raises(ExportError) as info:
        to_onnx(model)
    message = str(info.value)
    assert "\n" not in message and "'double'" in message and "(OnnxTestScale)" in message
    assert isinstance(info.value, NnpyError)


def test_a_user_mapping_makes_the_layer_exportable(monkeypatch):
    monkeypatch.setattr("nnpy.export.layers.EXPORTERS", dict(EXPORTERS))   # this test's mapping only

    @onnx_exporter("OnnxTestScale")
    def scale(layer, x, g, name):
        return g.op("Mul", [x, g.weight(f"{name}.two", 2.0)], name)

    model = built([{"type": "Dense", "units": 4}, OnnxTestScale()], (3,))
    assert_exports_exactly(model)
    with pytest.raises(ValueError, match="already registered"):
        onnx_exporter("OnnxTestScale")(scale)


def test_permute_then_lstm_reads_rows_of_every_channel():
    """The rnn symbol's view of (C, H, W) images: Permute to (H, C, W), then rows of C·W features."""
    model = built([{"type": "Permute", "dims": [2, 1, 3]}, {"type": "Reshape", "target_shape": [6, 15]},
                   {"type": "LSTM", "units": 4}], (3, 6, 5))
    assert "Transpose" in op_types(model)
    assert_exports_exactly(model)


# --- issue 31's layers ---------------------------------------------------------------------------

@pytest.mark.parametrize("specs, shape", [
    ([{"type": "Conv1D", "filters": 3, "kernel_size": 4, "stride": 2, "padding": "same"},
      {"type": "MaxPool1D", "pool_size": 3, "stride": 2, "padding": 1},
      {"type": "AvgPool1D", "pool_size": 2, "padding": 1}, {"type": "GlobalAvgPool1D"}], (2, 11)),
    ([{"type": "Conv2DTranspose", "filters": 3, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1},
      {"type": "GlobalMaxPool2D"}], (2, 3, 5)),
    ([{"type": "Conv2DTranspose", "filters": 2, "kernel_size": (2, 3), "stride": (2, 1), "padding": (0, 1)},
      {"type": "UpSampling2D", "size": (2, 3), "interpolation": "bilinear"}], (2, 3, 4)),
    ([{"type": "UpSampling2D", "size": 3}, {"type": "Conv2D", "filters": 2, "kernel_size": 3}], (2, 3, 2)),
])
def test_issue31_layers_export_exactly(specs, shape):
    assert_exports_exactly(built(specs, shape))
    assert_exports_exactly(built(specs, shape), n=1)


# --- the GPT's layers --------------------------------------------------------------------------

@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_and_layer_norm(approximate):
    assert_exports_exactly(built([{"type": "Dense", "units": 6}, {"type": "GELU", "approximate": approximate},
                                  {"type": "LayerNorm"}], (5, 4)))


@pytest.mark.parametrize("causal", [True, False])
def test_transformer_block(causal):
    model = built([{"type": "PositionEmbedding"},
                   {"type": "TransformerBlock", "heads": 2, "causal": causal, "init": {"type": "normal", "std": 0.3}}],
                  (5, 8))
    assert_exports_exactly(model)
    assert op_types(model).count("Softmax") == 1 and ("Split" in op_types(model))


def test_gpt_logits_match_onnxruntime_with_one_tied_table():
    model = built([{"type": "TiedEmbedding", "input_dim": 13, "output_dim": 8, "init": {"type": "normal", "std": 0.3},
                    "layers": [{"type": "PositionEmbedding"}, {"type": "TransformerBlock", "heads": 2},
                               {"type": "TransformerBlock", "heads": 2}, {"type": "LayerNorm"}]}], (6,))
    assert_exports_exactly(model)
    proto = to_onnx(model, task="regression")
    tables = [init.name for init in proto.graph.initializer if init.name.endswith(".E")]
    assert tables == ["tiedembedding_1.embedding.E"]          # tied: stored once, read twice


def test_transformer_block_without_biases():
    model = built([{"type": "TransformerBlock", "heads": 2, "use_bias": False, "init": {"type": "normal", "std": 0.3}}],
                  (4, 6))
    assert_exports_exactly(model)
