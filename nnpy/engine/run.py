"""``nnpy train``: one training run from a plan -- data, the loop, logs, checkpoints, resume.

    plan = load_plan("configs/mlp.yaml")
    result = train(plan)                   # RunResult: state, run_dir, checkpoint_dir, …

A run writes ``runs/<name>/<timestamp>/`` (train.log, metrics.csv, config.yaml) and
``checkpoints/<name>/last.json`` / ``best.json``; a resumed run continues its run folder.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..io.checkpoint import save_checkpoint
from ..version import __version__
from .callbacks import Checkpointer, ConsoleLogger, CSVLogger, EarlyStopping, MaxTime, StopOnSignal
from .checkpoints import stats_of, training_payload
from .data_prep import PreparedData, prepare_data
from .parallel import communicator, launched
from .plan import Plan, make_plan
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


def train(plan: Plan, resume=None, allow_change=(), profile: bool = False, stdout=None,
          progress: bool | None = None, command: str | None = None, callbacks=(),
          fold: tuple | None = None) -> RunResult:
    """Train ``plan.model`` as ``plan.config`` says; ``resume``: continue from a checkpoint."""
    cfg, stdout = plan.config, stdout or sys.stdout
    if cfg["train"]["kfold"] and fold is None:
        if resume:
            raise ConfigError("--resume cannot be combined with train.kfold; resume one fold's run instead")
        return train_kfold(plan, stdout=stdout, profile=profile, progress=progress, command=command,
                           callbacks=callbacks)
    if launched().size > 1:                     # mpiexec -n N: data-parallel (nnpy.engine.parallel)
        from .parallel.run import train_data_parallel
        return train_data_parallel(plan, communicator(), resume, allow_change, profile, stdout, progress,
                                   command, callbacks, fold)
    payload = read_for_resume(resume, cfg, allow_change) if resume else None
    data = prepare_data(cfg, stats=stats_of(payload) if payload else None, fold=fold)
    model = plan.model
    timer = Timer()
    trainer = Trainer(model, model.loss, model.optimizer, model.scheduler, metric=model.metric, timer=timer,
                      eval_batch_size=cfg["data"]["eval_batch_size"])
    state = restore(trainer, payload, resume) if payload else None
    run_dir = open_run_dir(cfg, (payload or {}).get("run_dir"), state)
    with open(run_dir / "train.log", "a") as log_file, _profiled(timer, model, profile):
        console = ConsoleLogger(stream=stdout, progress=progress, log_file=log_file)
        trainer.callbacks = [*_run_callbacks(plan, data, run_dir, console), *callbacks]
        _announce(console, plan, data, run_dir, resume, state)
        trainer.fit(data.train_loader, data.val, epochs=cfg["train"]["epochs"], state=state)
        _report(console, trainer, cfg, command)
    return RunResult(trainer.state, run_dir, Path(cfg["checkpoint"]["dir"]), trainer, data)


def _run_callbacks(plan: Plan, data: PreparedData, run_dir: Path, console) -> list:
    cfg = plan.config
    ck = cfg["checkpoint"]

    def save(path, trainer):
        save_checkpoint(path, training_payload(trainer, plan, data.stats, run_dir))

    callbacks = [StopOnSignal(), console, CSVLogger(run_dir / "metrics.csv"),
                 Checkpointer(Path(ck["dir"]), save, monitor=ck["monitor"], save_last=ck["save_last"],
                              save_best=ck["save_best"])]
    if cfg["train"]["early_stopping"]:
        es = cfg["train"]["early_stopping"]
        callbacks.append(EarlyStopping(es["monitor"], es["patience"], es["min_delta"]))
    if cfg["train"]["max_time"]:
        callbacks.append(MaxTime(cfg["train"]["max_time"]))
    return callbacks


@contextmanager
def _profiled(timer: Timer, model, profile: bool):
    """``--profile``: time every layer's forward and backward for the length of the run."""
    if profile:
        timer.profile_layers(model)
    try:
        yield
    finally:
        timer.unwrap()


def _announce(console, plan: Plan, data: PreparedData, run_dir: Path, resume, state) -> None:
    cfg, loader = plan.config, data.train_loader
    console.write(f"nnpy {__version__} · run {cfg['name']} · seed {cfg['seed']} · logs in {run_dir}")
    console.write(summary(plan.model))
    for note in data.notes:
        console.write(note)
    console.write(f"data: {cfg['data']['dataset']} · {loader.num_samples} train"
                  + (f" · {len(data.val[0])} val" if data.val is not None else "")
                  + f" · {len(data.test[0])} test · batch {cfg['data']['batch_size']}"
                  + (f" · {len(data.skipped)} file(s) skipped, listed in {run_dir / 'train.log'}"
                     if data.skipped else ""))
    if data.skipped and console.log_file is not None:
        print("\n".join(["skipped:", *(f"  {line}" for line in data.skipped)]), file=console.log_file, flush=True)
    note = _schedule_note(plan, len(loader))
    if note:
        console.write(note)
    if state is not None:
        console.write(f"resuming from {resume}: {position(state, len(loader))}")


def _schedule_note(plan: Plan, batches_per_epoch: int) -> str | None:
    """A warm-up at least as long as the run never reaches the configured learning rate."""
    scheduler, epochs = plan.model.scheduler, plan.config["train"]["epochs"]
    if scheduler is None or not scheduler.warmup:
        return None
    unit = "steps" if scheduler.interval == "step" else "epochs"
    total = epochs * batches_per_epoch if unit == "steps" else epochs
    if scheduler.warmup < total:
        return None
    return (f"note: scheduler.warmup is {scheduler.warmup} {unit} but the run has {total}: the learning "
            f"rate never reaches optimizer.lr ({plan.model.optimizer.initial_lr:g}); lower the warm-up")


def _report(console, trainer: Trainer, cfg: dict, command: str | None) -> None:
    """The end of a run: why it stopped, how to resume, where the time went, the best value."""
    st, ck_dir = trainer.state, Path(cfg["checkpoint"]["dir"])
    if st.stop_reason:
        console.write(f"stopped: {st.stop_reason}")
    if st.stop and st.epoch < trainer.epochs and cfg["checkpoint"]["save_last"] and \
            not st.stop_reason.startswith("early stopping"):
        last = ck_dir / "last.json"
        console.write(f"saved {last} ({position(st, trainer.batches_per_epoch)}); resume with:\n"
                      f"  {command or 'nnpy train --config <config>'} --resume {last}")
    console.write_fields(trainer.timer.phase_fields())
    for line in trainer.timer.report().split("\n")[1:]:      # per layer, with --profile
        console.write(line)
    if st.best_value is not None:
        console.write(f"best {cfg['checkpoint']['monitor']} {st.best_value:.4f} at epoch {st.best_epoch} "
                      f"→ {ck_dir / 'best.json'}")


def train_kfold(plan: Plan, stdout=None, **kwargs) -> RunResult:
    """K-fold cross-validation (``train.kfold: K``): K runs from the same initial weights, each
    validated on one fold of the training set; prints and returns the mean (and spread) of the
    final validation metric."""
    stdout = stdout or sys.stdout
    cfg, k = plan.config, plan.config["train"]["kfold"]
    values, result = [], None
    for i in range(k):
        fold_cfg = {**cfg, "checkpoint": {**cfg["checkpoint"], "dir": str(Path(cfg["checkpoint"]["dir"]) / f"fold{i + 1}")}}
        fold_plan = Plan(fold_cfg, plan.data, plan.model) if i == 0 else make_plan(fold_cfg, plan.data)
        print(f"--- fold {i + 1}/{k} ---", file=stdout, flush=True)
        result = train(fold_plan, stdout=stdout, fold=(i, k), **kwargs)
        if result.state.exit_code:
            return result
        monitor = f"val_{result.trainer.metric.name}"
        values.append(result.state.history[-1][monitor])
    mean, std = float(np.mean(values)), float(np.std(values))
    print(f"{k}-fold cross-validation: {monitor} per fold " + ", ".join(f"{v:.4f}" for v in values)
          + f"; mean {mean:.4f} ± {std:.4f}", file=stdout, flush=True)
    result.kfold = {"values": values, "mean": mean, "std": std}
    return result
