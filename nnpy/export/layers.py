"""Each built-in layer as ONNX nodes: one function per layer type, dispatched by type name.

An exporter is ``fn(layer, x, g, name) -> y``: it reads the built ``layer``, appends
nodes and initializers to the ``GraphBuilder`` ``g`` taking tensor ``x``, and returns
the name of its output tensor. ``name`` is the layer's full name (``residual_1.main.conv2d_1``).
Shapes below leave out the batch axis N, as nnpy's layers do; ONNX tensors have it.
A user's layer gets a mapping with ``@onnx_exporter("MyLayer")``.
"""
from __future__ import annotations

import numpy as np

from ..nn.layers.containers import shift_source
from . import ExportError

EXPORTERS: dict = {}


def onnx_exporter(*type_names: str):
    """Register ``fn(layer, x, g, name) -> y`` as the ONNX mapping of these layer types."""
    def register(fn):
        for type_name in type_names:
            if type_name in EXPORTERS:
                raise ValueError(f"an ONNX exporter for '{type_name}' is already registered")
            EXPORTERS[type_name] = fn
        return fn
    return register


def export_layer(layer, x: str, g, name: str) -> str:
    """The nodes of ``layer`` (any registered type) on tensor ``x``; its output tensor."""
    fn = EXPORTERS.get(layer.type_name)
    if fn is None:
        raise ExportError(f"ONNX export: layer '{name}' ({layer.type_name}) has no ONNX mapping; give it one "
                          f"with @nnpy.export.onnx_exporter('{layer.type_name}')")
    return fn(layer, x, g, name)


# --- containers -------------------------------------------------------------------------

@onnx_exporter("Chain")
def chain(layer, x, g, name):
    """The layers one after another; a child is named ``<name>.<child>``."""
    for child in layer.layers:
        x = export_layer(child, x, g, f"{name}.{child.name}" if name else child.name)
    return x


@onnx_exporter("TestTimeAugment")
def test_time_augment(layer, x, g, name):
    """The mean of the layers over the views, as nnpy evaluates it: the positions (x, and each
    shift a Gather of clipped indices) concatenated into one batch, with ``hflip`` that batch and
    its mirror image (a Slice with step −1 along the last axis) concatenated -- the V·N views in
    ``TestTimeAugment.views``'s order --, the layers, then Reshape to (V, N, …) and ReduceMean
    over the first axis."""
    last = len(layer.input_shape)                   # the last axis, counting the batch axis
    positions = [x]
    for k, (axis, step) in enumerate(layer.moves()):
        n = layer.input_shape[axis]
        rows = g.ints(f"{name}.shift{k}.rows", shift_source(n, step))
        positions.append(g.op("Gather", [x, rows], f"{name}.shift{k}", axis=last + 1 + axis))
    views = g.op("Concat", positions, f"{name}.positions", axis=0) if len(positions) > 1 else x
    if layer.hflip:
        mirrored = g.op("Slice", [views, g.ints(f"{name}.flip.starts", [-1]), g.ints(f"{name}.flip.ends", [-2 ** 63]),
                                  g.ints(f"{name}.flip.axes", [last]), g.ints(f"{name}.flip.steps", [-1])],
                        f"{name}.hflip")
        views = g.op("Concat", [views, mirrored], f"{name}.views", axis=0)
    y = chain(layer, views, g, name)
    stacked = g.op("Reshape", [y, g.ints(f"{name}.stacked_shape", [len(layer.views()), -1, *layer.output_shape])],
                   f"{name}.stacked")
    return g.op("ReduceMean", [stacked], name, axes=[0], keepdims=0)


@onnx_exporter("Residual")
def residual(layer, x, g, name):
    """Add(main(x), x or shortcut(x)), then the activation: ``<name>.main``, ``.shortcut``, ``.act``."""
    y = export_layer(layer.main, x, g, f"{name}.main")
    skip = x if layer.shortcut is None else export_layer(layer.shortcut, x, g, f"{name}.shortcut")
    y = g.op("Add", [y, skip], f"{name}.add")
    if layer.activation is not None:
        y = export_layer(layer.activation, y, g, f"{name}.act")
    return y


@onnx_exporter("Graph")
def graph(layer, x, g, name):
    """Each node on the tensors of the nodes it reads, in the order nnpy runs them; a node is
    named ``<name>.<node>`` (just ``<node>`` for the model itself, ``name`` "")."""
    from ..nn.layers.containers import INPUT

    tensors = {INPUT: x}
    for child in layer.layers:
        sources = [tensors[n] for n in layer.inputs_of(child)]
        tensors[child.name] = export_layer(child, sources if child.many_inputs else sources[0], g,
                                           f"{name}.{child.name}" if name else child.name)
    return tensors[layer.output]


# --- merge layers (x: a list of tensors) ------------------------------------------------------

@onnx_exporter("Concatenate")
def concatenate(layer, xs, g, name):
    """Concat along the sample axis + 1 (ONNX tensors have the batch axis)."""
    return g.op("Concat", list(xs), name, axis=layer.sample_axis + 1)


@onnx_exporter("Add")
def add(layer, xs, g, name):
    """Sum of all the inputs (one ONNX node for any number of them)."""
    return g.op("Sum", list(xs), name)


@onnx_exporter("Multiply")
def multiply(layer, xs, g, name):
    """Mul is binary: x₀ · x₁, then · x₂, …; the last product is named ``name``."""
    y = xs[0]
    for i, x in enumerate(xs[1:], start=1):
        y = g.op("Mul", [y, x], name if i == len(xs) - 1 else f"{name}.mul{i}")
    return y


# --- dense, convolution, pooling ------------------------------------------------------------

@onnx_exporter("Dense")
def dense(layer, x, g, name):
    """(F,) input: Gemm(x, W, b). (T, F) input: MatMul(x, W), then Add(b), at every step."""
    weights = [g.weight(f"{name}.W", layer.params["W"])]
    if layer.use_bias:
        weights.append(g.weight(f"{name}.b", layer.params["b"]))
    if len(layer.input_shape) == 1:
        return g.op("Gemm", [x, *weights], name)
    if not layer.use_bias:
        return g.op("MatMul", [x, weights[0]], name)
    y = g.op("MatMul", [x, weights[0]], f"{name}.matmul")
    return g.op("Add", [y, weights[1]], name)


def _window(layer, kernel) -> dict:
    """Kernel, strides and pads of a conv / pool layer with one or two spatial axes. nnpy's
    ``layer.pads`` (what it resolved at build time, so 'same' with an odd total keeps its extra
    row/column at the end) is a (before, after) pair per axis — one pair, and ints for kernel and
    stride, in 1-D; ONNX lists every axis's begin, then every axis's end: [top, left, bottom, right]."""
    pads = [layer.pads] if np.ndim(layer.pads) == 1 else layer.pads
    return {"kernel_shape": [int(k) for k in np.atleast_1d(kernel)],
            "strides": [int(s) for s in np.atleast_1d(layer.stride)],
            "pads": [int(before) for before, _ in pads] + [int(after) for _, after in pads]}


def _conv_inputs(layer, x, g, name) -> list:
    """[x, W] and, with a bias, b: the inputs of ONNX's Conv and ConvTranspose."""
    inputs = [x, g.weight(f"{name}.W", layer.params["W"])]
    if layer.use_bias:
        inputs.append(g.weight(f"{name}.b", layer.params["b"]))
    return inputs


def _global_pool(op: str, x, g, name):
    """GlobalAveragePool / GlobalMaxPool give (C, 1, …); Flatten makes it (C,)."""
    return g.op("Flatten", [g.op(op, [x], f"{name}.pool")], name, axis=1)


@onnx_exporter("Conv2D", "Conv1D")
def conv(layer, x, g, name):
    """Conv(x, W (F, C, kh, kw) or (F, C, k), b (F,)): both cross-correlations."""
    inputs = _conv_inputs(layer, x, g, name)
    return g.op("Conv", inputs, name, **_window(layer, layer.kernel_size))


@onnx_exporter("MaxPool2D", "MaxPool1D")
def max_pool(layer, x, g, name):
    """MaxPool: padding never wins a max (nnpy pads with -inf); floor output size."""
    return g.op("MaxPool", [x], name, ceil_mode=0, **_window(layer, layer.pool_size))


@onnx_exporter("AvgPool2D", "AvgPool1D")
def avg_pool(layer, x, g, name):
    """AveragePool with count_include_pad=1: the divisor is always kh·kw, as in nnpy."""
    return g.op("AveragePool", [x], name, ceil_mode=0, count_include_pad=1, **_window(layer, layer.pool_size))


@onnx_exporter("GlobalAvgPool2D", "GlobalAvgPool1D")
def global_avg_pool(layer, x, g, name):
    return _global_pool("GlobalAveragePool", x, g, name)


@onnx_exporter("GlobalMaxPool2D")
def global_max_pool2d(layer, x, g, name):
    return _global_pool("GlobalMaxPool", x, g, name)


# --- issue 31: transposed convolution, upsampling (the 1-D convs and pools share the exporters above) ---

@onnx_exporter("Conv2DTranspose")
def conv2d_transpose(layer, x, g, name):
    """ConvTranspose: W (C, F, kh, kw) is ONNX's layout too; pads, strides, output_padding as PyTorch's."""
    inputs = _conv_inputs(layer, x, g, name)
    ph, pw = layer.padding
    return g.op("ConvTranspose", inputs, name, kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                pads=[ph, pw, ph, pw], output_padding=list(layer.output_padding))


@onnx_exporter("UpSampling2D")
def upsampling2d(layer, x, g, name):
    """Resize by (1, 1, sh, sw): nearest reads o // s (asymmetric, floor); bilinear is half_pixel."""
    scales = g.weight(f"{name}.scales", [1.0, 1.0, *layer.size])
    if layer.interpolation == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    return g.op("Resize", [x, "", scales], name, **attrs)


# --- shape, dropout, normalization ------------------------------------------------------------

@onnx_exporter("Flatten")
def flatten(layer, x, g, name):
    return g.op("Flatten", [x], name, axis=1)


@onnx_exporter("Reshape")
def reshape(layer, x, g, name):
    """Reshape to (N, *output_shape): the -1 of target_shape is already resolved; N stays dynamic."""
    return g.op("Reshape", [x, g.ints(f"{name}.shape", [-1, *layer.output_shape])], name)


@onnx_exporter("Permute")
def permute(layer, x, g, name):
    """Transpose with the batch axis first, as nnpy numbers the axes (``layer.axes``)."""
    return g.op("Transpose", [x], name, perm=list(layer.axes))


@onnx_exporter("Dropout")
def dropout(layer, x, g, name):
    """Inference: the identity, so no node at all."""
    return x


@onnx_exporter("BatchNorm")
def batch_norm(layer, x, g, name):
    """BatchNormalization with the running statistics; (F,) and (C, H, W) inputs alike."""
    inputs = [x, g.weight(f"{name}.gamma", layer.params["gamma"]), g.weight(f"{name}.beta", layer.params["beta"]),
              g.weight(f"{name}.running_mean", layer.buffers["running_mean"]),
              g.weight(f"{name}.running_var", layer.buffers["running_var"])]
    return g.op("BatchNormalization", inputs, name, epsilon=layer.epsilon)


# --- activations ---------------------------------------------------------------------------------

@onnx_exporter("ReLU")
def relu(layer, x, g, name):
    return g.op("Relu", [x], name)


@onnx_exporter("LeakyReLU")
def leaky_relu(layer, x, g, name):
    return g.op("LeakyRelu", [x], name, alpha=layer.negative_slope)


@onnx_exporter("ELU")
def elu(layer, x, g, name):
    return g.op("Elu", [x], name, alpha=layer.alpha)


@onnx_exporter("Sigmoid")
def sigmoid(layer, x, g, name):
    return g.op("Sigmoid", [x], name)


@onnx_exporter("Tanh")
def tanh(layer, x, g, name):
    return g.op("Tanh", [x], name)


@onnx_exporter("Softmax")
def softmax(layer, x, g, name):
    """nnpy's axis counts the batch axis too, as ONNX's does."""
    return g.op("Softmax", [x], name, axis=layer.axis)


# --- embedding and recurrent layers ------------------------------------------------------------------

@onnx_exporter("Embedding")
def embedding(layer, x, g, name):
    """Gather(E, ids) along E's rows; float ids (a layer in the middle of a net) are cast first."""
    if x not in g.integer_tensors:
        x = g.op("Cast", [x], f"{name}.ids", to=g.onnx.TensorProto.INT64)
    return g.op("Gather", [g.weight(f"{name}.E", layer.params["E"]), x], name, axis=0)


def _gate_blocks(a: np.ndarray, order: list[int], units: int) -> np.ndarray:
    """The gate blocks of the last axis of ``a`` (each ``units`` wide) in ``order``."""
    return np.concatenate([a[..., k * units:(k + 1) * units] for k in order], axis=-1)


def _recurrent(layer, x, g, name, op_type: str, W, R, B, **attrs) -> str:
    """ONNX RNN/LSTM/GRU on time-major input; nnpy's (N, T, F) in, (N, units) or (N, T, units) out.

    ``W`` (k·units, F), ``R`` (k·units, units), ``B`` (2·k·units,) in ONNX's gate order.
    """
    xt = g.op("Transpose", [x], f"{name}.time_major", perm=[1, 0, 2])          # (T, N, F)
    weights = [g.weight(f"{name}.{key}", value[None]) for key, value in (("W", W), ("U", R), ("B", B))]
    seq, last = (f"{name}.Y", "") if layer.return_sequences else ("", f"{name}.Y_h")
    g.op(op_type, [xt, *weights], name, outputs=[seq, last], hidden_size=layer.units, **attrs)
    if not layer.return_sequences:                                              # Y_h (1, N, units)
        return g.op("Squeeze", [last, g.ints(f"{name}.direction_axis", [0])], f"{name}.last")
    y = g.op("Squeeze", [seq, g.ints(f"{name}.direction_axis", [1])], f"{name}.steps")   # (T, N, units)
    return g.op("Transpose", [y], f"{name}.batch_major", perm=[1, 0, 2])


@onnx_exporter("RNN")
def simple_rnn(layer, x, g, name):
    """RNN (tanh): W = Wᵀ, R = Uᵀ, B = [b, 0]."""
    p = layer.params
    return _recurrent(layer, x, g, name, "RNN", p["W"].T, p["U"].T, np.concatenate([p["b"], 0 * p["b"]]))


@onnx_exporter("LSTM")
def lstm(layer, x, g, name):
    """LSTM: nnpy's gate blocks i, f, g, o become ONNX's i, o, f, c (c is nnpy's g); B = [b, 0]."""
    p, u, order = layer.params, layer.units, [0, 3, 1, 2]
    W, R, b = (_gate_blocks(p[k], order, u) for k in ("W", "U", "b"))
    return _recurrent(layer, x, g, name, "LSTM", W.T, R.T, np.concatenate([b, 0 * b]))


@onnx_exporter("GRU")
def gru(layer, x, g, name):
    """GRU, gates z, r, h in both; reset_after is linear_before_reset=1; B = [b, b_rec]."""
    p = layer.params
    return _recurrent(layer, x, g, name, "GRU", p["W"].T, p["U"].T, np.concatenate([p["b"], p["b_rec"]]),
                      linear_before_reset=1)


# --- the GPT's layers (nnpy/nn/layers/transformer.py) ------------------------------------------

@onnx_exporter("LayerNorm")
def layer_norm(layer, x, g, name):
    """LayerNormalization over the last axis (opset 17)."""
    inputs = [x, g.weight(f"{name}.gamma", layer.params["gamma"])]
    if layer.use_bias:
        inputs.append(g.weight(f"{name}.beta", layer.params["beta"]))
    return g.op("LayerNormalization", inputs, name, axis=-1, epsilon=layer.epsilon)


@onnx_exporter("GELU")
def gelu(layer, x, g, name):
    """½·x·(1 + Erf(x/√2)), or with ``approximate: tanh`` ½·x·(1 + Tanh(√(2/π)(x + 0.044715x³)))."""
    if layer.approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x], f"{name}.square"), x], f"{name}.cube")
        inner = g.op("Add", [x, g.op("Mul", [cube, g.weight(f"{name}.c", 0.044715)], f"{name}.cubic")], f"{name}.sum")
        s = g.op("Tanh", [g.op("Mul", [inner, g.weight(f"{name}.k", np.sqrt(2 / np.pi))], f"{name}.scaled")],
                 f"{name}.tanh")
    else:
        s = g.op("Erf", [g.op("Mul", [x, g.weight(f"{name}.k", 1 / np.sqrt(2))], f"{name}.scaled")], f"{name}.erf")
    one_plus = g.op("Add", [s, g.weight(f"{name}.one", 1.0)], f"{name}.one_plus")
    return g.op("Mul", [g.op("Mul", [x, one_plus], f"{name}.product"), g.weight(f"{name}.half", 0.5)], name)


@onnx_exporter("MultiHeadAttention")
def multi_head_attention(layer, x, g, name):
    """(N, T, D): MatMul/Add W_qkv, Split into q, k, v, Reshape/Transpose to heads (N, H, T, Dh),
    MatMul q·kᵀ, scale, Add the causal mask (0 / −inf, for the T the model was built for),
    Softmax, MatMul by v, heads back to (N, T, D), MatMul/Add W_o."""
    t, d = layer.input_shape
    h = layer.heads
    p = {key: g.weight(f"{name}.{key}", value) for key, value in layer.params.items()}
    qkv = _affine(g, x, p["W_qkv"], p.get("b_qkv"), f"{name}.qkv")
    q, k, v = g.op("Split", [qkv, g.ints(f"{name}.split", [d, d, d])], f"{name}.split_qkv",
                   outputs=[f"{name}.q", f"{name}.k", f"{name}.v"], axis=2)
    shape = g.ints(f"{name}.head_shape", [-1, t, h, d // h])
    heads = {key: g.op("Reshape", [tensor, shape], f"{tensor}_heads") for key, tensor in (("q", q), ("k", k), ("v", v))}
    qh = g.op("Transpose", [heads["q"]], f"{name}.qh", perm=[0, 2, 1, 3])             # (N, H, T, Dh)
    kt = g.op("Transpose", [heads["k"]], f"{name}.kt", perm=[0, 2, 3, 1])             # (N, H, Dh, T)
    vh = g.op("Transpose", [heads["v"]], f"{name}.vh", perm=[0, 2, 1, 3])
    scores = g.op("Mul", [g.op("MatMul", [qh, kt], f"{name}.qk"), g.weight(f"{name}.scale", 1 / np.sqrt(d // h))],
                  f"{name}.scores")
    if layer.causal:
        mask = np.where(np.arange(t)[None, :] > np.arange(t)[:, None], -np.inf, 0.0)
        scores = g.op("Add", [scores, g.weight(f"{name}.causal_mask", mask)], f"{name}.masked")
    probs = g.op("Softmax", [scores], f"{name}.probs", axis=-1)
    out = g.op("Transpose", [g.op("MatMul", [probs, vh], f"{name}.attend")], f"{name}.steps_major", perm=[0, 2, 1, 3])
    merged = g.op("Reshape", [out, g.ints(f"{name}.merged_shape", [-1, t, d])], f"{name}.merged")
    return _affine(g, merged, p["W_o"], p.get("b_o"), name)


def _affine(g, x, W, b, name):
    """MatMul(x, W), then Add(b) unless b is None; the output tensor is ``name``."""
    if b is None:
        return g.op("MatMul", [x, W], name)
    return g.op("Add", [g.op("MatMul", [x, W], f"{name}_matmul"), b], name)


@onnx_exporter("PositionEmbedding")
def position_embedding(layer, x, g, name):
    """Add the (T, D) table."""
    return g.op("Add", [x, g.weight(f"{name}.P", layer.params["P"])], name)


@onnx_exporter("TransformerBlock")
def transformer_block(layer, x, g, name):
    """x + attn(ln1(x)), then + mlp(ln2(·)): children ``<name>.ln1``, ``.attn``, ``.ln2``, ``.mlp``."""
    a = export_layer(layer.attn, export_layer(layer.ln1, x, g, f"{name}.ln1"), g, f"{name}.attn")
    x = g.op("Add", [x, a], f"{name}.residual1")
    m = export_layer(layer.mlp, export_layer(layer.ln2, x, g, f"{name}.ln2"), g, f"{name}.mlp")
    return g.op("Add", [x, m], name)


@onnx_exporter("TiedEmbedding")
def tied_embedding(layer, x, g, name):
    """Gather from E, the body, then MatMul by Transpose(E): one initializer ``<name>.embedding.E``."""
    h = export_layer(layer.embedding, x, g, f"{name}.embedding")
    h = export_layer(layer.body, h, g, f"{name}.body")
    e_t = g.op("Transpose", [f"{name}.embedding.E"], f"{name}.E_T", perm=[1, 0])
    return g.op("MatMul", [h, e_t], name)
