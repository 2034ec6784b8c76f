"""The pieces of a GPT: LayerNorm, GELU, MultiHeadAttention, PositionEmbedding, the pre-LN
TransformerBlock and TiedEmbedding (one table that embeds the ids and reads out the logits).

Each forward/backward calls ``nnpy.functional`` (``layer_norm``, ``gelu``, ``attention``); the
layers that look across positions also have ``decode(x, state)``: the next positions of sequences
whose earlier positions ``state`` remembers (a key/value cache), used by ``nnpy.nn.decoding``.

Initialization follows GPT-2 / nanoGPT where it matters for training: weights N(0, 0.02)
(``init``), the projections that write into the residual stream (attention's W_o, the MLP's
second Dense) from ``proj_init`` — nanoGPT's N(0, 0.02/√(2·n_layer)), set by the ``gpt`` symbol.
"""
from __future__ import annotations

from ... import functional as F
from ...backend import xp
from ...registry import register_layer
from ..layer import Layer
from .containers import Chain, _Container
from .dropout import Dropout
from .embedding import Embedding

__all__ = ["LayerNorm", "GELU", "MultiHeadAttention", "PositionEmbedding", "TransformerBlock", "TiedEmbedding",
           "GPT_INIT"]

#: nanoGPT's weight initialization: N(0, 0.02)
GPT_INIT = {"type": "normal", "std": 0.02}


@register_layer("LayerNorm")
class LayerNorm(Layer):
    """y = γ · (x − mean)/√(var + ε) + β over the last axis (Ba et al., 2016).

    Input (…, D) — (N, D) or (N, T, D); output the same. ``gamma``, ``beta``: (D,);
    ``use_bias: false`` leaves β out (nanoGPT's ``bias=False``).
    """

    def __init__(self, epsilon: float = 1e-5, use_bias: bool = True, name: str | None = None):
        super().__init__(name)
        if float(epsilon) <= 0:
            raise ValueError(f"epsilon must be positive, not {epsilon!r}")
        self.epsilon, self.use_bias = float(epsilon), bool(use_bias)

    def build(self, input_shape):
        self.add_param("gamma", input_shape[-1:], "ones")
        if self.use_bias:
            self.add_param("beta", input_shape[-1:], "zeros")
        return input_shape

    def forward(self, x, training=False):
        y, self.x_hat, self.inv_std = F.layer_norm(x, self.params["gamma"], self.params.get("beta"), self.epsilon)
        return y

    def backward(self, grad_y):
        return F.layer_norm_backward(self.x_hat, self.inv_std, self.params["gamma"], grad_y,
                                     self.grads["gamma"], self.grads.get("beta"))


@register_layer("GELU")
class GELU(Layer):
    """y = x·Φ(x) (Hendrycks & Gimpel): exact (erf) by default, ``approximate: tanh`` for GPT-2's
    tanh form. Any input shape."""

    def __init__(self, approximate: str = "none", name: str | None = None):
        super().__init__(name)
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def forward(self, x, training=False):
        self.x = x
        y, self.gate = F.gelu(x, self.approximate)
        return y

    def backward(self, grad_y):
        return F.gelu_backward(self.x, self.gate, grad_y, self.approximate)


@register_layer("MultiHeadAttention")
class MultiHeadAttention(Layer):
    """Self-attention with ``heads`` heads (nanoGPT's c_attn / c_proj layout).

    Input and output (N, T, D). ``W_qkv`` (D, 3D), ``b_qkv`` (3D,): x @ W_qkv + b_qkv is split
    into q, k, v in that order, each into ``heads`` equal parts of its last axis; the heads'
    outputs, side by side again, go through ``W_o`` (D, D), ``b_o`` (D,). ``causal``: position t
    sees positions ≤ t only. ``dropout``: on the attention probabilities while training.
    ``init`` for W_qkv, ``proj_init`` for W_o (None: ``init``), biases zero (``use_bias: false``: none).
    """

    def __init__(self, heads: int, causal: bool = True, dropout: float = 0.0, init=None, proj_init=None,
                 use_bias: bool = True, name: str | None = None):
        super().__init__(name)
        if int(heads) < 1:
            raise ValueError(f"heads must be a positive integer, not {heads!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout!r}")
        self.heads, self.causal, self.dropout = int(heads), bool(causal), float(dropout)
        self.init = GPT_INIT if init is None else init
        self.proj_init = self.init if proj_init is None else proj_init
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("(steps, features)", input_shape)
        d = input_shape[-1]
        if d % self.heads:
            raise self.shape_error(f"features divisible by heads={self.heads}", input_shape)
        self.add_param("W_qkv", (d, 3 * d), self.init)
        self.add_param("W_o", (d, d), self.proj_init)
        if self.use_bias:
            self.add_param("b_qkv", (3 * d,), "zeros")
            self.add_param("b_o", (d,), "zeros")
        return input_shape

    def _qkv(self, x):
        """q, k, v (N, H, T, Dh) of x (N, T, D)."""
        qkv = F.dense(x, self.params["W_qkv"], self.params.get("b_qkv"))
        return tuple(F.split_heads(part, self.heads) for part in xp.split(qkv, 3, axis=-1))

    def forward(self, x, training=False):
        self.x = x
        self.q, self.k, self.v = self._qkv(x)
        self.keep = None
        if training and self.dropout:
            n, h, t, _ = self.q.shape
            self.keep = F.dropout_mask(self.rng, (n, h, t, t), self.dropout, x.dtype)
        out, self.probs = F.attention(self.q, self.k, self.v, self.causal, keep=self.keep)
        self.merged = F.merge_heads(out)                                        # (N, T, D)
        return F.dense(self.merged, self.params["W_o"], self.params.get("b_o"))

    def backward(self, grad_y):
        d_merged = F.dense_backward(self.merged, self.params["W_o"], grad_y, self.grads["W_o"], self.grads.get("b_o"))
        dq, dk, dv = F.attention_backward(self.q, self.k, self.v, self.probs, F.split_heads(d_merged, self.heads),
                                          self.keep)
        d_qkv = xp.concatenate([F.merge_heads(g) for g in (dq, dk, dv)], axis=-1)   # (N, T, 3D)
        return F.dense_backward(self.x, self.params["W_qkv"], d_qkv, self.grads["W_qkv"], self.grads.get("b_qkv"),
                                self.needs_input_grad)

    def decode(self, x, state):
        """The next positions x (N, t, D), their keys and values appended to this layer's cache."""
        q, k, v = self._qkv(x)
        cache = state.caches.get(id(self))
        if cache is not None:
            k, v = xp.concatenate([cache[0], k], axis=2), xp.concatenate([cache[1], v], axis=2)
        state.caches[id(self)] = (k, v)
        out, _ = F.attention(q, k, v, self.causal, offset=state.position)
        return F.dense(F.merge_heads(out), self.params["W_o"], self.params.get("b_o"))

    def flops(self):
        t, d = self.input_shape
        return 2 * t * (4 * d * d) + 2 * 2 * t * t * d


@register_layer("PositionEmbedding")
class PositionEmbedding(Layer):
    """y = x + P[:T]: a learned vector per position. Input and output (N, T, D); ``P`` (T, D) for
    the T of the input shape (the longest sequence the model takes)."""

    def __init__(self, init=None, name: str | None = None):
        super().__init__(name)
        self.init = GPT_INIT if init is None else init

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("(steps, features)", input_shape)
        self.add_param("P", input_shape, self.init)
        return input_shape

    def forward(self, x, training=False):
        return x + self.params["P"][:x.shape[1]]

    def backward(self, grad_y):
        dP = self.grads["P"]
        dP.fill(0)
        grad_y.sum(axis=0, out=dP[:grad_y.shape[1]])
        return grad_y

    def decode(self, x, state):
        """Positions ``state.position`` … of x (N, t, D)."""
        return x + self.params["P"][state.position:state.position + x.shape[1]]


@register_layer("TransformerBlock")
class TransformerBlock(_Container):
    """A pre-LayerNorm GPT block on (N, T, D):

        x = x + Dropout(MultiHeadAttention(LayerNorm(x)))
        x = x + Dropout(Dense(D)(GELU(Dense(hidden)(LayerNorm(x)))))

    ``hidden`` defaults to 4·D. ``init`` (default N(0, 0.02)) for every weight matrix but the two
    that write into the residual stream, which take ``proj_init`` (None: ``init``). ``use_bias:
    false``: no biases in the Dense maps and no β in the LayerNorms (nanoGPT's ``bias=False``).
    """

    def __init__(self, heads: int, hidden: int | None = None, causal: bool = True, dropout: float = 0.0,
                 init=None, proj_init=None, use_bias: bool = True, name: str | None = None):
        super().__init__(name)
        self.heads, self.hidden, self.causal, self.dropout = int(heads), hidden, bool(causal), float(dropout)
        self.init = GPT_INIT if init is None else init
        self.proj_init = self.init if proj_init is None else proj_init
        self.use_bias = bool(use_bias)
        self.ln1, self.ln2 = LayerNorm(use_bias=use_bias, name="ln1"), LayerNorm(use_bias=use_bias, name="ln2")
        self.attn = MultiHeadAttention(heads, causal, dropout, self.init, self.proj_init, use_bias, name="attn")
        self.attn_dropout = Dropout(self.dropout, name="attn_dropout")
        self.mlp: Chain | None = None        # Dense(hidden) → GELU → Dense(D) → Dropout, made by build

    def children(self):
        return [c for c in (self.ln1, self.attn, self.attn_dropout, self.ln2, self.mlp) if c is not None]

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise self.shape_error("(steps, features)", input_shape)
        d = input_shape[-1]
        hidden = int(self.hidden) if self.hidden is not None else 4 * d
        self.mlp = Chain([{"type": "Dense", "units": hidden, "init": self.init, "use_bias": self.use_bias},
                          {"type": "GELU"},
                          {"type": "Dense", "units": d, "init": self.proj_init, "use_bias": self.use_bias},
                          {"type": "Dropout", "rate": self.dropout}], name="mlp")
        for child in self.children():
            child.needs_input_grad = True
            child.initialize(input_shape, self.rng, self.dtype)
        return input_shape

    def forward(self, x, training=False):
        x = x + self.attn_dropout.forward(self.attn.forward(self.ln1.forward(x, training), training), training)
        return x + self.mlp.forward(self.ln2.forward(x, training), training)

    def backward(self, grad_y):
        grad = grad_y + self.ln2.backward(self.mlp.backward(grad_y))
        return grad + self.ln1.backward(self.attn.backward(self.attn_dropout.backward(grad)))

    def decode(self, x, state):
        x = x + self.attn.decode(self.ln1.forward(x), state)
        return x + self.mlp.forward(self.ln2.forward(x))

    def flops(self):
        return sum(c.flops() for c in self.children())


@register_layer("TiedEmbedding")
class TiedEmbedding(_Container):
    """Ids in, logits out, through one table ``E`` (input_dim, output_dim) used twice (GPT-2's
    tied input/output embeddings, Press & Wolf 2017):

        h = layers(E[ids]),   logits = h @ Eᵀ

    Input (N, T) integer ids; output (N, T, input_dim). ``layers`` run on (N, T, output_dim) and
    must keep that shape (position embedding, blocks, a final LayerNorm). E's gradient is the
    sum of both uses. One parameter with one owner: nothing is shared between layers.
    """

    def __init__(self, input_dim: int, output_dim: int, layers=(), init=None, name: str | None = None):
        super().__init__(name)
        self.embedding = Embedding(input_dim, output_dim, GPT_INIT if init is None else init, name="embedding")
        self.body = Chain(layers, name="body")
        self.input_dim, self.output_dim, self.init = int(input_dim), int(output_dim), init

    def children(self):
        return [self.embedding, self.body]

    def build(self, input_shape):
        shape = self.embedding.initialize(input_shape, self.rng, self.dtype)
        self.body.needs_input_grad = True       # dh reaches the lookup, whose table it updates
        if tuple(self.body.initialize(shape, self.rng, self.dtype)) != tuple(shape):
            raise self.shape_error(f"layers that keep the shape {tuple(shape)}", input_shape)
        return (*input_shape, self.input_dim)

    def forward(self, x, training=False):
        self.h = self.body.forward(self.embedding.forward(x, training), training)     # (N, T, D)
        return F.rows_matmul(self.h, self.embedding.params["E"].T)                  # (N, T, V)

    def backward(self, grad_y):
        E, dE = self.embedding.params["E"], self.embedding.grads["E"]
        dh = self.body.backward(F.rows_matmul(grad_y, E))
        self.embedding.backward(dh)                                                  # dE = the lookup's part
        v, d = grad_y.shape[-1], self.h.shape[-1]
        dE += grad_y.reshape(-1, v).T @ self.h.reshape(-1, d)                        # + the read-out's part
        return None                                                                  # ids: no gradient

    def decode(self, x, state):
        from ..decoding import decode
        h = decode(self.body, self.embedding.forward(x), state)
        return F.rows_matmul(h, self.embedding.params["E"].T)

    def flops(self):
        t = self.input_shape[0]
        return self.body.flops() + 2 * t * self.input_dim * self.output_dim

    def get_config(self):
        config = {"type": self.type_name, "input_dim": self.input_dim, "output_dim": self.output_dim,
                  "layers": [layer.get_config() for layer in self.body.layers]}
        if self.init is not None:
            config["init"] = self.init
        if self.name is not None:
            config["name"] = self.name
        return config
