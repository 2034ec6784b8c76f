"""``nnpy train`` on one process of several (``mpiexec -n N``): the steps of
``engine/run.py: train``, shared out between the processes.

- ``--resume``: process 0 reads and checks the checkpoint and sends it to the others, so it
  needs to be on the first machine only;
- every process loads the data (the same path on every machine) and trains on its part of
  each global batch (``ShardedLoader``); process 0's parameters and optimizer state are
  broadcast to all before the first step;
- only process 0 prints, writes ``runs/`` and checkpoints; a failed write stops every process;
- an error every process meets stops them together, reported once by process 0; an error
  only one process meets ends them all (``Communicator.abort_on``): nobody waits forever.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ...io.checkpoint import dumps_checkpoint, loads_checkpoint
from ..callbacks import Checkpointer, ConsoleLogger, CSVLogger
from ..checkpoint_content import stats_of
from ..data_prep import prepare_data
from ..plan import Plan
from ..resume import read_for_resume, restore
from ..rundir import open_run_dir
from ..run_parts import RunResult, announce, profiled, report, run_callbacks
from ..timer import Timer
from .comm import Communicator
from .sharding import ShardedLoader
from .trainer import DataParallelTrainer


def train_data_parallel(plan: Plan, comm: Communicator, resume=None, allow_change=(), profile: bool = False,
                        stdout=None, progress: bool | None = None, command: str | None = None, callbacks=(),
                        fold: tuple | None = None) -> RunResult:
    """``engine.run.train`` (same arguments) on process ``comm.rank`` of ``comm.size``."""
    try:
        return _train(plan, comm, resume, allow_change, profile, stdout, progress, command, callbacks, fold)
    except BaseException as exc:
        if getattr(exc, "agreed", False):     # every process raises it: they stop together
            raise
        comm.abort_on(exc)


def _train(plan, comm, resume, allow_change, profile, stdout, progress, command, callbacks, fold) -> RunResult:
    cfg, root = plan.config, comm.rank == 0
    payload = read_shared_checkpoint(comm, resume, cfg, allow_change) if resume else None
    data = comm.everywhere(prepare_data, cfg, stats=stats_of(payload) if payload else None, fold=fold)
    loader = comm.everywhere(ShardedLoader, data.train_loader, comm.rank, comm.size)
    model, timer = plan.model, Timer()
    model.normalization = data.stats        # the trained model takes raw inputs, as a loaded copy does
    trainer = DataParallelTrainer(model, model.loss, model.optimizer, model.scheduler, metrics=model.metrics,
                                  timer=timer, eval_batch_size=cfg["data"]["eval_batch_size"], comm=comm)
    state = restore(trainer, payload, resume) if payload else None
    trainer.broadcast_state()
    previous = (payload or {}).get("run_dir")
    run_dir = Path(comm.bcast_text(comm.on_process_0(lambda: str(open_run_dir(cfg, previous, state)))))
    stream = (stdout or sys.stdout) if root else open(os.devnull, "w")
    log_file = open(run_dir / "train.log", "a") if root else None
    try:
        with profiled(timer, model, profile):
            console = ConsoleLogger(stream=stream, progress=progress if root else False, log_file=log_file)
            trainer.callbacks = [*shared_callbacks(plan, data, run_dir, console, comm), *callbacks]
            if root:
                announce(console, plan, data, run_dir, resume, state)
                console.write(describe_processes(comm, plan, loader))
            trainer.fit(loader, data.val, epochs=cfg["train"]["epochs"], state=state)
            if root:
                report(console, trainer, cfg, command)
    finally:
        for f in (log_file, None if root else stream):
            if f is not None:
                f.close()
    comm.barrier()          # nobody exits before process 0 has written and printed everything
    return RunResult(trainer.state, run_dir, Path(cfg["checkpoint"]["dir"]), trainer, data)


def read_shared_checkpoint(comm: Communicator, path, cfg: dict, allow_change) -> dict:
    """Process 0 reads and checks the checkpoint at ``path`` (``read_for_resume``) and sends
    its text to the other processes."""
    payload = comm.on_process_0(read_for_resume, path, cfg, allow_change)
    text = comm.bcast_text(dumps_checkpoint(payload) if comm.rank == 0 else None)
    return payload if comm.rank == 0 else loads_checkpoint(text, str(path))


def shared_callbacks(plan: Plan, data, run_dir: Path, console, comm: Communicator) -> list:
    """The callbacks of a one-process run; checkpoints are written by process 0 (its failure
    stops every process), and only process 0 prints and writes metrics.csv."""
    callbacks = run_callbacks(plan, data, run_dir, console)
    for cb in callbacks:
        if isinstance(cb, Checkpointer):
            cb.save = _saved_by_process_0(comm, cb.save)
    if comm.rank != 0:
        callbacks = [cb for cb in callbacks if not isinstance(cb, (ConsoleLogger, CSVLogger))]
    return callbacks


def _saved_by_process_0(comm: Communicator, save):
    def save_on_process_0(path, trainer):
        comm.on_process_0(save, path, trainer)
    return save_on_process_0


def describe_processes(comm: Communicator, plan: Plan, loader: ShardedLoader) -> str:
    """``data-parallel: 2 processes on 1 machine · batch 128 = 64 per process · 1 BLAS thread
    each`` and, for a model with BatchNorm, how it normalizes."""
    batch = loader.loader.batch_size
    share = f"{batch // comm.size}" if batch % comm.size == 0 else f"{batch // comm.size}–{-(-batch // comm.size)}"
    threads = getattr(comm, "blas_threads", None)
    machines = comm.machines
    line = (f"data-parallel: {comm.size} processes on {machines} machine{'s' * (machines > 1)} · batch {batch} = "
            f"{share} per process · " + (f"{threads} BLAS thread{'s' * (threads > 1)} each" if threads else
                                         "BLAS threads as OMP_NUM_THREADS (or OPENBLAS/MKL) says"))
    if any(layer.type_name == "BatchNorm" for layer in plan.model.walk()):
        line += ("\nnote: BatchNorm normalizes with each process's own part of the batch (as PyTorch DDP does), so "
                 "the run differs slightly from one process; evaluation uses process 0's running statistics")
    return line
