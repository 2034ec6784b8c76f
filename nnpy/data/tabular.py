"""Tabular datasets: Boston housing prices, split as Keras' ``boston_housing.load_data``.

The raw file ``boston_housing.npz`` (see ``data/README``) holds ``x`` (506 × 13 float64)
and ``y`` (506, median value in k$); it is read without ``allow_pickle``. Keras' split:
``np.random.RandomState(seed).shuffle(np.arange(506))`` with ``seed = 113``, then the first
``int(506 · (1 - test_split))`` rows train: 404 train / 102 test.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import register_dataset
from .datasets import DataDescription, DataSource
from .paths import repo_data_dir

BOSTON_FEATURES = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO",
                   "B", "LSTAT"]


def load_boston_raw(root=None) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of ``boston_housing.npz`` in file order, checked: float64 (N, 13) and (N,)."""
    folders = [Path(root)] if root is not None else [repo_data_dir("boston-housing"),
                                                     Path("data") / "boston-housing"]
    path = next((f / "boston_housing.npz" for f in folders if (f / "boston_housing.npz").is_file()), None)
    if path is None:
        looked = ", ".join(str(f) for f in folders)
        raise DataError(f"boston_housing.npz not found (looked in {looked}); it holds x (N×13) and y (N)")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = sorted({"x", "y"} - set(f.files))
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
            x, y = f["x"], f["y"]
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read it as a numpy .npz without pickle: {exc}") from None
    if x.ndim != 2 or x.shape[1] != len(BOSTON_FEATURES) or x.dtype.kind not in "fiu":
        raise DataError(f"{path}: x must be numbers of shape (N, {len(BOSTON_FEATURES)}), "
                        f"got {x.dtype} {x.shape}")
    if y.shape != (len(x),) or y.dtype.kind not in "fiu":
        raise DataError(f"{path}: y must be {len(x)} numbers to match x, got {y.dtype} {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError(f"{path}: x and y must be finite")
    return x.astype(np.float64), y.astype(np.float64)


@register_dataset("boston_housing")
class BostonHousing(DataSource):
    """Boston housing (Keras' split): 404 train / 102 test rows, regression of the price in k$.

    x ``(N, 13)`` float32 raw features (use ``data.normalize: auto`` to standardize them on
    the training split), y ``(N, 1)`` float32. ``seed`` and ``test_split`` are Keras'
    (``test_split`` in (0, 1) here, so the test set is never empty). Looks in ``root`` when
    given (only there), else ``<repo>/data/boston-housing``, else ``./data/boston-housing``.
    """

    def __init__(self, root=None, seed: int = 113, test_split: float = 0.2):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
            raise ConfigError(f"seed must be an integer in [0, 2^32), not {seed!r}")
        if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 < test_split < 1:
            raise ConfigError(f"test_split must be a fraction in (0, 1), not {test_split!r}")
        self.root, self.seed, self.test_split = root, int(seed), float(test_split)

    def describe(self):
        return DataDescription((len(BOSTON_FEATURES),), 1, "regression")

    def load(self, limit=None):
        x, y = load_boston_raw(self.root)
        train, test = shuffled_split(len(x), self.seed, self.test_split)
        x, y = x.astype(np.float32), y[:, None].astype(np.float32)
        return self.dataset(x[train], y[train], x[test], y[test], limit)


def shuffled_split(n: int, seed: int, test_split: float) -> tuple[np.ndarray, np.ndarray]:
    """Keras' split of ``n`` rows: ``np.random.RandomState(seed).shuffle(np.arange(n))``, then
    the first ``int(n · (1 - test_split))`` train and the rest test: (train rows, test rows)."""
    indices = np.arange(n)
    np.random.RandomState(seed).shuffle(indices)
    cut = int(n * (1 - test_split))
    if not 0 < cut < n:
        raise ConfigError(f"test_split {test_split} leaves an empty split of {n} rows")
    return indices[:cut], indices[cut:]


__all__ = ["BOSTON_FEATURES", "BostonHousing", "load_boston_raw", "shuffled_split"]
