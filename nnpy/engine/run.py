"""``nnpy train``: one training run from a plan -- data, the loop, logs, checkpoints, resume.

    plan = load_plan("configs/mlp.yaml")
    result = train(plan)                   # RunResult: state, run_dir, checkpoint_dir, …

A run writes ``runs/<name>/<timestamp>/`` (train.log, metrics.csv, config.yaml) and
``checkpoints/<name>/last.json`` / ``best.json``; a resumed run continues its run folder.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .callbacks import ConsoleLogger
from .checkpoint_content import stats_of
from .data_prep import prepare_data
from .parallel import communicator, launched
from .plan import Plan, make_plan
from .resume import read_for_resume, restore
from .rundir import open_run_dir
from .run_parts import RunResult, announce, profiled, report, run_callbacks
from .timer import Timer
from .trainer import Trainer


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
    model.normalization = data.stats        # the trained model takes raw inputs, as a loaded copy does
    timer = Timer()
    trainer = Trainer(model, model.loss, model.optimizer, model.scheduler, metrics=model.metrics, timer=timer,
                      eval_batch_size=cfg["data"]["eval_batch_size"])
    state = restore(trainer, payload, resume) if payload else None
    run_dir = open_run_dir(cfg, (payload or {}).get("run_dir"), state)
    with open(run_dir / "train.log", "a") as log_file, profiled(timer, model, profile):
        console = ConsoleLogger(stream=stdout, progress=progress, log_file=log_file)
        trainer.callbacks = [*run_callbacks(plan, data, run_dir, console), *callbacks]
        announce(console, plan, data, run_dir, resume, state)
        trainer.fit(data.train_loader, data.val, epochs=cfg["train"]["epochs"], state=state)
        report(console, trainer, cfg, command)
    return RunResult(trainer.state, run_dir, Path(cfg["checkpoint"]["dir"]), trainer, data)


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
