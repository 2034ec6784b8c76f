"""Continuing a run from its checkpoint: what may differ from the checkpoint's config, and
putting model, optimizer, scheduler, random generator and loop state back exactly."""
from __future__ import annotations

from ..errors import CheckpointError, ConfigError
from ..io.checkpoint import load_checkpoint
from .trainer import Trainer, TrainState


def read_for_resume(path, config: dict, allow_change=()) -> dict:
    """The checkpoint at ``path``, once its config agrees with the run's ``config`` (compared
    whole, key by key) except the keys in ``allow_change`` (a key allows everything below it).
    It takes the whole config because a change in any section is refused; it reads no key."""
    payload = load_checkpoint(path)
    old = payload.get("config")
    if not isinstance(old, dict):
        raise CheckpointError(f"{path}: no config inside")
    old = {k: v for k, v in old.items() if k != "model_io"}      # written by nnpy 0.1.0
    refused = [k for k in config_differences(old, config)
               if not any(k == a or k.startswith(a + ".") for a in allow_change)]
    if refused:
        raise ConfigError(f"--resume {path}: the config differs from the checkpoint's in "
                          f"{', '.join(refused)}; pass --allow-change KEY for each change you intend")
    return payload


def config_differences(old: dict, new: dict) -> list[str]:
    """The dotted keys whose values differ (``optimizer.lr``, ``train.epochs``). A key that is
    absent on one side and null on the other (a key nnpy added since, at its default) is no
    difference."""
    a, b = _flatten(old), _flatten(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def restore(trainer: Trainer, payload: dict, path) -> TrainState:
    """Load model, optimizer, scheduler, RNG and loop state for an exact resume."""
    try:
        trainer.model.load_state_dict(payload["model"])
        trainer.optimizer.load_state_dict(payload["optimizer"])
        if trainer.scheduler is not None and payload.get("scheduler"):
            trainer.scheduler.load_state_dict(payload["scheduler"])
        trainer.model.rng.bit_generator.state = payload["rng"]
        state = TrainState.from_dict(payload["state"])
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot resume from this checkpoint: {exc}") from None
    restore_partial(state, trainer, path)
    return state


def restore_partial(state: TrainState, trainer: Trainer, path) -> None:
    """The sums of an epoch stopped inside: ``{"metric": sum}`` of checkpoints written before
    several metrics became ``{"metrics": {main metric: sum}}``; to go on summing, the run must
    report the metrics it reported before the stop."""
    partial = state.partial
    if "metric" in partial:
        partial["metrics"] = {trainer.metric.name: partial.pop("metric")} if partial["n"] else {}
    names = [m.name for m in trainer.metrics]
    if partial["n"] and sorted(partial["metrics"]) != sorted(names):
        raise CheckpointError(f"{path}: stopped inside epoch {state.epoch + 1} while reporting "
                              f"{', '.join(partial['metrics'])}; this run reports {', '.join(names)}: resume "
                              f"with the same metrics, or from a checkpoint written at the end of an epoch")


def position(state: TrainState, batches_per_epoch: int) -> str:
    """Where a run stands, numbered the same when it stops and when it resumes:
    ``epoch 3, batch 61/430`` (inside epoch 3) or ``after epoch 2``."""
    if state.batch == 0:
        return f"after epoch {state.epoch}" if state.epoch else "at the start"
    return f"epoch {state.epoch + 1}, batch {state.batch}/{batches_per_epoch}"
