"""``nnpy train``: one training run, owned by one ``Run`` -- data, the loop, logs, checkpoints, resume.

    plan = load_plan("configs/mlp.yaml")
    result = Run.from_plan(plan).fit()     # RunResult: state, run_dir, checkpoint_dir, …
    result = train(plan)                   # the same

A ``Run`` is built once from a plan; its constructor is where the config is split: each part
gets its own section (the data its ``data``, the loop ``train``, the checkpoints ``checkpoint``,
the run folder ``log``). ``fit`` takes the steps of a run, each a method:

    read_checkpoint   --resume: the checkpoint, its config checked against this one
    prepare_data      the plan's dataset loaded, split, normalized; the training loader
    make_trainer      the loop (``Trainer``) of the plan's model
    restore           --resume: weights, optimizer, scheduler, generator and loop position
    open_run_dir      runs/<name>/<timestamp>/ (a resumed run continues its folder)
    callbacks         console, metrics.csv, checkpoints (``checkpoint()``: what they hold), stops
    announce, report  the lines at the start and the end

The trained model it leaves takes raw inputs: its ``normalization`` is the data's, as a
checkpoint's model loaded by ``nnpy.load`` has it.

A run writes ``runs/<name>/<timestamp>/`` (train.log, metrics.csv, config.yaml) and
``checkpoints/<name>/last.json`` / ``best.json``. Under ``mpiexec -n N`` the run is a
``DataParallelRun`` (``nnpy.engine.parallel.run``), which changes only what differs: the data
sharded, the gradients all-reduced, process 0 alone writing. ``train.kfold`` is K runs
(``cross_validate``).
"""
from __future__ import annotations

import datetime as _dt
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..io.checkpoint import save_checkpoint
from ..io.yamlfile import dump_yaml
from ..nn.losses import activation_clash
from ..version import __version__
from .callbacks import Checkpointer, ConsoleLogger, CSVLogger, EarlyStopping, MaxTime, StopOnSignal
from .checkpoint_content import stats_of
from .data_prep import PreparedData, prepare_data
from .parallel import communicator, launched, start_processes
from .plan import Plan, load_plan
from .resume import position, read_for_resume, restore
from .rundir import open_run_dir
from .summary import summary
from .timer import Timer
from .trainer import Trainer, TrainState


@dataclass
class RunResult:
    """What a run leaves: its final state, folders, trainer and data (k-fold: the fold values)."""
    state: TrainState
    run_dir: Path
    checkpoint_dir: Path
    trainer: Trainer
    data: PreparedData
    kfold: dict | None = field(default=None)


class Run:
    """One training run of ``plan`` on this process (see the module docstring).

    ``resume``: a checkpoint to continue from, whose config may differ in the keys of
    ``allow_change``; ``profile``: time every layer; ``stdout``, ``progress``: where the run
    prints and whether it draws a progress line; ``command``: the command line, for the
    resume hint; ``callbacks``: more callbacks (``--watch``); ``fold``: ``(i, k)``, fold ``i``
    of a ``train.kfold`` run.
    """

    def __init__(self, plan: Plan, resume=None, allow_change=(), profile: bool = False, stdout=None,
                 progress: bool | None = None, command: str | None = None, callbacks=(),
                 fold: tuple | None = None):
        cfg = plan.config                    # the one place the config is split into its sections
        self.plan, self.model = plan, plan.model
        self.name, self.seed = cfg["name"], cfg["seed"]
        self.data_section, self.train_section = cfg["data"], cfg["train"]
        self.checkpoint_section = cfg["checkpoint"]
        self.checkpoint_dir = Path(cfg["checkpoint"]["dir"])
        self.runs_dir = Path(cfg["log"]["dir"]) / self.name
        if self.train_section["kfold"] and fold is None and resume:
            raise ConfigError("--resume cannot be combined with train.kfold; resume one fold's run instead")
        self.resume, self.allow_change, self.profile, self.fold = resume, tuple(allow_change), profile, fold
        self.stdout, self.progress, self.command = stdout or sys.stdout, progress, command
        self.extra_callbacks = list(callbacks)
        self.timer = Timer()
        self.data: PreparedData | None = None
        self.trainer: Trainer | None = None
        self.run_dir: Path | None = None

    @classmethod
    def from_plan(cls, plan: Plan, **options) -> "Run":
        """The run of ``plan``: on this process, or -- when a launcher (``mpiexec -n N``) started
        several -- this process's part of a data-parallel run. ``options``: as ``Run``."""
        if launched().size > 1:
            from .parallel.run import DataParallelRun
            return DataParallelRun(plan, communicator(), **options)
        return cls(plan, **options)

    # ---- the run ------------------------------------------------------------------------
    def fit(self) -> RunResult:
        """Train as the plan says, to the end or a stop (``train.kfold``: one run per fold)."""
        if self.train_section["kfold"] and self.fold is None:
            return self.cross_validate()
        return self._train()

    def _train(self) -> RunResult:
        payload = self.read_checkpoint() if self.resume else None
        self.data = self.prepare_data(stats_of(payload) if payload else None)
        self.trainer = self.make_trainer()
        state = self.restore(payload)
        self.run_dir = self.open_run_dir((payload or {}).get("run_dir"), state)
        with self.console() as console, profiled(self.timer, self.model, self.profile):
            self.trainer.callbacks = [*self.callbacks(console), *self.extra_callbacks]
            self.announce(console, state)
            self.trainer.fit(self.train_loader, self.data.val, epochs=self.train_section["epochs"], state=state)
            self.report(console)
        self.model.normalization = self.data.stats    # the trained model takes raw inputs, as a loaded copy does
        return RunResult(self.trainer.state, self.run_dir, self.checkpoint_dir, self.trainer, self.data)

    def cross_validate(self) -> RunResult:
        """K-fold cross-validation (``train.kfold: K``): K runs from the same initial weights, each
        validated on one fold of the training set, checkpoints in ``<checkpoint.dir>/fold<i>``;
        prints and returns the mean (and spread) of the final validation metric."""
        k, values, result = self.train_section["kfold"], [], None
        for i in range(k):
            fold_dir = str(self.checkpoint_dir / f"fold{i + 1}")
            config = {**self.plan.config, "checkpoint": {**self.checkpoint_section, "dir": fold_dir}}
            plan = Plan(config, self.plan.data, self.model, self.plan.source, self.plan.augmentation) if i == 0 \
                else self.plan.with_config(config)
            print(f"--- fold {i + 1}/{k} ---", file=self.stdout, flush=True)
            result = Run.from_plan(plan, profile=self.profile, stdout=self.stdout, progress=self.progress,
                                   command=self.command, callbacks=self.extra_callbacks, fold=(i, k)).fit()
            if result.state.exit_code:
                return result
            monitor = f"val_{result.trainer.metric.name}"
            values.append(result.state.history[-1][monitor])
        mean, std = float(np.mean(values)), float(np.std(values))
        print(f"{k}-fold cross-validation: {monitor} per fold " + ", ".join(f"{v:.4f}" for v in values)
              + f"; mean {mean:.4f} ± {std:.4f}", file=self.stdout, flush=True)
        result.kfold = {"values": values, "mean": mean, "std": std}
        return result

    # ---- its steps (a data-parallel run overrides those that differ) ---------------------
    def read_checkpoint(self) -> dict:
        """``--resume``: the checkpoint, once its config agrees with this run's."""
        return read_for_resume(self.resume, self.plan.config, self.allow_change)

    def prepare_data(self, stats: dict | None) -> PreparedData:
        """The plan's dataset loaded and split (this run's fold), normalized with ``stats`` (a
        checkpoint's) or the config's; the loader's batches augmented with the plan's transforms."""
        return prepare_data(self.plan.source, self.data_section, self.train_section, self.seed, stats,
                            self.plan.augmentation, self.fold)

    @property
    def train_loader(self):
        """The batches this process trains on."""
        return self.data.train_loader

    def make_trainer(self) -> Trainer:
        return Trainer.for_model(self.model, timer=self.timer, eval_batch_size=self.data_section["eval_batch_size"])

    def restore(self, payload: dict | None) -> TrainState | None:
        """``--resume``: model, optimizer, scheduler, generator and loop position from ``payload``
        (None: a fresh start)."""
        return restore(self.trainer, payload, self.resume) if payload else None

    def open_run_dir(self, previous: str | None, state: TrainState | None) -> Path:
        return open_run_dir(self.runs_dir, dump_yaml(self.plan.config), previous, state)

    @contextmanager
    def console(self):
        """The console logger, writing to ``stdout`` and ``train.log`` for the length of the run."""
        with open(self.run_dir / "train.log", "a") as log_file:
            yield ConsoleLogger(stream=self.stdout, progress=self.progress, log_file=log_file)

    def callbacks(self, console: ConsoleLogger) -> list:
        """Stop on a signal, the console, metrics.csv, the checkpoints and, as the ``train``
        section asks, early stopping and the time limit."""
        ck, train = self.checkpoint_section, self.train_section
        callbacks = [StopOnSignal(), console, CSVLogger(self.run_dir / "metrics.csv"),
                     Checkpointer(self.checkpoint_dir, self.save_checkpoint, monitor=ck["monitor"],
                                  save_last=ck["save_last"], save_best=ck["save_best"])]
        if train["early_stopping"]:
            es = train["early_stopping"]
            callbacks.append(EarlyStopping(es["monitor"], es["patience"], es["min_delta"]))
        if train["max_time"]:
            callbacks.append(MaxTime(train["max_time"]))
        return callbacks

    def save_checkpoint(self, path: Path, trainer: Trainer) -> None:
        """The ``Checkpointer``'s writer: ``checkpoint()`` to ``path``."""
        save_checkpoint(path, self.checkpoint())

    def checkpoint(self) -> dict:
        """What a checkpoint of this run holds (``nnpy.engine.checkpoint_content`` lists it):
        everything needed to evaluate, predict with, or resume the run exactly."""
        trainer = self.trainer
        return {
            "config": self.plan.config,
            "data": {"description": self.plan.data.to_dict(), "stats": self.data.stats},
            "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
            "rng": trainer.model.rng.bit_generator.state,
            "state": trainer.state.to_dict(),
            "metrics": trainer.state.history[-1] if trainer.state.history else {},
            "run_dir": str(self.run_dir),
            "saved_at": _dt.datetime.now().isoformat(timespec="seconds"),
        }

    def announce(self, console: ConsoleLogger, state: TrainState | None) -> None:
        """The start: version, run, model table, data, warnings, where a resumed run stands."""
        data, loader = self.data, self.train_loader
        console.write(f"nnpy {__version__} · run {self.name} · seed {self.seed} · logs in {self.run_dir}")
        console.write(summary(self.model))
        for note in data.notes:
            console.write(note)
        console.write(f"data: {self.data_section['dataset']} · {loader.num_samples} train"
                      + (f" · {len(data.val[0])} val" if data.val is not None else "")
                      + f" · {len(data.test[0])} test · batch {self.data_section['batch_size']}"
                      + (f" · {len(data.skipped)} file(s) skipped, listed in {self.run_dir / 'train.log'}"
                         if data.skipped else ""))
        if data.skipped and console.log_file is not None:
            print("\n".join(["skipped:", *(f"  {line}" for line in data.skipped)]), file=console.log_file,
                  flush=True)
        clash = activation_clash(self.model, self.model.loss)
        if clash:
            console.write(f"warning: {clash}")
        note = schedule_note(self.model, self.train_section["epochs"], len(loader))
        if note:
            console.write(note)
        if state is not None:
            console.write(f"resuming from {self.resume}: {position(state, len(loader))}")

    def report(self, console: ConsoleLogger) -> None:
        """The end of a run: why it stopped, how to resume, where the time went, the best value."""
        trainer, ck_dir = self.trainer, self.checkpoint_dir
        st = trainer.state
        if st.stop_reason:
            console.write(f"stopped: {st.stop_reason}")
        if st.stop and st.epoch < trainer.epochs and self.checkpoint_section["save_last"] and \
                not st.stop_reason.startswith("early stopping"):
            last = ck_dir / "last.json"
            console.write(f"saved {last} ({position(st, trainer.batches_per_epoch)}); resume with:\n"
                          f"  {self.command or 'nnpy train --config <config>'} --resume {last}")
        console.write_fields(trainer.timer.phase_fields())
        for line in trainer.timer.report().split("\n")[1:]:      # per layer, with --profile
            console.write(line)
        if st.best_value is not None:
            console.write(f"best {self.checkpoint_section['monitor']} {st.best_value:.4f} at epoch "
                          f"{st.best_epoch} → {ck_dir / 'best.json'}")


def load_run_plan(path, overrides=()) -> Plan:
    """``nnpy train``'s plan (``load_plan``). Under a launcher that started several processes
    (``mpiexec -n N``), MPI is started first and every process loads the plan: a mistake any
    of them meets stops them all, reported once."""
    if launched().size == 1:
        return load_plan(path, overrides)
    return start_processes().everywhere(load_plan, path, overrides)


def train(plan: Plan, **options) -> RunResult:
    """Train ``plan.model`` as ``plan.config`` says: ``Run.from_plan(plan, **options).fit()``."""
    return Run.from_plan(plan, **options).fit()


@contextmanager
def profiled(timer: Timer, model, profile: bool):
    """``--profile``: time every layer's forward and backward for the length of the run."""
    if profile:
        timer.profile_layers(model)
    try:
        yield
    finally:
        timer.unwrap()


def schedule_note(model, epochs: int, batches_per_epoch: int) -> str | None:
    """A warm-up at least as long as the run never reaches the configured learning rate."""
    scheduler = model.scheduler
    if scheduler is None or not scheduler.warmup:
        return None
    unit = "steps" if scheduler.interval == "step" else "epochs"
    total = epochs * batches_per_epoch if unit == "steps" else epochs
    if scheduler.warmup < total:
        return None
    return (f"note: scheduler.warmup is {scheduler.warmup} {unit} but the run has {total}: the learning "
            f"rate never reaches optimizer.lr ({model.optimizer.initial_lr:g}); lower the warm-up")
