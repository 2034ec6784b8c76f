"""A run's folder: ``runs/<name>/<timestamp>/`` with train.log, metrics.csv and config.yaml.

A resumed run continues the folder of the run it resumes (its checkpoint names it), so
``metrics.csv`` stays one table and ``nnpy plot`` draws one curve.
"""
from __future__ import annotations

import csv
import datetime as _dt
from pathlib import Path


def open_run_dir(runs: Path, config_text: str, previous: str | None = None, state=None) -> Path:
    """The folder of this run under ``runs`` (``<log.dir>/<name>``), its ``config.yaml`` written
    with ``config_text``: ``previous`` (a resumed run's folder, its metrics.csv cut back to the
    epochs the checkpoint has done) when it still exists, else a new one."""
    if previous and state is not None and (Path(previous) / "metrics.csv").is_file():
        run_dir = Path(previous)
        truncate_metrics(run_dir / "metrics.csv", state.epoch)
    else:
        run_dir = new_run_dir(runs)
    (run_dir / "config.yaml").write_text(config_text)
    return run_dir


def new_run_dir(runs: Path) -> Path:
    """``runs/<timestamp>`` (with ``-2``, ``-3``, … when that exists), created."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir, k = runs / stamp, 1
    while run_dir.exists():
        k += 1
        run_dir = runs / f"{stamp}-{k}"
    run_dir.mkdir(parents=True)
    return run_dir


def truncate_metrics(csv_path: Path, epochs: int) -> None:
    """Keep the header and the rows of the first ``epochs`` epochs (the resumed run writes the rest)."""
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= epochs]
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(kept)
