"""Text datasets: characters of any UTF-8 file (``text``, for a character-level GPT), and Reuters
newswire topics, split and encoded as Keras' ``reuters.load_data``.

``text`` (see ``CharText``): every character of the file is a token; the vocabulary is the
sorted set of its characters (stored in the checkpoint as the description's ``encoding``); the
first 90% of the file trains, the last 10% validates (nanoGPT's split by position); a sample is
a window of ``block_size`` ids and its target the same window one character later.

Reuters:

The raw file ``reuters.npz`` (see ``data/README``) holds every newswire as word ids by
frequency rank (1 = the most frequent word) before any offset, concatenated: ``tokens``
(int32), ``offsets`` (int64, n + 1; newswire i is ``tokens[offsets[i]:offsets[i + 1]]``)
and ``labels`` (int64, 0 … 45). It is read without ``allow_pickle``.

Keras' loader, reproduced here exactly:

1. shuffle the newswires with seed 113: ``np.random.seed(113)`` then ``np.random.shuffle``
   (older Keras shuffled ``xs`` and ``labels`` separately after re-seeding, newer Keras
   shuffles one index array: the same permutation either way);
2. add ``index_from = 3`` to every id and prepend ``start_char = 1`` (0 is padding);
3. replace every id ``>= num_words`` by ``oov_char = 2`` (the start char included, so
   ``num_words`` must be at least 3);
4. the first ``int(n · 0.8)`` newswires are the training set: 8,982 train / 2,246 test.

Keras' ``load_data(maxlen=…)`` *drops* the newswires longer than ``maxlen``; nnpy's
``maxlen`` is instead the length ``pad_sequences`` pads or truncates to in sequence mode,
so the split sizes never change.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import register_dataset
from .datasets import DataDescription, DataSource, check_count
from .paths import repo_data_dir

REUTERS_CLASSES = 46
#: Keras' constants (``reuters.load_data`` defaults).
REUTERS_SEED = 113
START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3
REUTERS_TEST_SPLIT = 0.2
REUTERS_MODES = ("multi_hot", "sequence")


def _reuters_folders(root) -> list[Path]:
    return [Path(root)] if root is not None else [repo_data_dir("reuters"), Path("data") / "reuters"]


def _find(folders: list[Path], filename: str, hint: str) -> Path:
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    looked = ", ".join(str(f) for f in folders)
    raise DataError(f"{filename} not found (looked in {looked}); {hint}")


def load_reuters_raw(root=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens, offsets, labels)`` of ``reuters.npz``, checked; no offset applied."""
    path = _find(_reuters_folders(root), "reuters.npz",
                 "it holds tokens, offsets and labels (see data/README)")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = sorted({"tokens", "offsets", "labels"} - set(f.files))
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
            tokens, offsets, labels = f["tokens"], f["offsets"], f["labels"]
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it as a numpy .npz without pickle: {exc}") from None
    n = len(labels)
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
        raise DataError(f"{path}: tokens must be a 1-D integer array, got {tokens.dtype} {tokens.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{path}: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if offsets.shape != (n + 1,) or offsets.dtype.kind not in "iu" or offsets[0] != 0 \
            or offsets[-1] != len(tokens) or np.any(np.diff(offsets) < 0):
        raise DataError(f"{path}: offsets must be {n + 1} non-decreasing integers from 0 to "
                        f"{len(tokens)} (one more than the {n} labels)")
    if n and (labels.min() < 0 or labels.max() >= REUTERS_CLASSES):
        raise DataError(f"{path}: labels must lie in 0..{REUTERS_CLASSES - 1}, "
                        f"got {int(labels.min())}..{int(labels.max())}")
    if len(tokens) and tokens.min() < 1:
        raise DataError(f"{path}: word ids start at 1 (the most frequent word), got {int(tokens.min())}")
    return tokens.astype(np.int64), offsets.astype(np.int64), labels.astype(np.int64)


def reuters_word_index(root=None) -> dict[str, int]:
    """Keras' ``reuters.get_word_index()``: word → frequency rank (before the +3 offset)."""
    path = _find(_reuters_folders(root), "reuters_word_index.json", "it maps each word to its id")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it as JSON: {exc}") from None
    if not isinstance(index, dict):
        raise DataError(f"{path}: expected a JSON object word → id")
    return index


def decode_reuters(ids, word_index: dict[str, int]) -> str:
    """The words of a loaded (offset) id sequence; padding dropped, start/OOV shown as ``?``."""
    reverse = {v: k for k, v in word_index.items()}
    return " ".join(reverse.get(int(i) - INDEX_FROM, "?") for i in ids if int(i) != 0)


def keras_permutation(n: int, seed: int = REUTERS_SEED) -> np.ndarray:
    """The order Keras' loaders put ``n`` samples in: ``np.random.seed(seed)`` then a shuffle."""
    indices = np.arange(n)
    np.random.RandomState(seed).shuffle(indices)
    return indices


def reuters_sequences(tokens, offsets, order, num_words: int):
    """The newswires ``order`` as Keras returns them, concatenated.

    Returns ``(ids, lengths)``: ``ids`` holds each newswire as ``[1, w + 3, …]`` with every
    id ``>= num_words`` replaced by 2; ``lengths`` the length of each (start char included).
    """
    starts, lengths = offsets[order], offsets[order + 1] - offsets[order]
    out_lengths = lengths + 1
    total = int(out_lengths.sum())
    out_starts = np.concatenate([[0], np.cumsum(out_lengths)[:-1]]).astype(np.int64)
    ids = np.empty(total, dtype=np.int64)
    ids[out_starts] = START_CHAR
    body = np.ones(total, dtype=bool)
    body[out_starts] = False
    # position of each body token in ``tokens``: its newswire's start + its rank within it
    src = np.repeat(starts - (out_starts + 1), lengths) + np.flatnonzero(body)
    ids[body] = tokens[src] + INDEX_FROM
    ids[ids >= num_words] = OOV_CHAR
    return ids, out_lengths


def multi_hot(ids, lengths, num_words: int) -> np.ndarray:
    """``(N, num_words)`` float32: 1 where the newswire holds the id, else 0."""
    x = np.zeros((len(lengths), num_words), dtype=np.float32)
    x[np.repeat(np.arange(len(lengths)), lengths), ids] = 1.0
    return x


def pad_sequences(ids, lengths, maxlen: int) -> np.ndarray:
    """``(N, maxlen)`` int64 as Keras' ``pad_sequences`` (defaults ``padding='pre'``,
    ``truncating='pre'``, value 0): short sequences are left-padded with 0, long ones keep
    their last ``maxlen`` ids."""
    x = np.zeros((len(lengths), maxlen), dtype=np.int64)
    row = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    pos = np.arange(len(ids)) - np.repeat(starts, lengths)        # position within its sequence
    col = maxlen - np.repeat(lengths, lengths) + pos              # right-aligned
    keep = col >= 0
    x[row[keep], col[keep]] = ids[keep]
    return x


@register_dataset("reuters")
class Reuters(DataSource):
    """Reuters newswire topics (Keras' split): 8,982 train / 2,246 test newswires, 46 topics.

    ``mode: multi_hot``: x ``(N, num_words)`` float32 0/1 (id 1 — the start char — is set in
    every row, id 2 wherever a word fell outside ``num_words``). ``mode: sequence``: x
    ``(N, maxlen)`` int64 ids for an ``Embedding(input_dim=num_words)``, pre-padded with 0
    and pre-truncated. y int64 topic indices. Looks in ``root`` when given (only there),
    else ``<repo>/data/reuters``, else ``./data/reuters``.
    """

    def __init__(self, num_words: int = 10000, mode: str = "multi_hot", maxlen: int = 200, root=None):
        self.num_words = check_count("num_words", num_words, minimum=3)
        self.maxlen = check_count("maxlen", maxlen)
        if mode not in REUTERS_MODES:
            raise ConfigError(f"mode must be one of {', '.join(REUTERS_MODES)}, not {mode!r}")
        self.mode, self.root = mode, root

    def describe(self):
        if self.mode == "multi_hot":
            return DataDescription((self.num_words,), REUTERS_CLASSES, "classification")
        return DataDescription((self.maxlen,), REUTERS_CLASSES, "classification", input_dtype="int64")

    def load(self, limit=None):
        """The newswires of each split (only the first ``limit`` are encoded)."""
        if limit is not None:
            limit = check_count("limit", limit)
        tokens, offsets, labels = load_reuters_raw(self.root)
        n = len(labels)
        order = keras_permutation(n)
        cut = int(n * (1 - REUTERS_TEST_SPLIT))
        arrays = []
        for part in (order[:cut], order[cut:]):
            part = part[:limit]
            ids, lengths = reuters_sequences(tokens, offsets, part, self.num_words)
            arrays += [multi_hot(ids, lengths, self.num_words) if self.mode == "multi_hot"
                       else pad_sequences(ids, lengths, self.maxlen), labels[part]]
        return self.dataset(*arrays)


__all__ = ["CharText", "char_vocabulary", "decode_chars", "encode_chars", "read_utf8", "REUTERS_CLASSES", "decode_reuters", "keras_permutation", "load_reuters_raw", "multi_hot",
           "pad_sequences", "Reuters", "reuters_sequences", "reuters_word_index"]


# --- characters of a UTF-8 file --------------------------------------------------------------

#: the text the ``text`` dataset reads when no path is given
DEFAULT_TEXT = ("shakespeare", "input.txt")
TEXT_VAL_FRACTION = 0.1


def read_utf8(path) -> str:
    """The text of ``path``; a file that is not UTF-8 is a DataError naming the first bad byte's offset."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                        f"({exc.reason})") from None


def char_vocabulary(text: str) -> str:
    """The distinct characters of ``text``, sorted: character i has id i."""
    return "".join(sorted(set(text)))


def encode_chars(text: str, vocabulary: str) -> np.ndarray:
    """(len(text),) int64 ids of the characters of ``text`` (all of them in ``vocabulary``)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    table = np.frombuffer(vocabulary.encode("utf-32-le"), dtype=np.uint32)     # sorted code points
    return np.searchsorted(table, codes).astype(np.int64)


def decode_chars(ids, vocabulary: str) -> str:
    """The text of the ids (…) in ``vocabulary``."""
    return "".join(vocabulary[int(i)] for i in np.asarray(ids).reshape(-1))


def windows(ids: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``block_size`` ids and its next-character targets: x[i] = ids[i:i+T],
    y[i] = ids[i+1:i+1+T], (len(ids) − T, T) each, read-only views (no copy)."""
    view = np.lib.stride_tricks.sliding_window_view
    return view(ids[:-1], block_size), view(ids[1:], block_size)


@register_dataset("text")
class CharText(DataSource):
    """Characters of a UTF-8 file for a character-level language model.

    x ``(N, block_size)`` int64 ids, y the same windows shifted by one character (the next
    character at every position); N = every start position of the split. The first 90% of the
    file trains, the last 10% is held out (``holds_out_validation``: the engine validates on it,
    ``data.val_split`` does not apply). ``path``: the file (default: the embedded Tiny
    Shakespeare, ``<repo>/data/shakespeare/input.txt``); its vocabulary (sorted characters) is in
    the description's ``encoding`` and so in every checkpoint.
    """
    path_options = ("path",)
    holds_out_validation = True

    def __init__(self, path=None, block_size: int = 64, root=None):
        self.block_size = check_count("block_size", block_size)
        if path is None:
            path = Path(root, DEFAULT_TEXT[1]) if root is not None else repo_data_dir(DEFAULT_TEXT[0]) / DEFAULT_TEXT[1]
        self.path = Path(path)
        self._text = None

    def text(self) -> str:
        """The file's text, read once and checked: long enough for a window in each split."""
        if self._text is None:
            if not self.path.is_file():
                raise DataError(f"{self.path}: no such file (data.options.path names the text to train on)")
            text = read_utf8(self.path)
            if not text:
                raise DataError(f"{self.path}: the file is empty")
            held_out = len(text) - self.split_at(len(text))
            if held_out < self.block_size + 1:
                raise DataError(f"{self.path}: {len(text)} characters are too few for block_size "
                                f"{self.block_size}: the held-out last 10% ({held_out} characters) needs at least "
                                f"block_size + 1 = {self.block_size + 1}; give a longer text (≥ "
                                f"{10 * (self.block_size + 1)} characters) or a smaller data.options.block_size")
            self._text = text
        return self._text

    @staticmethod
    def split_at(n: int) -> int:
        """Where validation starts: nanoGPT's int(n · 0.9)."""
        return int(n * (1 - TEXT_VAL_FRACTION))

    def describe(self) -> DataDescription:
        vocabulary = char_vocabulary(self.text())
        return DataDescription((self.block_size,), len(vocabulary), "classification", input_dtype="int64",
                               encoding={"kind": "characters", "vocabulary": vocabulary})

    def load(self, limit=None):
        text = self.text()
        ids = encode_chars(text, self.describe().encoding["vocabulary"])
        cut = self.split_at(len(ids))
        x_train, y_train = windows(ids[:cut], self.block_size)
        x_val, y_val = windows(ids[cut:], self.block_size)
        return self.dataset(x_train, y_train, x_val, y_val, limit)
