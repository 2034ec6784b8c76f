"""The built-in model symbols: named recipes that turn a few options into a list of layer specs.

A symbol is a function ``(input_shape, outputs, **options) -> list[dict]`` registered
with ``@register_symbol("name")``. Its keyword options are the keys a config may put
beside ``symbol:`` in its ``model`` section. Everything is assembled from the layer
registry, so a symbol can be written out as ``model.layers`` in YAML just the same.
"""
from __future__ import annotations

from ..errors import RegistryError
from ..registry import register_symbol


def _activation(name: str) -> dict:
    return {"type": name}


def _to_image_rows(input_shape) -> list[dict]:
    """Recurrent layers read (T, F): an image (C, H, W) is read as H steps of C·W features
    (row h of every channel: a Permute to (H, C, W) first, then the reshape)."""
    if len(input_shape) != 3:
        return []
    c, h, w = input_shape
    rows = [{"type": "Reshape", "target_shape": [h, c * w]}]
    return rows if c == 1 else [{"type": "Permute", "dims": [2, 1, 3]}, *rows]


def _sizes(name: str, value, count: int | None = None) -> list[int]:
    """Layer sizes from a list of positive integers (a single integer is a list of one)."""
    sizes = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(sizes, (list, tuple)) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
        raise RegistryError(f"option '{name}' must be a list of positive integers, e.g. [512, 256], "
                            f"not {value!r}", option=name)
    if count is not None and len(sizes) != count:
        raise RegistryError(f"option '{name}' must list {count} sizes, not {len(sizes)} ({list(sizes)})",
                            option=name)
    return [int(v) for v in sizes]


@register_symbol("mlp")
def mlp(input_shape, outputs: int, hidden=(512, 256), activation: str = "ReLU", dropout: float = 0.0,
        batchnorm: bool = False, init: str = "he_normal") -> list[dict]:
    """Flatten → [Dense(h) → (BatchNorm) → activation → (Dropout)] per hidden size → Dense(outputs)."""
    layers: list[dict] = [{"type": "Flatten"}] if len(input_shape) != 1 else []
    for units in _sizes("hidden", hidden):
        layers.append({"type": "Dense", "units": int(units), "init": init})
        if batchnorm:
            layers.append({"type": "BatchNorm"})
        layers.append(_activation(activation))
        if dropout:
            layers.append({"type": "Dropout", "rate": float(dropout)})
    layers.append({"type": "Dense", "units": outputs})
    return layers


@register_symbol("alexnet")
def alexnet(input_shape, outputs: int, widths=(32, 64, 128), fc: int = 1024, dropout: float = 0.0,
            batchnorm: bool = False, activation: str = "ReLU") -> list[dict]:
    """The MNIST AlexNet: conv w0@4×4/2 → conv w1@3×3/2 pad 1 → conv w2@3×3/2 pad 1 → fc → fc.

    On 1×28×28 input the maps are 13×13, 7×7 and 4×4.
    """
    widths = _sizes("widths", widths, count=3)
    convs = [(widths[0], 4, 2, 0), (widths[1], 3, 2, 1), (widths[2], 3, 2, 1)]
    layers: list[dict] = []
    for filters, k, s, p in convs:
        layers.append({"type": "Conv2D", "filters": int(filters), "kernel_size": k, "stride": s, "padding": p,
                       "use_bias": not batchnorm})
        if batchnorm:
            layers.append({"type": "BatchNorm"})
        layers.append(_activation(activation))
    layers += [{"type": "Flatten"}, {"type": "Dense", "units": int(fc), "init": "he_normal"},
               _activation(activation)]
    if dropout:
        layers.append({"type": "Dropout", "rate": float(dropout)})
    layers.append({"type": "Dense", "units": outputs})
    return layers


@register_symbol("lenet")
def lenet(input_shape, outputs: int, widths=(32, 64), fc: int = 128, dropout=(0.25, 0.5),
          batchnorm: bool = False, activation: str = "ReLU") -> list[dict]:
    """conv w0@3×3 → conv w1@3×3 → maxpool 2 → (dropout) → fc → (dropout) → fc (Keras' MNIST CNN)."""
    if not isinstance(dropout, (list, tuple)) or len(dropout) != 2:
        raise RegistryError(f"option 'dropout' must be two rates [after the pooling, before the last "
                            f"layer], not {dropout!r}", option="dropout")
    layers: list[dict] = []
    for filters in _sizes("widths", widths):
        layers.append({"type": "Conv2D", "filters": int(filters), "kernel_size": 3, "use_bias": not batchnorm})
        if batchnorm:
            layers.append({"type": "BatchNorm"})
        layers.append(_activation(activation))
    layers.append({"type": "MaxPool2D", "pool_size": 2})
    if dropout[0]:
        layers.append({"type": "Dropout", "rate": float(dropout[0])})
    layers += [{"type": "Flatten"}, {"type": "Dense", "units": int(fc), "init": "he_normal"}, _activation(activation)]
    if dropout[1]:
        layers.append({"type": "Dropout", "rate": float(dropout[1])})
    layers.append({"type": "Dense", "units": outputs})
    return layers


@register_symbol("rnn")
def rnn(input_shape, outputs: int, cell: str = "LSTM", units: int = 64, num_layers: int = 1,
        output: str = "last", dropout: float = 0.0) -> list[dict]:
    """Stacked recurrent cells (RNN, LSTM or GRU) and a Dense head.

    ``output: last`` reads the final step (sequence classification, e.g. MNIST rows);
    ``output: sequence`` applies the head at every step (sequence-to-sequence regression).
    """
    if cell.upper() not in ("RNN", "LSTM", "GRU"):
        raise ValueError(f"cell must be RNN, LSTM or GRU, not {cell!r}")
    if output not in ("last", "sequence"):
        raise ValueError(f"output must be 'last' or 'sequence', not {output!r}")
    layers = _to_image_rows(input_shape)
    for i in range(int(num_layers)):
        last = i == int(num_layers) - 1
        layers.append({"type": cell.upper(), "units": int(units),
                       "return_sequences": not last or output == "sequence"})
        if dropout and not last:
            layers.append({"type": "Dropout", "rate": float(dropout)})
    if dropout:
        layers.append({"type": "Dropout", "rate": float(dropout)})
    layers.append({"type": "Dense", "units": outputs})
    return layers


@register_symbol("resnet")
def resnet(input_shape, outputs: int, widths=(32, 64, 128), blocks=(2, 2, 2), dropout: float = 0.0,
           stem_stride: int = 1, zero_init_residual: bool = False) -> list[dict]:
    """A small ResNet for 28×28 images.

    stem: conv w0@3×3 (stride ``stem_stride``: 2 runs the first stage on a 14×14 map,
    a quarter of the work) → BN → ReLU; stage i: ``blocks[i]`` residual blocks of two 3×3
    convs with BN (the first block of stages after the first halves the map with
    stride 2 and a 1×1 projection shortcut); global average pool → (dropout) → Dense.
    ``zero_init_residual``: each block's last BN starts with γ = 0, so every block starts as its
    shortcut (torchvision's option of that name; Goyal et al. 2017).
    """
    def block(filters, stride):
        return {"type": "Residual", "layers": [
            {"type": "Conv2D", "filters": filters, "kernel_size": 3, "stride": stride, "padding": 1,
             "use_bias": False},
            {"type": "BatchNorm"}, {"type": "ReLU"},
            {"type": "Conv2D", "filters": filters, "kernel_size": 3, "padding": 1, "use_bias": False},
            {"type": "BatchNorm", **({"gamma_init": "zeros"} if zero_init_residual else {})}]}

    widths, blocks = _sizes("widths", widths), _sizes("blocks", blocks)
    if len(widths) != len(blocks):
        raise ValueError(f"widths {list(widths)} and blocks {list(blocks)} must have the same length")
    layers: list[dict] = [{"type": "Conv2D", "filters": int(widths[0]), "kernel_size": 3, "padding": 1,
                           "stride": int(stem_stride), "use_bias": False}, {"type": "BatchNorm"}, {"type": "ReLU"}]
    for stage, (filters, n) in enumerate(zip(widths, blocks)):
        for b in range(int(n)):
            layers.append(block(int(filters), 2 if stage > 0 and b == 0 else 1))
    layers.append({"type": "GlobalAvgPool2D"})
    if dropout:
        layers.append({"type": "Dropout", "rate": float(dropout)})
    layers.append({"type": "Dense", "units": outputs})
    return layers


@register_symbol("gpt")
def gpt(input_shape, outputs: int, n_layer: int = 4, n_head: int = 4, n_embd: int = 128, dropout: float = 0.0,
        init_std: float = 0.02, bias: bool = True) -> list[dict]:
    """A character-level GPT (nanoGPT's model): ids (T,) → logits (T, outputs).

    TiedEmbedding(outputs, n_embd) around PositionEmbedding → n_layer × TransformerBlock(n_head)
    → LayerNorm; the same table embeds the ids and reads out the logits. Weights N(0, init_std),
    the residual projections N(0, init_std/√(2·n_layer)) (GPT-2's scaling), biases zero. T, the
    block size, is the dataset's (``data.options.block_size``); ``outputs`` its vocabulary.
    ``bias: false``: no biases in the Dense maps and attention, no β in the LayerNorms (nanoGPT's
    ``bias=False``, its default).
    """
    if len(input_shape) != 1:
        raise RegistryError(f"gpt takes sequences of token ids (block_size,), not samples of shape "
                            f"{tuple(input_shape)}")
    for key, value in (("n_layer", n_layer), ("n_head", n_head), ("n_embd", n_embd)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RegistryError(f"option '{key}' must be a positive integer, not {value!r}", option=key)
    if n_embd % n_head:
        raise RegistryError(f"option 'n_embd' ({n_embd}) must be divisible by n_head ({n_head})", option="n_embd")
    init = {"type": "normal", "std": float(init_std)}
    proj_init = {"type": "normal", "std": float(init_std) / (2 * n_layer) ** 0.5}
    blocks = [{"type": "TransformerBlock", "heads": n_head, "dropout": float(dropout), "init": init,
               "proj_init": proj_init, "use_bias": bool(bias), "name": f"block_{i + 1}"} for i in range(n_layer)]
    body = [{"type": "PositionEmbedding", "init": init, "name": "position"}, *([{"type": "Dropout", "rate": float(dropout)}] if dropout
                                                          else []), *blocks, {"type": "LayerNorm", "use_bias": bool(bias), "name": "ln_f"}]
    return [{"type": "TiedEmbedding", "input_dim": outputs, "output_dim": n_embd, "init": init, "layers": body,
             "name": "gpt"}]
