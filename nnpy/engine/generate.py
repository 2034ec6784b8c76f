"""Text generation with a character-level language model (a GPT trained on the ``text`` dataset).

    model = nnpy.load("checkpoints/gpt-shakespeare-baby/best.json")
    print(model.generate("ROMEO:", tokens=300))              # Sequential.generate
    for ch in generate_text(model, "ROMEO:", 300): ...       # one character as soon as it is drawn

Each new character costs one position: the model decodes with a key/value cache
(``nnpy.nn.decoding``). The learned position table holds ``block_size`` positions; when the cache
is full, it starts again from the last ``block_size // 2`` characters (one prefill of half a
window every half window), so the model always sees between half a window and a whole one of
context (nanoGPT recomputes the whole window at every character instead).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..data.text import decode_chars
from ..errors import NnpyError
from ..nn.decoding import DecodeState, decode

MAX_TOKENS = 1_000_000
DEFAULT_TOP_K = 40


def vocabulary_of(model) -> str:
    """The characters a text model reads and writes (its checkpoint's ``encoding``); else an error."""
    description = getattr(model, "data_description", None)
    encoding = getattr(description, "encoding", None) or {}
    if encoding.get("kind") != "characters":
        raise NnpyError("the model is not a text model: it was not trained on the 'text' dataset (its checkpoint "
                        "holds no character vocabulary)")
    return encoding["vocabulary"]


def encode_prompt(prompt: str, vocabulary: str) -> np.ndarray:
    """The ids of ``prompt``; characters outside the vocabulary are an error that lists them."""
    unknown = sorted(set(prompt) - set(vocabulary))
    if unknown:
        raise NnpyError(f"--prompt: {len(unknown)} character(s) the model never saw: "
                        f"{' '.join(repr(c) for c in unknown)}; its vocabulary is {vocabulary!r}")
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index[c] for c in prompt], dtype=np.int64)


def check_top_k(top_k: int, vocabulary_size: int) -> None:
    """``nnpy generate --top-k`` lies in 1 … the vocabulary size (the Python API takes larger values
    as the whole vocabulary)."""
    if not 1 <= top_k <= vocabulary_size:
        raise NnpyError(f"--top-k must be from 1 to the vocabulary size {vocabulary_size}, not {top_k!r}")


def check_sampling(tokens: int, temperature: float, top_k: int | None) -> None:
    if isinstance(tokens, bool) or not isinstance(tokens, (int, np.integer)) or not 1 <= tokens <= MAX_TOKENS:
        raise NnpyError(f"--tokens must be a whole number from 1 to {MAX_TOKENS:,}, not {tokens!r}")
    if not temperature > 0:
        raise NnpyError(f"--temperature must be positive, not {temperature!r}")
    if top_k is not None and top_k < 1:
        raise NnpyError(f"--top-k must be at least 1, not {top_k!r}")


def next_id(logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> int:
    """One id drawn from softmax(logits / temperature) (V,), keeping the ``top_k`` largest only."""
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < len(z):
        z[z < np.partition(z, -top_k)[-top_k]] = -np.inf
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def sample_ids(model, prompt_ids, tokens: int, temperature: float = 0.8, top_k: int | None = 40,
               seed: int | None = None) -> Iterator[int]:
    """``tokens`` new ids after ``prompt_ids``, each yielded as soon as it is drawn."""
    block = model.input_shape[0]
    rng = np.random.default_rng(seed)
    context = list(np.asarray(prompt_ids, dtype=np.int64)[-block:]) or [0]      # no prompt: start at id 0
    state = DecodeState()
    logits = decode(model, np.array([context]), state)[0, -1]
    state.position = len(context)
    for _ in range(tokens):
        new = next_id(logits, temperature, top_k, rng)
        yield new
        context.append(new)
        if state.position == block:                      # the table is full: restart from half a window
            context = context[-(block // 2):]
            state = DecodeState()
            logits = decode(model, np.array([context]), state)[0, -1]
            state.position = len(context)
        else:
            logits = decode(model, np.array([[new]]), state)[0, -1]
            state.position += 1


def generate_text(model, prompt: str = "", tokens: int = 500, temperature: float = 0.8, top_k: int | None = 40,
                  seed: int | None = None) -> Iterator[str]:
    """The characters a text model writes after ``prompt``, one at a time (checked first)."""
    vocabulary = vocabulary_of(model)
    check_sampling(tokens, temperature, top_k)
    ids = encode_prompt(prompt, vocabulary)
    for new in sample_ids(model, ids, tokens, temperature, top_k, seed):
        yield vocabulary[new]
