"""The GPT's layers against PyTorch (float64: forward and every gradient), the erf they rest on,
and incremental decoding (a key/value cache) against the whole-sequence forward.

The gradient checks of each layer alone are in tests/nn/test_layer_harness.py."""
import math

import numpy as np
import pytest

import nnpy
import nnpy.functional as F
from nnpy.symbols import model_layers
from nnpy.nn.decoding import DecodeState, decode
from tests.prerequisites import require_module

RNG = np.random.default_rng(0)


def built(spec, shape, seed=0):
    layer = nnpy.make_layer(spec)
    layer.initialize(shape, rng=np.random.default_rng(seed), dtype=np.float64)
    return layer


def test_erf_matches_math_erf_to_the_dtype_precision():
    x = np.linspace(-7, 7, 4001)
    exact = np.array([math.erf(v) for v in x])
    assert np.abs(F.erf(x) - exact).max() < 1e-14
    assert np.abs(F.erf(x.astype(np.float32)) - exact).max() < 5e-7
    assert F.erf(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(approximate):
    torch = require_module("torch")
    x = RNG.normal(size=(3, 4, 5)) * 3
    dy = RNG.normal(size=x.shape)
    layer = built({"type": "GELU", "approximate": approximate}, (4, 5))
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.gelu(xt, approximate=approximate)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)


def test_layer_norm_matches_torch():
    torch = require_module("torch")
    x, dy = RNG.normal(size=(2, 3, 6)), RNG.normal(size=(2, 3, 6))
    layer = built({"type": "LayerNorm"}, (3, 6))
    layer.params["gamma"][...] = RNG.normal(size=6)
    layer.params["beta"][...] = RNG.normal(size=6)
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    ref = torch.nn.LayerNorm(6, eps=1e-5).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.params["gamma"]))
        ref.bias.copy_(torch.tensor(layer.params["beta"]))
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], ref.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], ref.bias.grad.numpy(), atol=1e-12)


def torch_attention(torch, x, W_qkv, b_qkv, W_o, b_o, heads, causal):
    """nanoGPT's CausalSelfAttention with c_attn = (W_qkv, b_qkv), c_proj = (W_o, b_o) (x @ W layout)."""
    n, t, d = x.shape
    q, k, v = (x @ W_qkv + b_qkv).split(d, dim=2)
    q, k, v = (a.view(n, t, heads, d // heads).transpose(1, 2) for a in (q, k, v))
    y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return y.transpose(1, 2).contiguous().view(n, t, d) @ W_o + b_o


@pytest.mark.parametrize("causal", [True, False])
def test_multi_head_attention_matches_torch(causal):
    torch = require_module("torch")
    x, dy = RNG.normal(size=(2, 5, 8)), RNG.normal(size=(2, 5, 8))
    layer = built({"type": "MultiHeadAttention", "heads": 2, "causal": causal, "init": {"type": "normal", "std": 0.4}},
                  (5, 8))
    for b in ("b_qkv", "b_o"):
        layer.params[b][...] = RNG.normal(size=layer.params[b].shape) * 0.1
    y = layer.forward(x, training=True)
    dx = layer.backward(dy)
    ps = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_attention(torch, xt, ps["W_qkv"], ps["b_qkv"], ps["W_o"], ps["b_o"], 2, causal)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    for k, p in ps.items():
        np.testing.assert_allclose(layer.grads[k], p.grad.numpy(), atol=1e-12, err_msg=k)


def torch_gpt(torch, model, ids):
    """The nnpy GPT ``model`` (one TiedEmbedding) recomputed by nanoGPT's forward in PyTorch, on
    tensors made from its parameters; returns (logits, {name: tensor})."""
    ps = {k: torch.tensor(v, requires_grad=True) for k, v in model.named_parameters().items()}
    tied = model.layers[0]
    pre = f"{tied.name}."
    E = ps[pre + "embedding.E"]
    h = E[torch.tensor(ids)]
    for layer in tied.body.layers:
        p = {k[len(pre + "body." + layer.name) + 1:]: v for k, v in ps.items()
             if k.startswith(pre + "body." + layer.name + ".")}
        if layer.type_name == "PositionEmbedding":
            h = h + p["P"][:h.shape[1]]
        elif layer.type_name == "LayerNorm":
            h = torch.nn.functional.layer_norm(h, (h.shape[-1],), p["gamma"], p["beta"], 1e-5)
        else:   # a TransformerBlock
            a = torch.nn.functional.layer_norm(h, (h.shape[-1],), p["ln1.gamma"], p["ln1.beta"], 1e-5)
            h = h + torch_attention(torch, a, p["attn.W_qkv"], p["attn.b_qkv"], p["attn.W_o"], p["attn.b_o"],
                                    layer.heads, True)
            m = torch.nn.functional.layer_norm(h, (h.shape[-1],), p["ln2.gamma"], p["ln2.beta"], 1e-5)
            m = torch.nn.functional.gelu(m @ p["mlp.dense_1.W"] + p["mlp.dense_1.b"])
            h = h + m @ p["mlp.dense_2.W"] + p["mlp.dense_2.b"]
    return h @ E.T, ps


def small_gpt(vocab=11, block=6, dim=8, layers=2, heads=2, seed=0):
    model = nnpy.Sequential(model_layers(
        {"symbol": "gpt", "n_layer": layers, "n_head": heads, "n_embd": dim}, (block,), vocab), seed=seed)
    model.build((block,))
    return model.astype(np.float64)


def test_gpt_logits_and_every_gradient_match_torch():
    torch = require_module("torch")
    model = small_gpt()
    rng = np.random.default_rng(1)
    for p in model.named_parameters().values():       # biases and gains away from 0 and 1
        p += rng.normal(0, 0.05, size=p.shape)
    ids = rng.integers(0, 11, size=(3, 6))
    targets = rng.integers(0, 11, size=(3, 6))
    logits = model.forward(ids, training=True)
    loss = nnpy.nn.losses.make_loss("cross_entropy")
    value = loss.forward(logits, targets)
    model.backward(loss.backward())
    ref, ps = torch_gpt(torch, model, ids)
    ref_loss = torch.nn.functional.cross_entropy(ref.reshape(-1, 11), torch.tensor(targets).reshape(-1))
    ref_loss.backward()
    np.testing.assert_allclose(logits, ref.detach().numpy(), atol=1e-10)
    assert value == pytest.approx(ref_loss.item(), abs=1e-12)
    grads = model.named_gradients()
    assert set(grads) == set(ps)
    for k, p in ps.items():
        np.testing.assert_allclose(grads[k], p.grad.numpy(), atol=1e-10, err_msg=k)


def test_dense_maps_the_last_axis_of_sequences():
    result = nnpy.gradcheck({"type": "Dense", "units": 3}, (5, 4))
    assert result.passed, str(result)


def test_gpt_symbol_uses_nanogpt_initialization():
    model = small_gpt(vocab=50, dim=64, layers=3, heads=4)
    params = model.named_parameters()
    assert np.std(params["gpt.embedding.E"]) == pytest.approx(0.02, rel=0.1)
    w_qkv = [v for k, v in params.items() if k.endswith("attn.W_qkv")]
    w_o = [v for k, v in params.items() if k.endswith("attn.W_o") or k.endswith("mlp.dense_2.W")]
    assert len(w_qkv) == 3 and len(w_o) == 6
    assert np.std(np.concatenate([w.ravel() for w in w_qkv])) == pytest.approx(0.02, rel=0.05)
    assert np.std(np.concatenate([w.ravel() for w in w_o])) == pytest.approx(0.02 / math.sqrt(6), rel=0.05)
    assert all(np.all(v == 0) for k, v in params.items() if k.endswith(".b_qkv") or k.endswith(".b"))


def test_decoding_with_a_cache_gives_the_whole_sequence_logits():
    model = small_gpt()
    ids = np.random.default_rng(2).integers(0, 11, size=(2, 6))
    whole = model.forward(ids)
    state = DecodeState()
    steps = [decode(model, ids[:, :3], state)]          # a prompt of 3, then one position at a time
    state.position = 3
    for t in range(3, 6):
        steps.append(decode(model, ids[:, t:t + 1], state))
        state.position += 1
    np.testing.assert_allclose(np.concatenate(steps, axis=1), whole, atol=1e-12)


def test_decoding_a_model_that_cannot_names_the_layer():
    model = nnpy.Sequential([{"type": "Embedding", "input_dim": 5, "output_dim": 3},
                             {"type": "LSTM", "units": 4, "return_sequences": True}], seed=0)
    model.build((4,))
    with pytest.raises(nnpy.errors.NnpyError, match=r"layer 'lstm_1' \(LSTM\) cannot be decoded"):
        decode(model, np.zeros((1, 2), dtype=np.int64), DecodeState())


def test_a_gpt_without_biases_has_none_and_checks():
    """nanoGPT's bias=False: no Dense/attention biases, no LayerNorm β; every gradient still right."""
    layers = model_layers({"symbol": "gpt", "n_layer": 1, "n_head": 2, "n_embd": 4, "bias": False}, (5,), 7)
    model = nnpy.Sequential(layers, seed=0)
    model.build((5,))
    names = list(model.named_parameters())
    assert not [n for n in names if n.endswith((".b", ".b_qkv", ".b_o", ".beta"))], names
    result = nnpy.gradcheck(layers[0], (5,), x=np.array([[1, 2, 3, 6, 0], [0, 0, 5, 5, 4]]))
    assert result.passed, str(result)
