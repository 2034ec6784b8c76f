"""Training curves from runs' ``metrics.csv``: loss, metric and learning rate per epoch.

One figure, three panels. Several runs overlay for comparison: one colour per run,
solid lines for training, dashed for validation, a star on each run's best validation
value (best in the direction the metric was registered with, ties broken as for best.json:
lower validation loss, then the later epoch; a metric nnpy does not know -- a plugin's not
loaded with ``--plugin`` -- gets no star). Columns of further metrics are not drawn. A run is labelled
``<name>/<timestamp>`` (its folder's parent and its folder).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.monitor import new_best
from ..errors import DataError, NnpyError
from ..io.yamlfile import load_yaml
from ..nn.metrics import make_metric
from . import new_figure, save_figure

COLUMNS = ("epoch", "lr", "train_loss", "train_metric", "val_loss", "val_metric", "seconds")
REQUIRED = ("epoch", "lr", "train_loss", "train_metric")


@dataclass
class Run:
    """One run's ``metrics.csv`` as float arrays (NaN where a cell is empty)."""
    label: str
    columns: dict
    metric: str = "metric"     # train.metric of the run's config.yaml, when it is there
    loss: str = "loss"

    @property
    def has_validation(self) -> bool:
        """False for a run without a validation split: its val columns are empty (NaN)."""
        return bool(np.isfinite(self.columns["val_metric"]).any())

    def best_val(self) -> tuple[int, float] | None:
        """(epoch, value) of the best validation metric -- the epoch best.json holds when it
        monitors it -- or None without validation."""
        values, losses = self.columns["val_metric"], self.columns["val_loss"]
        try:
            higher = make_metric(self.metric).higher_is_better
        except NnpyError:      # not a registered metric: which way is better is unknown
            return None
        if not self.has_validation:
            return None
        best = None
        for i in np.flatnonzero(np.isfinite(values)):
            if best is None or new_best(values[i], _finite(losses[i]), values[best], _finite(losses[best]), higher):
                best = i
        return int(self.columns["epoch"][best]), float(values[best])


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def find_metrics(path) -> Path:
    """``path/metrics.csv`` (or ``path`` itself if it is the CSV); a clear error otherwise."""
    path = Path(path)
    if path.is_file():
        return path
    if (path / "metrics.csv").is_file():
        return path / "metrics.csv"
    if not path.exists():
        raise DataError(f"{path}: no such run folder")
    inside = sorted(p.parent for p in path.glob("*/metrics.csv"))
    hint = f"; the latest run inside it is {inside[-1]}" if inside else ""
    raise DataError(f"{path}: no metrics.csv in this folder{hint}")


def _name(spec, default: str) -> str:
    """``"accuracy"`` from ``"accuracy"`` or ``{"type": "accuracy", …}``."""
    if isinstance(spec, dict):
        spec = spec.get("type")
    return str(spec) if spec else default


def _cell(value: str | None, where: str) -> float:
    if value is None or value.strip() == "":
        return math.nan
    try:
        return float(value)
    except ValueError:
        raise DataError(f"{where}: not a number: {value!r}") from None


def read_run(path) -> Run:
    """Read a run folder's ``metrics.csv`` (and the metric and loss names from its config.yaml)."""
    csv_path = find_metrics(path)
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{csv_path}: not an nnpy metrics.csv (no column {', '.join(missing)})")
        rows = list(reader)
    if not rows:
        raise DataError(f"{csv_path}: no epochs recorded yet")
    columns = {c: np.array([_cell(row.get(c), f"{csv_path}:{i + 2}: {c}") for i, row in enumerate(rows)])
               for c in COLUMNS}
    run_dir = csv_path.parent
    run = Run(label=f"{run_dir.parent.name}/{run_dir.name}", columns=columns)
    config = run_dir / "config.yaml"
    if config.is_file():
        try:
            cfg, _ = load_yaml(config)
            run.metric = _name((cfg.get("train") or {}).get("metric"), run.metric)
            run.loss = _name(cfg.get("loss"), run.loss)
        except (NnpyError, AttributeError):
            pass   # the names only decorate the axes
    return run


def _common(names: list[str], default: str) -> str:
    return names[0] if len(set(names)) == 1 else default


def plot_curves(paths, out) -> Path:
    """Draw loss, metric and learning rate per epoch of every run in ``paths`` into ``out`` (PNG)."""
    fig = curves_figure([read_run(p) for p in paths])
    save_figure(fig, out)
    return Path(out)


def curves_figure(runs: list[Run]):
    """The figure of ``plot_curves``: three panels (loss, metric, learning rate) of ``runs``."""
    fig = new_figure((15, 4.4))       # raises first when matplotlib is missing
    axes = dict(zip(("loss", "metric", "lr"), fig.subplots(1, 3)))
    # one run: train and validation in two colours; several: one colour per run for both
    palette = [("C0", "C1")] if len(runs) == 1 else [(f"C{i % 10}",) * 2 for i in range(len(runs))]
    for run, colors in zip(runs, palette):
        _draw_run(axes, run, *colors, lr_color="0.35" if len(runs) == 1 else colors[0])
    _label_axes(axes, runs)
    _add_legends(fig, axes["metric"], runs, palette)
    return fig


def _draw_run(axes: dict, run: Run, train_color: str, val_color: str, lr_color: str) -> None:
    c = run.columns
    epoch = c["epoch"]
    line = {"marker": "o" if len(epoch) <= 30 else None, "markersize": 4, "linewidth": 1.8}
    for split, style, color in (("train", "-", train_color), ("val", "--", val_color)):
        for key in ("loss", "metric"):
            y = c[f"{split}_{key}"]
            if np.isfinite(y).any():           # runs without validation have empty val columns
                axes[key].plot(epoch, y, style, color=color, **line)
    best = run.best_val()
    if best is not None:
        axes["metric"].plot(*best, marker="*", markersize=15, color=val_color, markeredgecolor="black",
                            markeredgewidth=0.6, linestyle="none", zorder=5)
    axes["lr"].plot(epoch, c["lr"], color=lr_color, **line)


def _label_axes(axes: dict, runs: list[Run]) -> None:
    from matplotlib.ticker import MaxNLocator

    loss = _common([r.loss for r in runs], "loss")
    axes["loss"].set_title(f"loss ({loss})" if loss != "loss" else "loss")
    axes["metric"].set_title(_common([r.metric for r in runs], "metric"))
    axes["lr"].set_title("learning rate (end of epoch)")
    losses = np.concatenate([r.columns[k] for r in runs for k in ("train_loss", "val_loss")])
    losses = losses[np.isfinite(losses)]
    if losses.size and losses.min() > 0 and losses.max() / losses.min() > 30:
        axes["loss"].set_yscale("log")    # long runs: the late epochs would be a flat line
    axes["lr"].ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    for ax in axes.values():
        ax.set_xlabel("epoch")
        # whole epochs only, even for a 1-epoch run (the default wants 2 ticks, else it falls back to fractions)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)


def _add_legends(fig, ax_metric, runs: list[Run], palette: list[tuple]) -> None:
    """Line styles in the metric panel; runs in the title (one) or under the panels (several)."""
    from matplotlib.lines import Line2D

    ax_metric.legend(handles=line_styles(runs, palette), loc="best", fontsize=9, frameon=False)
    if len(runs) == 1:
        fig.suptitle(_run_caption(runs[0]), fontsize=12)
        fig.tight_layout()
        return
    handles = [Line2D([], [], color=colors[0], linewidth=2.5, label=_run_caption(run))
               for run, colors in zip(runs, palette)]
    rows = (len(runs) + 2) // 3
    fig.legend(handles=handles, loc="lower center", ncol=min(len(runs), 3), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.045 * rows, 1, 1))   # room for the legend under the panels


def line_styles(runs: list[Run], palette: list[tuple]) -> list:
    """The metric panel's legend: train, and validation and its best value only where drawn."""
    from matplotlib.lines import Line2D

    train_color, val_color = palette[0] if len(runs) == 1 else ("0.3", "0.3")
    styles = [Line2D([], [], color=train_color, linestyle="-", label="train")]
    if any(r.has_validation for r in runs):
        styles.append(Line2D([], [], color=val_color, linestyle="--", label="validation"))
    if any(r.best_val() is not None for r in runs):
        styles.append(Line2D([], [], color=val_color, marker="*", markersize=11, markeredgecolor="black",
                             markeredgewidth=0.6, linestyle="none", label="best validation"))
    return styles


def _run_caption(run: Run) -> str:
    best = run.best_val()
    return run.label + (f" · best validation {run.metric} {best[1]:.4g} (epoch {best[0]})" if best else "")
