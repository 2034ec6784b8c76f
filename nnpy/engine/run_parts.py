"""The parts of a training run that one process and data-parallel processes share: the
callbacks, the announcement at the start, the report at the end, ``--profile``.

``engine/run.py: train`` puts them together for one process, ``engine/parallel/run.py`` for
one process of several.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..io.checkpoint import save_checkpoint
from ..nn.losses import activation_clash
from ..version import __version__
from .callbacks import Checkpointer, CSVLogger, EarlyStopping, MaxTime, StopOnSignal
from .checkpoint_content import training_payload
from .data_prep import PreparedData
from .plan import Plan
from .resume import position
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


def run_callbacks(plan: Plan, data: PreparedData, run_dir: Path, console) -> list:
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
def profiled(timer: Timer, model, profile: bool):
    """``--profile``: time every layer's forward and backward for the length of the run."""
    if profile:
        timer.profile_layers(model)
    try:
        yield
    finally:
        timer.unwrap()


def announce(console, plan: Plan, data: PreparedData, run_dir: Path, resume, state) -> None:
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
    clash = activation_clash(plan.model, plan.model.loss)
    if clash:
        console.write(f"warning: {clash}")
    note = schedule_note(plan, len(loader))
    if note:
        console.write(note)
    if state is not None:
        console.write(f"resuming from {resume}: {position(state, len(loader))}")


def schedule_note(plan: Plan, batches_per_epoch: int) -> str | None:
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


def report(console, trainer: Trainer, cfg: dict, command: str | None) -> None:
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
