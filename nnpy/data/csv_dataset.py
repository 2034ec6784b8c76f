"""``dataset: csv``: a table of your own, one sample per row, a header naming the columns.

    price,rooms,area,district          target: price        -> regression
    310.5,3,72.0,north                 categorical: [district]  (one-hot)
    ...

The inputs are the ``features`` columns (default: every column but the target) in that
order: a numeric column gives one input, a ``categorical`` one gives one input per category
(one-hot). Categories are the distinct cell texts of the column, sorted; for a classification
target they are the class names. Both come from the data files (``path``, and ``test_path``
when given), so reading the same files always gives the same encoding; they are also stored in
the model's checkpoint (``DataDescription.encoding`` and ``class_names``) so that ``nnpy predict``
encodes a new file as the model was trained, and ``nnpy val`` can tell when the files changed.

The task is inferred unless given: a target holding text, or only whole numbers with at most
``MAX_INFERRED_CLASSES`` distinct values, is classification; other numbers are regression.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import register_dataset
from .csv_table import Expect, Table, as_numbers, check_cells, check_present, numbers_or_none, one_hot, read_table
from .datasets import RELATIVE_PATHS, TASKS, DataDescription, DataSource
from .tabular import shuffled_split

MAX_INFERRED_CLASSES = 20


@dataclass
class Encoded:
    """A CSV dataset read and encoded: the arrays, their description and a note for the log."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: DataDescription
    note: str


@register_dataset("csv")
class CSVDataset(DataSource):
    """A CSV table of your own: ``path``, the ``target`` column, optional ``features``,
    ``categorical`` (one-hot) and ``task``.

    x ``(N, inputs)`` float32 (use ``data.normalize: auto`` to standardize it), y int64 class
    indices (classification) or ``(N, 1)`` float32 (regression). The test rows are
    ``test_path``'s, or ``test_split`` of the rows drawn with ``seed`` (Keras' rule:
    ``np.random.RandomState(seed).shuffle``, the first ``int(n · (1 − test_split))`` train).
    Relative paths are relative to ``data.root`` when it is given.
    """
    path_options = ("path", "test_path")

    def __init__(self, path: str, target: str, features: list | None = None, categorical: list | None = None,
                 task: str | None = None, test_path: str | None = None, test_split: float = 0.2,
                 seed: int = 0, delimiter: str = ",", root: str | None = None):
        self.path = _under(root, path)
        self.test_path = None if test_path is None else _under(root, test_path)
        self.target = target
        self.features = None if features is None else _names("features", features)
        self.categorical = [] if categorical is None else _names("categorical", categorical)
        if task is not None and task not in TASKS:
            raise ConfigError(f"task must be classification or regression, not {task!r}")
        if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 < test_split < 1:
            raise ConfigError(f"test_split must be a fraction in (0, 1), not {test_split!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
            raise ConfigError(f"seed must be an integer in [0, 2^32), not {seed!r}")
        if len(delimiter) != 1:
            raise ConfigError(f"delimiter must be one character, such as ',' or ';', not {delimiter!r}")
        self.task, self.test_split, self.seed, self.delimiter = task, float(test_split), seed, delimiter
        self._memo: Encoded | None = None

    def describe(self) -> DataDescription:
        return self.encoded().description

    def load(self, limit: int | None = None):
        e = self.encoded()
        return self.dataset(e.x_train, e.y_train, e.x_test, e.y_test, limit, notes=[e.note])

    def encoded(self) -> Encoded:
        """The files read and encoded, once per instance."""
        if self._memo is None:
            self._memo = self._encode()
        return self._memo

    def _encode(self) -> Encoded:
        for option, path in (("path", self.path), ("test_path", self.test_path)):
            if path is not None and not path.is_file():
                raise DataError(f"data.options.{option}: {path}: no such file{_relative_note(path)}")
        tables = [read_table(self.path, self.delimiter)]
        if self.test_path is not None:
            tables.append(read_table(self.test_path, self.delimiter))
        features = self._feature_names(tables[0])
        check_cells([(t, self._expected_cells(features)) for t in tables])   # every bad cell at once
        task, why = (self.task, "given") if self.task else infer_task(tables, self.target)
        encoding = fit_encoding(tables, self.target, features, self.categorical)
        distinct, class_names = class_values(tables, self.target) if task == "classification" else (None, None)
        if class_names is not None and len(class_names) < 2:
            raise DataError(f"{self.path}: the target '{self.target}' has one value ('{class_names[0]}'): "
                            f"classification needs two classes or more")
        xs = [encode_features(t, encoding) for t in tables]
        ys = [encode_target(t, encoding["target"], distinct) for t in tables]
        if self.test_path is None:
            train, test = shuffled_split(len(xs[0]), self.seed, self.test_split)
            xs, ys = [xs[0][train], xs[0][test]], [ys[0][train], ys[0][test]]
        description = DataDescription((xs[0].shape[1],), len(class_names) if class_names else 1, task,
                                      class_names, encoding=encoding)
        note = (f"{self.path}: {sum(map(len, tables))} rows · {len(features)} features "
                f"({len(self.categorical)} categorical) → {xs[0].shape[1]} inputs · target "
                f"'{self.target}': {task} ({why})")
        return Encoded(xs[0], ys[0], xs[1], ys[1], description, note)

    def _expected_cells(self, features: list[str]) -> dict:
        """What the cells of each column read must be (a given regression's target: numbers)."""
        target = Expect(number=True, hint=REGRESSION_TARGET_HINT) if self.task == "regression" else Expect()
        return {name: Expect() if name in self.categorical else Expect(number=True, hint=NUMBER_HINT)
                for name in features} | {self.target: target}

    def _feature_names(self, table: Table) -> list[str]:
        table.column(self.target, "data.options.target")
        features = self.features or [c for c in table.header if c != self.target]
        for name in [*features, *self.categorical]:
            table.column(name, "data.options.features" if name in features else "data.options.categorical")
        if self.target in features:
            raise DataError(f"{self.path}: the target '{self.target}' is also listed in features")
        outside = [c for c in self.categorical if c not in features]
        if outside:
            raise DataError(f"{self.path}: categorical column '{outside[0]}' is not one of the features "
                            f"({', '.join(features)})")
        if not features:
            raise DataError(f"{self.path}: no feature columns besides the target '{self.target}'")
        return features


NUMBER_HINT = "; list the column under data.options.categorical to one-hot encode it"
REGRESSION_TARGET_HINT = "; the target of a regression must be a number"


def infer_task(tables: list[Table], target: str) -> tuple[str, str]:
    """``(task, why)`` from the target's cells (see the module docstring)."""
    cells = np.concatenate([check_present(t, target) for t in tables])
    values = numbers_or_none(cells)
    if values is None:
        return "classification", "inferred: it holds text; give task: regression to change it"
    distinct = len(np.unique(values))
    if np.all(values == np.round(values)) and distinct <= MAX_INFERRED_CLASSES:
        return "classification", (f"inferred: {distinct} whole-number values; give task: regression "
                                  f"to change it")
    return "regression", "inferred: it holds numbers; give task: classification to change it"


def fit_encoding(tables: list[Table], target: str, features: list, categorical: list) -> dict:
    """The plain-data encoding stored in the checkpoint: target, features in input order, the
    sorted categories of each categorical feature."""
    categories = {name: sorted(set(np.concatenate([check_present(t, name) for t in tables]).tolist()))
                  for name in categorical}
    return {"target": target, "features": list(features), "categories": categories}


def encode_features(table: Table, encoding: dict) -> np.ndarray:
    """The inputs ``(N, inputs)`` float32 of ``table`` as ``encoding`` says (every bad cell of
    every feature reported at once)."""
    categories = encoding["categories"]
    check_cells([(table, {name: Expect(categories=categories[name]) if name in categories
                          else Expect(number=True, hint=NUMBER_HINT) for name in encoding["features"]})])
    parts = [one_hot(table, name, categories[name]) if name in categories
             else as_numbers(table, name)[:, None].astype(np.float32) for name in encoding["features"]]
    return np.concatenate(parts, axis=1)


def class_values(tables: list[Table], target: str) -> tuple[np.ndarray, list[str]]:
    """The distinct target values, sorted (numerically when every one is a number), and their
    texts: the class names."""
    cells = np.concatenate([check_present(t, target) for t in tables])
    values = numbers_or_none(cells)
    if values is None:
        distinct = np.unique(cells)
        return distinct, distinct.tolist()
    distinct = np.unique(values)
    return distinct, [str(int(v)) if v == int(v) else repr(v) for v in distinct.tolist()]


def encode_target(table: Table, target: str, distinct: np.ndarray | None) -> np.ndarray:
    """The targets of ``table``: class indices ``(N,)`` int64 into ``distinct`` (the classes of
    ``class_values``), or, with ``distinct`` None (a regression), ``(N, 1)`` float32 values."""
    if distinct is None:
        return as_numbers(table, target, REGRESSION_TARGET_HINT)[:, None].astype(np.float32)
    cells = check_present(table, target)
    own = cells if distinct.dtype.kind == "U" else cells.astype(np.float64)
    return np.searchsorted(distinct, own).astype(np.int64)


def _relative_note(path: Path) -> str:
    """For a relative path that is not there: where it was looked for."""
    return "" if path.is_absolute() else f" (looked for {path.absolute()}; {RELATIVE_PATHS})"


def _under(root, path) -> Path:
    if not isinstance(path, str) or not path:
        raise ConfigError(f"path must be a CSV file's path, not {path!r}")
    path = Path(path)
    return path if root is None or path.is_absolute() else Path(root) / path


def _names(option: str, names) -> list[str]:
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{option} must be a list of column names, not {names!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{option} names a column twice: {names!r}")
    return list(names)
