"""Incremental decoding: run a model on the next positions of sequences it has already seen,
each layer remembering what it needs (attention: the keys and values of earlier positions).

    state = DecodeState()
    logits = decode(model, prompt_ids, state)     # (N, t, V): the prompt, all at once
    state.position += t
    logits = decode(model, next_ids, state)       # (N, 1, V): one position, one cost

A layer that looks across positions has ``decode(x, state)`` (``MultiHeadAttention``,
``PositionEmbedding``, ``TransformerBlock``, ``TiedEmbedding``); chains decode child by child;
layers that map each position alone (``POSITIONWISE``) run their evaluation forward. Any other
layer (a convolution, a recurrent layer, a Flatten) cannot be decoded this way: ``decode`` says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import NnpyError
from .layers.containers import Chain

#: layers that map every position on its own: their forward on new positions is their decode
POSITIONWISE = ("Dense", "LayerNorm", "GELU", "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softmax",
                "Dropout", "Embedding")


@dataclass
class DecodeState:
    """``position``: the positions already decoded; ``caches``: each layer's memory of them, by id."""
    position: int = 0
    caches: dict = field(default_factory=dict)


def decode(layer, x, state: DecodeState):
    """``layer``'s output for the next positions x (N, t, …) of sequences ``state`` remembers."""
    if hasattr(layer, "decode"):
        return layer.decode(x, state)
    if isinstance(layer, Chain):
        for child in layer.layers:
            x = decode(child, x, state)
        return x
    if layer.type_name in POSITIONWISE:
        return layer.forward(x, training=False)
    raise NnpyError(f"layer '{layer.name or layer.type_name}' ({layer.type_name}) cannot be decoded one "
                    f"position at a time; generation needs a model of {', '.join(POSITIONWISE)}, "
                    f"attention and embedding layers")
