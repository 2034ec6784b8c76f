#!/usr/bin/env python3
"""Write the embedded Boston housing data as a CSV table: ``data/boston-housing/boston.csv``.

The example of ``dataset: csv`` (``configs/boston-csv.yaml``): the 506 rows of
``boston_housing.npz`` in file order, the 13 features under their usual names (CRIM … LSTAT)
and the target MEDV (median value in k$). Every number is written in the shortest text that
reads back as the same float64, so training from the CSV reproduces ``configs/boston.yaml``.

    python tools/make_boston_csv.py                  # data/boston-housing/boston.csv
    python tools/make_boston_csv.py --out /tmp/boston.csv
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnpy.data.tabular import BOSTON_FEATURES, load_boston_raw  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "boston-housing" / "boston.csv"


def number_text(value: float) -> str:
    """The shortest text that reads back as ``value`` (``18`` for 18.0, ``0.00632``)."""
    return str(int(value)) if value == int(value) else repr(value)


def write_boston_csv(out: Path) -> int:
    """Write the CSV; the number of rows written."""
    x, y = load_boston_raw()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow([*BOSTON_FEATURES, "MEDV"])
        for features, target in zip(x.tolist(), y.tolist()):
            writer.writerow([number_text(v) for v in (*features, target)])
    return len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV file to write")
    args = parser.parse_args()
    rows = write_boston_csv(args.out)
    print(f"wrote {rows} rows to {args.out}")


if __name__ == "__main__":
    main()
