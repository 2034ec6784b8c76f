"""``nnpy train`` (through the CLI) with the faults a test asks for; run it with or without mpiexec.

    mpiexec -n 2 python tests/parallel/run_train.py [options] -- --config FILE --set …

--stop-at STEP     process --stop-rank asks to stop after global step STEP (as a signal would)
--slow-after STEP  from global step STEP on every process sleeps 50 ms per step, and process 0
                   writes ``reached`` in the working folder: a signal sent then lands mid-epoch
--nan-at STEP      the loss of process --nan-rank is NaN at global step STEP
--fail-saves       process 0's checkpoint writes fail (os.replace: no space left on device)
--pid-dir DIR      each process writes DIR/<rank>.pid (its process id) and DIR/<rank>.threads
                   (its BLAS threads) after the first step
"""
import argparse
import math
import os
import time
from pathlib import Path

from nnpy.engine.callbacks import StopOnSignal
from nnpy.engine.parallel import launched
from nnpy.engine.parallel.trainer import DataParallelTrainer
from nnpy.engine.trainer import Trainer

parser = argparse.ArgumentParser()
parser.add_argument("--stop-at", type=int, default=None)
parser.add_argument("--stop-rank", type=int, default=0)
parser.add_argument("--slow-after", type=int, default=None)
parser.add_argument("--nan-at", type=int, default=None)
parser.add_argument("--nan-rank", type=int, default=0)
parser.add_argument("--fail-saves", action="store_true")
parser.add_argument("--pid-dir", default=None)
args, rest = parser.parse_known_args()
rank = launched().rank


def train_step(self, xb, yb, original):
    if args.nan_at == self.state.global_step and rank == args.nan_rank:
        self.loss.forward, forward = (lambda pred, target: math.nan), self.loss.forward
        try:
            return original(self, xb, yb)
        finally:
            self.loss.forward = forward
    return original(self, xb, yb)


def after_step(self, trainer):
    """After every step, on every process (``StopOnSignal`` is the first callback of a run)."""
    step = trainer.state.global_step
    if args.pid_dir and step == 1 and trainer.state.batch:
        from threadpoolctl import threadpool_info

        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        Path(args.pid_dir, f"{rank}.threads").write_text(str(blas[0] if blas else ""))
        Path(args.pid_dir, f"{rank}.pid").write_text(str(os.getpid()))
    if args.stop_at == step and rank == args.stop_rank and trainer.state.batch:
        trainer.request_stop("stop asked by the test", 130)
    if args.slow_after is not None and step >= args.slow_after:
        if rank == 0 and step == args.slow_after:
            Path("reached").write_text(str(step))
        time.sleep(0.05)


for cls in (Trainer, DataParallelTrainer):      # the one-process loop and the data-parallel one
    cls.train_step = lambda self, xb, yb, _original=cls.train_step: train_step(self, xb, yb, _original)
StopOnSignal.on_batch_end = after_step
if args.fail_saves and rank == 0:
    def disk_full(src, dst):
        raise OSError(28, "No space left on device")
    os.replace = disk_full

from nnpy.cli import main  # noqa: E402

main(["train", *[a for a in rest if a != "--"]], prog_name="nnpy")
