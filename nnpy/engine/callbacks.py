"""Callbacks that hang off the training loop: their base class ``Callback`` (the hooks
``Trainer.fit`` calls), console output, run logs, checkpoints, early stopping and the time limit.
``nnpy.callbacks`` offers them to ``Sequential.fit``."""
from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

from ..errors import ConfigError
from .monitor import default_monitor, higher_is_better, improved, new_best, tie_loss_name
from ..terminal import fit_progress, terminal_width, wrap_fields, wrap_line


class Callback:
    """Hooks called by ``Trainer.fit``; override the ones you need. ``monitors()``: the logged
    values the callback watches (``fit`` refuses to start when one is not logged)."""

    def monitors(self) -> tuple[str, ...]:
        return ()

    def on_train_begin(self, trainer): ...
    def on_epoch_begin(self, trainer): ...
    def on_batch_end(self, trainer): ...
    def on_epoch_end(self, trainer, logs: dict): ...
    def on_train_end(self, trainer): ...


CSV_COLUMNS = ["epoch", "lr", "train_loss", "train_metric", "val_loss", "val_metric", "seconds"]


def csv_columns(metrics) -> list[str]:
    """``CSV_COLUMNS`` (``train_metric`` / ``val_metric``: the main metric), then
    ``train_<name>, val_<name>`` for each further metric."""
    return CSV_COLUMNS + [f"{split}_{m.name}" for m in metrics[1:] for split in ("train", "val")]


def format_logs(logs: dict, epochs: int) -> list[str]:
    """The fields of an epoch's line: ``epoch 3/10``, ``train_loss 0.1234``, …, ``lr 0.01``,
    ``12.3 s``, ``4870 samples/s``."""
    fields = [f"epoch {logs['epoch']}/{epochs}"]
    for key, value in logs.items():
        if key in ("epoch", "lr", "seconds", "samples_per_s"):
            continue
        fields.append(f"{key} {value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{key} {value:.2e}")
    return fields + [f"lr {logs['lr']:.3g}", f"{logs['seconds']:.1f} s", f"{logs['samples_per_s']:.0f} samples/s"]


class ConsoleLogger(Callback):
    """One line per epoch on ``stream`` (and the log file); a live progress line on stderr when
    it is a terminal. On a terminal, lines wrap between fields and the progress line always fits
    (the width is read again every epoch)."""

    def __init__(self, stream=None, progress: bool | None = None, log_file=None):
        self.stream = stream or sys.stdout
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.log_file = log_file

    def write(self, text: str) -> None:
        """Each line of ``text``, fitted to the terminal; unchanged in the log file."""
        width = terminal_width(self.stream)
        for line in text.split("\n"):
            print("\n".join(wrap_line(line, width)), file=self.stream, flush=True)
        if self.log_file is not None:
            print(text, file=self.log_file, flush=True)

    def write_fields(self, fields: list[str]) -> None:
        """A status line of fields: wrapped between fields on a terminal, one line in the log."""
        print("\n".join(wrap_fields(fields, terminal_width(self.stream))), file=self.stream, flush=True)
        if self.log_file is not None:
            print("  ".join(fields), file=self.log_file, flush=True)

    def on_epoch_begin(self, trainer):
        self.start = time.perf_counter()
        self.start_batch = trainer.state.batch
        self.width = terminal_width(sys.stderr)

    def on_batch_end(self, trainer):
        if not self.progress:
            return
        st, total = trainer.state, max(trainer.batches_per_epoch, 1)
        elapsed = time.perf_counter() - self.start
        rate = (st.batch - self.start_batch) / max(elapsed, 1e-9)
        n, name = max(st.partial["n"], 1), trainer.metric.name
        fields = {"epoch": f"epoch {st.epoch + 1}/{trainer.epochs}", "bar": "", "count": f"{st.batch}/{total}",
                  "loss": f"loss {st.partial['loss'] / n:.4f}",
                  "metric": f"{name} {st.partial['metrics'].get(name, 0.0) / n:.4f}",
                  "speed": f"{st.partial['n'] / max(elapsed, 1e-9):.0f} samples/s",
                  "eta": f"ETA {(total - st.batch) / max(rate, 1e-9):.0f} s"}
        sys.stderr.write("\r" + fit_progress(fields, self.width, st.batch / total) + "\033[K")
        sys.stderr.flush()

    def on_epoch_end(self, trainer, logs):
        if self.progress:
            sys.stderr.write("\r\033[K")
        self.write_fields(format_logs(logs, trainer.epochs))


class CSVLogger(Callback):
    """``metrics.csv``: epoch, lr, train_loss, train_metric, val_loss, val_metric, seconds (the
    main metric), then train_<name>, val_<name> of each further metric. Rows are appended to
    a file that has the same columns (a second ``fit``, a resumed run)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_train_begin(self, trainer):
        columns = csv_columns(trainer.metrics)
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, newline="") as f:
                header = next(csv.reader(f), [])
            if header != columns:
                raise ConfigError(f"{self.path}: has the columns {', '.join(header)}, but this run logs "
                                  f"{', '.join(columns)}; log to another file")
            return
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerow(columns)

    def on_epoch_end(self, trainer, logs):
        main = trainer.metric.name
        row = [logs["epoch"], logs["lr"], logs["train_loss"], logs[f"train_{main}"],
               logs.get("val_loss", ""), logs.get(f"val_{main}", ""), round(logs["seconds"], 3)]
        row += [logs.get(column, "") for column in csv_columns(trainer.metrics)[len(CSV_COLUMNS):]]
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(row)


class Checkpointer(Callback):
    """``last.json`` after every epoch (and when the run stops early), ``best.json`` when the
    monitored value improves -- or ties, with a loss (``val_loss`` for a ``val_…`` monitor,
    else ``train_loss``) lower than or equal to the best epoch's: of equal epochs the later.
    ``save(path, trainer)`` writes the checkpoint; ``monitor`` None: ``val_<main metric>``
    (``train_<main metric>`` without validation data)."""

    def __init__(self, directory: Path, save, monitor: str | None = "val_loss", save_last: bool = True,
                 save_best: bool = True):
        self.directory, self.save, self.monitor = Path(directory), save, monitor
        self.save_last, self.save_best = save_last, save_best
        self.monitors_default = monitor is None      # chosen again by each fit

    def monitors(self):
        return () if self.monitors_default else (self.monitor,)

    def on_train_begin(self, trainer):
        if self.monitors_default:
            self.monitor = default_monitor(trainer.metric, trainer.val_data is not None)

    def on_epoch_end(self, trainer, logs):
        st = trainer.state
        value, loss = logs.get(self.monitor), logs.get(tie_loss_name(self.monitor))
        is_best = value is not None and math.isfinite(value) and \
            new_best(value, loss, st.best_value, st.best_loss, higher_is_better(self.monitor, trainer.metrics))
        if is_best:
            st.best_value, st.best_epoch, st.best_loss = float(value), int(logs["epoch"]), loss
        if self.save_last:
            self.save(self.directory / "last.json", trainer)
        if is_best and self.save_best:
            self.save(self.directory / "best.json", trainer)

    def on_train_end(self, trainer):
        st = trainer.state
        if st.stop and st.batch > 0 and self.save_last:  # stopped inside an epoch
            self.save(self.directory / "last.json", trainer)


class ModelCheckpoint(Checkpointer):
    """For ``Sequential.fit``: ``<directory>/last.json`` after every epoch and ``best.json`` as
    ``Checkpointer`` chooses it, each written by ``model.save`` (``nnpy.load`` reads them back)."""

    def __init__(self, directory, monitor: str | None = None, save_last: bool = True, save_best: bool = True):
        super().__init__(directory, self.save_model, monitor, save_last, save_best)

    @staticmethod
    def save_model(path, trainer) -> None:
        trainer.model.save(path)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)

    def monitors(self):
        return (self.monitor,)

    def on_epoch_end(self, trainer, logs):
        state = trainer.state.callbacks.setdefault("early_stopping", {"best": None, "wait": 0})
        value = logs[self.monitor]
        if improved(value, state["best"], higher_is_better(self.monitor, trainer.metrics), self.min_delta):
            state["best"], state["wait"] = float(value), 0
        else:
            state["wait"] += 1
            if state["wait"] >= self.patience:
                trainer.state.stop = True
                trainer.state.stop_reason = (f"early stopping: {self.monitor} has not improved for "
                                             f"{self.patience} epochs")


class MaxTime(Callback):
    """Stop cleanly (after the current step, with a resumable checkpoint) after ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)

    def on_train_begin(self, trainer):
        self.start = time.perf_counter()

    def on_batch_end(self, trainer):
        if time.perf_counter() - self.start > self.seconds:
            trainer.state.stop = True
            trainer.state.stop_reason = f"train.max_time of {self.seconds:g} s reached"


class StopOnSignal(Callback):
    """Ctrl-C (SIGINT) or SIGTERM: finish the current step, then stop with a resumable
    ``last.json`` (the Checkpointer writes it) and exit code 130 / 143. A second signal
    interrupts at once."""

    CODES = {"SIGINT": 130, "SIGTERM": 143}

    def on_train_begin(self, trainer):
        import signal

        self.previous = {}
        self.trainer, self.received = trainer, None
        for name in self.CODES:
            sig = getattr(signal, name)
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass

    def _handle(self, signum, frame):
        import signal

        name = signal.Signals(signum).name
        if self.received:
            raise KeyboardInterrupt  # second signal: stop now
        self.received = name
        self.trainer.request_stop(f"{name} received: stopped after the current step", self.CODES[name])

    def on_train_end(self, trainer):
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
