"""Callbacks that hang off the training loop: console output, run logs, checkpoints,
early stopping and the time limit."""
from __future__ import annotations

import csv
import math
import sys
import time
from pathlib import Path

from .monitor import higher_is_better, improved
from .terminal import fit_progress, terminal_width, wrap_fields, wrap_line
from .trainer import Callback

CSV_COLUMNS = ["epoch", "lr", "train_loss", "train_metric", "val_loss", "val_metric", "seconds"]


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
        n = max(st.partial["n"], 1)
        fields = {"epoch": f"epoch {st.epoch + 1}/{trainer.epochs}", "bar": "", "count": f"{st.batch}/{total}",
                  "loss": f"loss {st.partial['loss'] / n:.4f}",
                  "metric": f"{trainer.metric.name} {st.partial['metric'] / n:.4f}",
                  "speed": f"{st.partial['n'] / max(elapsed, 1e-9):.0f} samples/s",
                  "eta": f"ETA {(total - st.batch) / max(rate, 1e-9):.0f} s"}
        sys.stderr.write("\r" + fit_progress(fields, self.width, st.batch / total) + "\033[K")
        sys.stderr.flush()

    def on_epoch_end(self, trainer, logs):
        if self.progress:
            sys.stderr.write("\r\033[K")
        self.write_fields(format_logs(logs, trainer.epochs))


class CSVLogger(Callback):
    """``metrics.csv``: epoch, lr, train_loss, train_metric, val_loss, val_metric, seconds."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_train_begin(self, trainer):
        if not self.path.exists():
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(CSV_COLUMNS)

    def on_epoch_end(self, trainer, logs):
        m = trainer.metric.name
        row = [logs["epoch"], logs["lr"], logs["train_loss"], logs[f"train_{m}"],
               logs.get("val_loss", ""), logs.get(f"val_{m}", ""), round(logs["seconds"], 3)]
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(row)


class Checkpointer(Callback):
    """``last.json`` after every epoch (and when the run stops early), ``best.json`` when the
    monitored value improves. ``save(path, trainer)`` writes the checkpoint."""

    def __init__(self, directory: Path, save, monitor: str = "val_loss", save_last: bool = True,
                 save_best: bool = True):
        self.directory, self.save, self.monitor = Path(directory), save, monitor
        self.save_last, self.save_best = save_last, save_best

    def on_epoch_end(self, trainer, logs):
        st = trainer.state
        value = logs.get(self.monitor)
        is_best = value is not None and math.isfinite(value) and \
            improved(value, st.best_value, higher_is_better(self.monitor, trainer.metric))
        if is_best:
            st.best_value, st.best_epoch = float(value), int(logs["epoch"])
        if self.save_last:
            self.save(self.directory / "last.json", trainer)
        if is_best and self.save_best:
            self.save(self.directory / "best.json", trainer)

    def on_train_end(self, trainer):
        st = trainer.state
        if st.stop and st.batch > 0 and self.save_last:  # stopped inside an epoch
            self.save(self.directory / "last.json", trainer)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)

    def on_epoch_end(self, trainer, logs):
        state = trainer.state.callbacks.setdefault("early_stopping", {"best": None, "wait": 0})
        value = logs.get(self.monitor)
        if value is None:
            return
        if improved(value, state["best"], higher_is_better(self.monitor, trainer.metric), self.min_delta):
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
