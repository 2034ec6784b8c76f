"""``nnpy train`` on one process of several (``mpiexec -n N``): ``DataParallelRun``, the
``Run`` of ``engine/run.py`` with the steps that differ overridden.

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
from contextlib import contextmanager
from pathlib import Path

from ...io.checkpoint import dumps_checkpoint, loads_checkpoint
from ..callbacks import ConsoleLogger, CSVLogger
from ..data_prep import PreparedData
from ..plan import Plan
from ..run import Run, RunResult
from ..trainer import TrainState
from .comm import Communicator
from .sharding import ShardedLoader
from .trainer import DataParallelTrainer


class DataParallelRun(Run):
    """``Run`` on process ``comm.rank`` of ``comm.size`` (same options); the steps that differ
    are overridden, the others are the one-process run's."""

    def __init__(self, plan: Plan, comm: Communicator, **options):
        super().__init__(plan, **options)
        self.comm, self.root = comm, comm.rank == 0
        self.sharded: ShardedLoader | None = None

    def _train(self) -> RunResult:
        try:
            result = super()._train()
            self.comm.barrier()      # nobody exits before process 0 has written and printed everything
            return result
        except BaseException as exc:
            if getattr(exc, "agreed", False):     # every process raises it: they stop together
                raise
            self.comm.abort_on(exc)

    def read_checkpoint(self) -> dict:
        """Process 0 reads and checks the checkpoint and sends its text to the other processes."""
        payload = self.comm.on_process_0(super().read_checkpoint)
        text = self.comm.bcast_text(dumps_checkpoint(payload) if self.root else None)
        return payload if self.root else loads_checkpoint(text, str(self.resume))

    def prepare_data(self, stats: dict | None) -> PreparedData:
        """Every process loads the data (the same path on every machine) and keeps its part of
        each global batch."""
        data = self.comm.everywhere(super().prepare_data, stats)
        self.sharded = self.comm.everywhere(ShardedLoader, data.train_loader, self.comm.rank, self.comm.size)
        return data

    @property
    def train_loader(self) -> ShardedLoader:
        return self.sharded

    def make_trainer(self) -> DataParallelTrainer:
        return DataParallelTrainer.for_model(self.model, timer=self.timer, comm=self.comm,
                                             eval_batch_size=self.data_section["eval_batch_size"])

    def restore(self, payload: dict | None) -> TrainState | None:
        """Process 0's parameters and optimizer state (restored or built) on every process."""
        state = super().restore(payload)
        self.trainer.broadcast_state()
        return state

    def open_run_dir(self, previous: str | None, state: TrainState | None) -> Path:
        """Process 0 makes the folder; every process knows its path."""
        make = super().open_run_dir
        return Path(self.comm.bcast_text(self.comm.on_process_0(lambda: str(make(previous, state)))))

    @contextmanager
    def console(self):
        """Process 0 prints and writes train.log; the others write nowhere."""
        if self.root:
            with super().console() as console:
                yield console
            return
        with open(os.devnull, "w") as nowhere:
            yield ConsoleLogger(stream=nowhere, progress=False)

    def callbacks(self, console: ConsoleLogger) -> list:
        """The one-process run's; only process 0 prints and writes metrics.csv."""
        callbacks = super().callbacks(console)
        return callbacks if self.root else [cb for cb in callbacks if not isinstance(cb, (ConsoleLogger, CSVLogger))]

    def save_checkpoint(self, path: Path, trainer) -> None:
        """Process 0 writes the checkpoint; its failure stops every process."""
        self.comm.on_process_0(super().save_checkpoint, path, trainer)

    def announce(self, console: ConsoleLogger, state: TrainState | None) -> None:
        if self.root:
            super().announce(console, state)
            console.write(describe_processes(self.comm, self.plan, self.sharded))

    def report(self, console: ConsoleLogger) -> None:
        if self.root:
            super().report(console)


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
