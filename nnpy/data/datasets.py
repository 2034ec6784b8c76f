"""Datasets: the contract every registered dataset follows, MNIST, Fashion-MNIST and small
synthetic problems.

A dataset is a class registered in ``nnpy.registry.DATASETS``::

    @register_dataset("parity")
    class Parity(DataSource):
        def __init__(self, bits: int = 8):        # the options a config gives in data.options
            self.bits = check_count("bits", bits)
        def describe(self) -> DataDescription:    # shapes, outputs, task: no data is read
            return DataDescription(input_shape=(self.bits,), outputs=2, task="classification")
        def load(self, limit=None) -> Dataset:    # the arrays
            ...
            return self.dataset(x_train, y_train, x_test, y_test, limit)

``describe`` lets the engine build the model with shape inference, and check a whole config,
before any file is opened; ``load(limit)`` keeps the first ``limit`` samples of each split.
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
TASKS = ("classification", "regression")
#: How a relative path of a config is read (said where a file is not found).
RELATIVE_PATHS = "a config's relative paths start from the config file's folder"

_IDX_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
              "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@dataclass(frozen=True)
class DataDescription:
    """What a model needs to know of its data, known from a dataset's options alone.

    ``input_shape``: one sample's shape (no batch axis); ``outputs``: classes, or regression
    outputs per sample (per step for sequences); ``task``: ``classification`` or
    ``regression``; ``class_names``: one per class, or None; ``input_dtype``: ``float32``, or
    ``int64`` for token ids; ``encoding``: plain data saying how raw records became inputs,
    for datasets that learn it from their files (a CSV's columns and categories, see
    ``nnpy.data.csv_dataset``), else None; ``target_shape``: one sample's target shape when the
    model must give exactly that (images for a denoiser), else None (only the last axis is checked).
    """
    input_shape: tuple
    outputs: int
    task: str
    class_names: tuple | None = None
    input_dtype: str = "float32"
    encoding: dict | None = field(default=None, hash=False)
    target_shape: tuple | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be 'classification' or 'regression', not {self.task!r}")
        object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
        object.__setattr__(self, "outputs", int(self.outputs))
        if self.class_names is not None:
            object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if self.target_shape is not None:
            object.__setattr__(self, "target_shape", tuple(int(d) for d in self.target_shape))

    def to_dict(self) -> dict:
        """Plain data for a checkpoint (``from_dict`` reads it back)."""
        return {"input_shape": list(self.input_shape), "outputs": self.outputs, "task": self.task,
                "class_names": None if self.class_names is None else list(self.class_names),
                "input_dtype": self.input_dtype, "encoding": self.encoding,
                **({"target_shape": list(self.target_shape)} if self.target_shape is not None else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "DataDescription":
        return cls(tuple(d["input_shape"]), int(d["outputs"]), d.get("task", "classification"),
                   d.get("class_names"), d.get("input_dtype", "float32"), d.get("encoding"),
                   d.get("target_shape"))

    def differences(self, other: "DataDescription") -> list[str]:
        """What of ``other`` (data read now) differs from this description (a model's): shape,
        outputs, and the class names and encoding when this one has them."""
        found = [f"{what} {mine!r} in the checkpoint, {theirs!r} in the data"
                 for what, mine, theirs in (("input shape", self.input_shape, other.input_shape),
                                            ("outputs", self.outputs, other.outputs))
                 if mine != theirs]
        if self.class_names is not None and self.class_names != other.class_names:
            found.append(f"classes {list(self.class_names)} in the checkpoint, "
                         f"{other.class_names and list(other.class_names)} in the data")
        if self.encoding is not None and self.encoding != other.encoding:
            found.append(_first_difference(self.encoding, other.encoding or {}, "encoding"))
        return found


def _first_difference(mine: dict, theirs: dict, path: str) -> str:
    """``path.key: <mine> in the checkpoint, <theirs> in the data`` for the first key that differs."""
    for key in [*mine, *(k for k in theirs if k not in mine)]:
        a, b = mine.get(key), theirs.get(key)
        if a != b:
            if isinstance(a, dict) and isinstance(b, dict):
                return _first_difference(a, b, f"{path}.{key}")
            return f"{path}.{key}: {a!r} in the checkpoint, {b!r} in the data"
    return f"{path}: differs"


@dataclass
class Dataset:
    """Train and test arrays of one problem.

    ``x_*`` is ``(N, *input_shape)``; ``y_*`` is ``(N,)`` int64 class indices for
    classification, or ``(N, ...)`` float32 targets for regression.
    """
    name: str
    description: DataDescription
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    skipped: tuple = ()    # "file: reason" of every input file left out (unreadable, not an image, …)
    notes: tuple = ()      # lines for the run's log: how the data was read (decoded, from a cache, …)

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise DataError(f"dataset '{self.name}': x_{split} has {len(x)} samples "
                                f"but y_{split} has {len(y)}")
            if tuple(x.shape[1:]) != self.input_shape:
                raise DataError(f"dataset '{self.name}': describe() gives samples of shape "
                                f"{self.input_shape}, but x_{split} holds {tuple(x.shape[1:])}")

    @property
    def task(self) -> str:
        return self.description.task

    @property
    def input_shape(self) -> tuple:
        return self.description.input_shape

    @property
    def class_names(self) -> list | None:
        names = self.description.class_names
        return None if names is None else list(names)

    @property
    def num_classes(self) -> int | None:
        return self.description.outputs if self.task == "classification" else None

    def head(self, limit: int | None) -> "Dataset":
        """The first ``limit`` samples of each split (all of them when None)."""
        if limit is None:
            return self
        limit = check_count("limit", limit)
        return Dataset(self.name, self.description, self.x_train[:limit], self.y_train[:limit],
                       self.x_test[:limit], self.y_test[:limit], self.skipped, self.notes)


class DataSource:
    """Base class of registered datasets: see the module docstring.

    ``path_options``: the options that name input files (``data.options.path``); in a config
    they start, like ``data.root``, from the config file's folder when no ``data.root`` is given.
    """
    path_options: tuple = ()

    @property
    def name(self) -> str:
        return getattr(type(self), "registered_name", type(self).__name__)

    def describe(self) -> DataDescription:
        raise NotImplementedError

    def load(self, limit: int | None = None) -> Dataset:
        raise NotImplementedError

    def dataset(self, x_train, y_train, x_test, y_test, limit: int | None = None, skipped=(),
                notes=()) -> Dataset:
        """These arrays as this source's ``Dataset`` (first ``limit`` samples of each split)."""
        return Dataset(self.name, self.describe(), x_train, y_train, x_test, y_test, tuple(skipped),
                       tuple(notes)).head(limit)


def check_count(name: str, value, minimum: int = 1) -> int:
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


class _IdxImages(DataSource):
    """An MNIST-like dataset: four IDX files of 28×28 uint8 images and their labels.

    Images become float32 ``(N, 1, 28, 28)`` in [0, 1]; labels int64 ``(N,)``.
    """
    class_names: list = DIGIT_CLASSES
    hint = ""

    def __init__(self, root=None):
        self.root = root

    def folders(self) -> list[Path]:
        raise NotImplementedError

    def describe(self) -> DataDescription:
        return DataDescription((1, 28, 28), len(self.class_names), "classification", self.class_names)

    def load(self, limit: int | None = None) -> Dataset:
        if limit is not None:
            limit = check_count("limit", limit)
        files = _find_idx_folder(self.folders())
        if files is None:
            looked = ", ".join(str(f) for f in self.folders())
            raise DataError(f"dataset '{self.name}' not found (looked in {looked}); {self.hint}")
        arrays = [a for split in ("train", "test") for a in self._read_split(files, split, limit)]
        return self.dataset(*arrays)

    def _read_split(self, files: dict, split: str, limit: int | None) -> tuple:
        xf, yf = files[f"x_{split}"], files[f"y_{split}"]
        x, y = read_idx(xf), read_idx(yf)
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise DataError(f"{xf}: expected uint8 images of shape (N, 28, 28), got {x.dtype} {x.shape}")
        if y.shape != (len(x),) or y.dtype != np.uint8:
            raise DataError(f"{yf}: expected {len(x)} uint8 labels to match {xf.name}, "
                            f"got {y.dtype} {y.shape}")
        if len(y) and y.max() >= len(self.class_names):
            raise DataError(f"{yf}: label {int(y.max())} is out of range 0..{len(self.class_names) - 1}")
        n = len(x) if limit is None else min(limit, len(x))
        return x[:n, None].astype(np.float32) / np.float32(255), y[:n].astype(np.int64)


@register_dataset("mnist")
class MNIST(_IdxImages):
    """MNIST digits: 60,000 train / 10,000 test, x ``(N, 1, 28, 28)`` float32 in [0, 1].

    Looks in ``root`` when given (only there), else in ``<repo>/data/mnist`` (the
    embedded copy), else ``./data/mnist``.
    """
    hint = "put train-images-idx3-ubyte.gz and the other three IDX files there"

    def folders(self):
        return [Path(self.root)] if self.root is not None else [repo_data_dir("mnist"), Path("data") / "mnist"]


@register_dataset("fashion-mnist")
class FashionMNIST(_IdxImages):
    """Fashion-MNIST (Zalando): 10 clothing classes, shaped and scaled as ``mnist``.

    Looks in ``root`` when given (only there), else in ``<repo>/data/fashion-mnist``
    (where ``nnpy data fetch fashion-mnist`` puts it), else in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
    """
    class_names = FASHION_CLASSES
    hint = "download it with: nnpy data fetch fashion-mnist"

    def folders(self):
        return [Path(self.root)] if self.root is not None else [repo_data_dir("fashion-mnist"),
                                                                DEBIAN_FASHION_DIR]


# --- synthetic ------------------------------------------------------------------------

@register_dataset("sine")
class Sine(DataSource):
    """Sequence regression sin -> cos, the classic first RNN problem.

    Each sequence has its own phase φ ~ U[0, 2π) and angular frequency
    ω ~ U[``SINE_OMEGA``] rad/step; for t = 0 … seq_len-1
    x[n, t, 0] = sin(ω t + φ) and y[n, t, 0] = cos(ω t + φ). Shapes ``(N, T, 1)``,
    float32. Train and test are drawn from independent streams of ``seed``.
    """

    def __init__(self, n_train: int = 2000, n_test: int = 500, seq_len: int = 50, seed: int = 0):
        self.n_train, self.n_test = check_count("n_train", n_train), check_count("n_test", n_test)
        self.seq_len, self.seed = check_count("seq_len", seq_len), seed

    def describe(self):
        return DataDescription((self.seq_len, 1), 1, "regression")

    def load(self, limit=None):
        def draw(n: int, stream: int):
            rng = np.random.default_rng([self.seed, stream])
            phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
            omega = rng.uniform(*SINE_OMEGA, size=(n, 1))
            angle = omega * np.arange(self.seq_len) + phase              # (N, T)
            return (np.sin(angle)[..., None].astype(np.float32),
                    np.cos(angle)[..., None].astype(np.float32))

        (x_train, y_train), (x_test, y_test) = draw(self.n_train, 0), draw(self.n_test, 1)
        return self.dataset(x_train, y_train, x_test, y_test, limit)


@register_dataset("function")
class FunctionFit(DataSource):
    """Function fitting: x ~ U[-5, 5]², y = sin(x1) - cos(x2).

    x ``(N, 2)`` and y ``(N, 1)``, float32; train and test from independent streams of ``seed``.
    """

    def __init__(self, n_train: int = 4000, n_test: int = 1000, seed: int = 0):
        self.n_train, self.n_test = check_count("n_train", n_train), check_count("n_test", n_test)
        self.seed = seed

    def describe(self):
        return DataDescription((2,), 1, "regression")

    def load(self, limit=None):
        def draw(n: int, stream: int):
            x = np.random.default_rng([self.seed, stream]).uniform(-5.0, 5.0, size=(n, 2))
            x = x.astype(np.float32)
            y = np.sin(x[:, :1].astype(np.float64)) - np.cos(x[:, 1:].astype(np.float64))
            return x, y.astype(np.float32)

        (x_train, y_train), (x_test, y_test) = draw(self.n_train, 0), draw(self.n_test, 1)
        return self.dataset(x_train, y_train, x_test, y_test, limit)


@register_dataset("parity")
class Parity(DataSource):
    """Parity of ``bits`` bits: all 2^bits patterns, x ``(2^bits, bits)`` float32 0/1
    (most significant bit first), y int64 = number of ones mod 2.

    The point is to fit the whole function, so train and test are both the full
    set of patterns (test accuracy equals train accuracy).
    """

    def __init__(self, bits: int = 8):
        self.bits = check_count("bits", bits)
        if self.bits > 20:
            raise ConfigError(f"bits must be at most 20 (2^bits patterns), not {bits}")

    def describe(self):
        return DataDescription((self.bits,), 2, "classification", ["even", "odd"])

    def load(self, limit=None):
        codes = np.arange(2 ** self.bits)[:, None]
        x = ((codes >> np.arange(self.bits - 1, -1, -1)) & 1).astype(np.float32)
        y = x.sum(axis=1).astype(np.int64) % 2
        return self.dataset(x, y, x.copy(), y.copy(), limit)


# --- denoising ------------------------------------------------------------------------

#: Seed streams of the noise drawn for each split of ``mnist_denoise`` (independent of each other).
_NOISE_STREAMS = {"train": 0, "test": 1}


@register_dataset("mnist_denoise")
class MNISTDenoise(MNIST):
    """MNIST for denoising: x = clip(clean + sigma·ε, 0, 1) with ε ~ N(0, 1) per pixel,
    y = the clean image; both float32 ``(N, 1, 28, 28)`` in [0, 1] (a regression task).

    The noise is drawn once per sample from ``seed`` (train and test from independent
    streams), so every load, epoch and run sees the same noisy images: a fixed set of noisy
    pairs, as for val and test. Sample i's noise does not depend on ``limit``. Looks for the
    files where ``mnist`` does.
    """

    def __init__(self, root=None, sigma: float = 0.5, seed: int = 0):
        super().__init__(root)
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma >= 0:
            raise ConfigError(f"sigma must be a number >= 0 (the noise's standard deviation), not {sigma!r}")
        self.sigma, self.seed = float(sigma), check_count("seed", seed, minimum=0)

    def describe(self) -> DataDescription:
        return DataDescription((1, 28, 28), 28, "regression", target_shape=(1, 28, 28))

    def load(self, limit: int | None = None) -> Dataset:
        digits = super().load(limit)
        return self.dataset(self.noisy(digits.x_train, "train"), digits.x_train,
                            self.noisy(digits.x_test, "test"), digits.x_test)

    def noisy(self, clean: np.ndarray, split: str) -> np.ndarray:
        """``clean`` (N, 1, 28, 28) in [0, 1] plus this split's seeded noise, clipped to [0, 1]."""
        rng = np.random.default_rng([self.seed, _NOISE_STREAMS[split]])
        noise = rng.standard_normal(clean.shape, dtype=np.float32)
        return np.clip(clean + np.float32(self.sigma) * noise, 0, 1)
