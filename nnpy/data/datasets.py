"""Datasets: MNIST, Fashion-MNIST and small synthetic problems.

Each factory is registered in ``nnpy.registry.DATASETS`` and returns a
``Dataset``; a config names one as ``{"type": "mnist", "limit": 1000}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import register_dataset
from .idx import read_idx
from .paths import repo_data_dir

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]
#: Debian's ``dataset-fashion-mnist`` package installs the files here.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
#: Angular frequency range (rad/step) of the ``sine`` sequences: periods of 10.5–31 steps.
SINE_OMEGA = (0.2, 0.6)

_IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
              "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@dataclass
class Dataset:
    """Train and test arrays of one problem.

    ``x_*`` is ``(N, *input_shape)``; ``y_*`` is ``(N,)`` int64 class indices for
    classification, or ``(N, ...)`` float32 targets for regression.
    """
    name: str
    task: str                      # "classification" | "regression"
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    num_classes: int | None = None
    class_names: list | None = None
    input_shape: tuple = ()

    def __post_init__(self):
        if self.task not in ("classification", "regression"):
            raise ValueError(f"dataset '{self.name}': task must be 'classification' or "
                             f"'regression', not {self.task!r}")
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise DataError(f"dataset '{self.name}': x_{split} has {len(x)} samples "
                                f"but y_{split} has {len(y)}")


def _check_count(name: str, value, minimum: int = 1) -> int:
    """A whole number ``>= minimum`` from a config (``True`` is not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return int(value)


# --- MNIST-like (IDX files) -----------------------------------------------------------

def _find_idx_folder(folders: list[Path]) -> dict[str, Path] | None:
    """The four IDX files of the first folder that holds all of them (``.gz`` or raw)."""
    for folder in folders:
        found = {}
        for key, stem in _IDX_FILES.items():
            for candidate in (folder / f"{stem}.gz", folder / stem):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(_IDX_FILES):
            return found
    return None


def _load_idx_dataset(name: str, folders: list[Path], class_names: list[str],
                      limit: int | None, hint: str) -> Dataset:
    """Read the four IDX files of an MNIST-like dataset from the first folder that has them.

    Images become float32 ``(N, 1, 28, 28)`` in [0, 1]; labels int64 ``(N,)``.
    """
    if limit is not None:
        limit = _check_count("limit", limit)
    files = _find_idx_folder(folders)
    if files is None:
        looked = ", ".join(str(f) for f in folders)
        raise DataError(f"dataset '{name}' not found (looked in {looked}); {hint}")
    arrays = {}
    for split in ("train", "test"):
        xf, yf = files[f"x_{split}"], files[f"y_{split}"]
        x, y = read_idx(xf), read_idx(yf)
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise DataError(f"{xf}: expected uint8 images of shape (N, 28, 28), "
                            f"got {x.dtype} {x.shape}")
        if y.shape != (len(x),) or y.dtype != np.uint8:
            raise DataError(f"{yf}: expected {len(x)} uint8 labels to match {xf.name}, "
                            f"got {y.dtype} {y.shape}")
        if len(y) and y.max() >= len(class_names):
            raise DataError(f"{yf}: label {int(y.max())} is out of range 0..{len(class_names) - 1}")
        n = len(x) if limit is None else min(limit, len(x))
        arrays[f"x_{split}"] = (x[:n, None].astype(np.float32) / np.float32(255))
        arrays[f"y_{split}"] = y[:n].astype(np.int64)
    return Dataset(name=name, task="classification", num_classes=len(class_names),
                   class_names=list(class_names), input_shape=(1, 28, 28), **arrays)


@register_dataset("mnist")
def mnist(root=None, limit: int | None = None) -> Dataset:
    """MNIST digits: 60,000 train / 10,000 test, x ``(N, 1, 28, 28)`` float32 in [0, 1].

    Looks in ``root`` when given (only there), else in ``<repo>/data/mnist`` (the
    embedded copy), else ``./data/mnist``. ``limit`` keeps the first ``limit``
    samples of train and of test.
    """
    folders = [Path(root)] if root is not None else [repo_data_dir("mnist"),
                                                     Path("data") / "mnist"]
    return _load_idx_dataset("mnist", folders, DIGIT_CLASSES, limit,
                             "put train-images-idx3-ubyte.gz and the other three IDX files there")


@register_dataset("fashion-mnist")
def fashion_mnist(root=None, limit: int | None = None) -> Dataset:
    """Fashion-MNIST (Zalando): 10 clothing classes, shaped and scaled as ``mnist``.

    Looks in ``root`` when given (only there), else in ``<repo>/data/fashion-mnist``
    (where ``nnpy data fetch fashion-mnist`` puts it), else in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
    """
    folders = [Path(root)] if root is not None else [repo_data_dir("fashion-mnist"),
                                                     DEBIAN_FASHION_DIR]
    return _load_idx_dataset("fashion-mnist", folders, FASHION_CLASSES, limit,
                             "download it with: nnpy data fetch fashion-mnist")


# --- synthetic ------------------------------------------------------------------------

@register_dataset("sine")
def sine(n_train: int = 2000, n_test: int = 500, seq_len: int = 50, seed: int = 0) -> Dataset:
    """Sequence regression sin -> cos, the classic first RNN problem.

    Each sequence has its own phase φ ~ U[0, 2π) and angular frequency
    ω ~ U[``SINE_OMEGA``] rad/step; for t = 0 … seq_len-1
    x[n, t, 0] = sin(ω t + φ) and y[n, t, 0] = cos(ω t + φ). Shapes ``(N, T, 1)``,
    float32. Train and test are drawn from independent streams of ``seed``.
    """
    n_train, n_test = _check_count("n_train", n_train), _check_count("n_test", n_test)
    seq_len = _check_count("seq_len", seq_len)

    def draw(n: int, stream: int):
        rng = np.random.default_rng([seed, stream])
        phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
        omega = rng.uniform(*SINE_OMEGA, size=(n, 1))
        angle = omega * np.arange(seq_len) + phase              # (N, T)
        return (np.sin(angle)[..., None].astype(np.float32),
                np.cos(angle)[..., None].astype(np.float32))

    (x_train, y_train), (x_test, y_test) = draw(n_train, 0), draw(n_test, 1)
    return Dataset("sine", "regression", x_train, y_train, x_test, y_test,
                   input_shape=(seq_len, 1))


@register_dataset("function")
def function(n_train: int = 4000, n_test: int = 1000, seed: int = 0) -> Dataset:
    """Function fitting: x ~ U[-5, 5]², y = sin(x1) - cos(x2).

    x ``(N, 2)`` and y ``(N, 1)``, float32; train and test from independent streams of ``seed``.
    """
    n_train, n_test = _check_count("n_train", n_train), _check_count("n_test", n_test)

    def draw(n: int, stream: int):
        x = np.random.default_rng([seed, stream]).uniform(-5.0, 5.0, size=(n, 2))
        x = x.astype(np.float32)
        y = np.sin(x[:, :1].astype(np.float64)) - np.cos(x[:, 1:].astype(np.float64))
        return x, y.astype(np.float32)

    (x_train, y_train), (x_test, y_test) = draw(n_train, 0), draw(n_test, 1)
    return Dataset("function", "regression", x_train, y_train, x_test, y_test,
                   input_shape=(2,))


@register_dataset("parity")
def parity(bits: int = 8) -> Dataset:
    """Parity of ``bits`` bits: all 2^bits patterns, x ``(2^bits, bits)`` float32 0/1
    (most significant bit first), y int64 = number of ones mod 2.

    The point is to fit the whole function, so train and test are both the full
    set of patterns (test accuracy equals train accuracy).
    """
    bits = _check_count("bits", bits)
    if bits > 20:
        raise ConfigError(f"bits must be at most 20 (2^bits patterns), not {bits}")
    codes = np.arange(2 ** bits)[:, None]
    x = ((codes >> np.arange(bits - 1, -1, -1)) & 1).astype(np.float32)
    y = (x.sum(axis=1).astype(np.int64) % 2)
    return Dataset("parity", "classification", x, y, x.copy(), y.copy(), num_classes=2,
                   class_names=["even", "odd"], input_shape=(bits,))
