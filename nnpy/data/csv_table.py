"""Reading a CSV table and turning its cells into numbers, every mistake named by row and column.

Rows are counted as a spreadsheet shows them: the header is row 1, the first record row 2.
A cell is missing when it is empty or one of ``NA``, ``N/A``, ``NaN``, ``null``, ``None``,
``?`` (any case); cells are read with surrounding spaces removed. Every bad cell is reported
(``check_cells``), one line each, up to ``MAX_REPORTED`` of them.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import BadCellsError, DataError
from ..registry import did_you_mean

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


@dataclass
class Table:
    """A CSV file's cells by column: ``columns[name]`` is an ``(N,)`` str array; ``rows[i]`` is
    the spreadsheet row number of record ``i``."""
    path: Path
    header: list
    columns: dict
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str, needed_by: str = "") -> np.ndarray:
        """The cells of column ``name``; a missing column is an error listing the ones there are."""
        if name not in self.columns:
            why = f" ({needed_by})" if needed_by else ""
            raise DataError(f"{self.path}: no column '{name}'{why}{did_you_mean(name, self.header)}; "
                            f"its columns: {', '.join(self.header)}")
        return self.columns[name]

    def cell_message(self, name: str, index: int, problem: str) -> str:
        """``houses.csv: row 7, column 'area': <problem>`` for record ``index``."""
        return f"{self.path}: row {int(self.rows[index])}, column '{name}': {problem}"


def read_table(path, delimiter: str = ",") -> Table:
    """Read a CSV file with a header row naming its columns (UTF-8, a byte-order mark allowed;
    blank lines skipped). Every record must have as many cells as the header."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    records = _records(path, delimiter)
    if not records:
        raise DataError(f"{path}: empty file: a CSV needs a header row naming its columns")
    (_, header), body = records[0], records[1:]
    header = [name.strip() for name in header]
    _check_header(path, header)
    if not body:
        raise DataError(f"{path}: no rows of data below the header")
    for row, cells in body:
        if len(cells) != len(header):
            raise DataError(f"{path}: row {row} has {len(cells)} cells, the header has {len(header)}")
    cells = np.char.strip(np.array([c for _, c in body], dtype=str).reshape(len(body), len(header)))
    return Table(path, header, {name: cells[:, j] for j, name in enumerate(header)},
                 np.array([row for row, _ in body], dtype=np.int64))


def _records(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """``(row number, cells)`` of every non-blank record."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [(row, cells) for row, cells in enumerate(csv.reader(f, delimiter=delimiter), start=1)
                    if any(c.strip() for c in cells)]
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}): save it as CSV UTF-8") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None


def _check_header(path: Path, header: list[str]) -> None:
    for j, name in enumerate(header):
        if not name:
            raise DataError(f"{path}: row 1, column {j + 1} has no name: the first row must name every column")
    if all(_is_number(name) for name in header):
        raise DataError(f"{path}: the first row must name the columns, but it holds numbers "
                        f"({', '.join(header[:4])}{', …' if len(header) > 4 else ''})")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: two columns are named '{name}'")
        seen.add(name)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


MAX_REPORTED = 10    # bad cells listed one per line; the rest are counted


@dataclass(frozen=True)
class Expect:
    """What every cell of a column must be: present (not missing), and a finite ``number``
    (``hint`` ends its message) or one of ``categories`` (sorted texts) when given."""
    number: bool = False
    hint: str = ""
    categories: list | None = None


def check_cells(checks: list) -> None:
    """Raise one ``BadCellsError`` listing every bad cell of ``checks`` (``[(table, {column:
    Expect})]``), a line each naming file, row and column, in file, row and column order: the
    first ``MAX_REPORTED``, then how many more there are."""
    found, total = [], 0
    for order, (table, expected) in enumerate(checks):
        for name, expect in expected.items():
            bad, problem = _bad_cells(table.column(name), expect)
            total += len(bad)
            found += [(order, int(table.rows[i]), table.header.index(name), table.cell_message(name, i, problem(i)))
                      for i in bad[:MAX_REPORTED].tolist()]
    if total:
        lines = [line for *_, line in sorted(found)[:MAX_REPORTED]]
        more = total - len(lines)
        raise BadCellsError(lines + ([f"… and {more} more bad cell{'s' if more > 1 else ''}"] if more else []))


def _bad_cells(cells: np.ndarray, expect: Expect) -> tuple[np.ndarray, Callable[[int], str]]:
    """The indices of the cells (``(N,)`` str) that ``expect`` refuses, in order, and
    ``problem(i)``: what is wrong with cell ``i``."""
    missing = np.isin(np.char.lower(cells), list(MISSING))
    wrong = np.zeros_like(missing)
    if expect.number:
        wrong = ~missing & ~_finite_numbers(cells)
    elif expect.categories is not None:
        known = np.array(expect.categories, dtype=str)
        wrong = ~missing & ~np.isin(cells, known)

    def problem(i: int) -> str:
        if missing[i]:
            return "missing value" + (f" ('{cells[i]}')" if cells[i] else "")
        if expect.number:
            return f"'{cells[i]}' is not a number{expect.hint}"
        shown = ", ".join(expect.categories[:10]) + (", …" if len(expect.categories) > 10 else "")
        return f"'{cells[i]}' is not one of the categories the model was trained with ({shown})"

    return np.flatnonzero(missing | wrong), problem


def _finite_numbers(cells: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: which cells are finite numbers."""
    try:
        return np.isfinite(cells.astype(np.float64))
    except ValueError:
        return np.array([_is_number(c) for c in cells.tolist()], dtype=bool)


def check_present(table: Table, name: str) -> np.ndarray:
    """The cells of column ``name``, none of them missing."""
    check_cells([(table, {name: Expect()})])
    return table.column(name)


def as_numbers(table: Table, name: str, hint: str = "") -> np.ndarray:
    """Column ``name`` as float64 ``(N,)``; missing or non-numeric cells are an error naming
    their rows and column (``hint`` appended)."""
    check_cells([(table, {name: Expect(number=True, hint=hint)})])
    return table.column(name).astype(np.float64)


def numbers_or_none(cells: np.ndarray) -> np.ndarray | None:
    """``cells`` as float64 when every one is a finite number, else None."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def one_hot(table: Table, name: str, categories: list) -> np.ndarray:
    """Column ``name`` one-hot over ``categories`` (sorted texts): ``(N, len(categories))``
    float32. Cells that are not categories are an error naming their rows and column."""
    check_cells([(table, {name: Expect(categories=categories)})])
    index = np.searchsorted(np.array(categories, dtype=str), table.column(name))
    return np.eye(len(categories), dtype=np.float32)[index]
